"""SIGKILL the whole desktop app (the window's process and its engine host) mid-reply.

Each trial starts the real app (``tests/faults/gui_driver.py``: ``run_app``'s window over the
real store, the engine host child, the tiny model) under one shared ``HEARTH_HOME``, sends a
message whose reply is scripted (REPLY_TOKENS in all, some of them thinking first), and kills at
a seeded random point of that reply, one trial in each twentieth of it, so the kills cover it
from the first token to the end: the app's process group is SIGKILLed, then its engine host (in
its own session, so the group kill leaves it). The store is then reopened: every earlier chat is
still there, the reply is a prefix of the scripted one, at most the last LOSS_BOUND seconds of
the text shown on screen is missing, ``PRAGMA integrity_check`` is ``ok``, and no engine host of
this data folder is left. The next trial starts the app again on the same folder and reports what
its window shows: every chat listed, the killed reply marked interrupted with its saved text.
(The CLI's equivalent is tests/store/test_crash.py.)
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app.store import Store
from tests.faults.gui_driver import WORDS
from tests.helpers.crash import (
    LOSS_BOUND,
    check_recent_text_saved,
    engine_hosts,
    hosts_for_home,
    kill_whole_app,
    spread,
    trial_rng,
    wait_gone,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX signals")

ROOT = Path(__file__).resolve().parents[2]
TRIALS = 20
REPLY_TOKENS = 2000  # thinking + answer: about a second of reply on a quiet machine
PAIR = "".join(w.replace("Ġ", " ") for w in WORDS)  # two tokens of text


def _app(model: Path, stderr: Path, *args: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    with stderr.open("ab") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.faults.gui_driver", str(model), *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=err,
            start_new_session=True,
        )


def _tail(path: Path) -> str:
    """The end of the app's stderr, for a trial that failed before the kill."""
    return path.read_text(errors="replace")[-2000:]


def _trial(model: Path, home: str, frac: float, thinking: int, trial: int) -> dict[str, Any]:
    prompt = f"Trial {trial}: tell me a very long story."
    answer = REPLY_TOKENS - thinking
    reply_text, thinking_text = PAIR * (answer // 2), PAIR * (thinking // 2)
    total = len(reply_text) + len(thinking_text)
    target = max(1, math.ceil(frac * total))  # characters on screen when the kill is sent
    stderr = Path(home) / f"app-{trial}.stderr.log"
    proc = _app(model, stderr, prompt, str(thinking), str(answer))
    assert proc.stdout is not None
    timeline: list[tuple[float, int, int]] = []
    start: dict[str, Any] = {}
    hosts: list[int] = []
    try:
        for raw in proc.stdout:
            ev = json.loads(raw)
            if "start" in ev:
                start = ev
                continue
            assert "error" not in ev, f"trial {trial}: {ev['error']}\n{_tail(stderr)}"
            timeline.append((ev["t"], ev["c"], ev["r"]))
            if not hosts:
                hosts = engine_hosts(proc.pid)
                # The search for leftover hosts after the kill finds this one while it runs.
                assert hosts_for_home(home) == hosts, f"trial {trial}: {hosts}"
            if ev["c"] + ev["r"] >= target:
                break
        t_kill, killed = kill_whole_app(proc.pid, hosts)
    finally:
        if proc.poll() is None:
            kill_whole_app(proc.pid, hosts)
        proc.stdout.read()
        proc.wait()
    assert timeline, f"trial {trial}: the app never showed the reply streaming\n{_tail(stderr)}"
    assert hosts, f"trial {trial}: no engine host beside the window"
    assert killed == len(hosts), f"trial {trial}: the kill did not reach the engine host"
    for host in hosts:
        assert wait_gone(host), f"trial {trial}: engine host {host} survived SIGKILL"
    assert hosts_for_home(home) == [], f"trial {trial}: an engine host outlived the app"

    with Store.open() as store:
        assert store.execute_raw("PRAGMA integrity_check")[0][0] == "ok", f"trial {trial}"
        convs = store.list_conversations()
        assert len(convs) == trial + 1, f"trial {trial}: a conversation was lost"
        conv = next(c for c in convs if c.title.startswith(f"Trial {trial}:"))
        path = store.active_path(conv.id)
        assert [m.role for m in path] == ["user", "assistant"], f"trial {trial}"
        assert path[0].content == prompt
        reply = path[1]
        assert reply_text.startswith(reply.content), f"trial {trial}: saved text is not the reply's"
        assert thinking_text.startswith(reply.reasoning), f"trial {trial}: saved thinking differs"
        if reply.status == "done":  # the kill landed after the reply was complete
            assert (reply.content, reply.reasoning) == (reply_text, thinking_text), trial
        else:
            assert reply.status == "interrupted", f"trial {trial}: {reply.status}"
        lag, bounded = check_recent_text_saved(reply, timeline, t_kill, trial, shown="shown")
    return {
        "start": start,
        "status": reply.status,
        "saved": {"c": len(reply.content), "r": len(reply.reasoning)},
        "lag": lag,
        "bounded": bounded,
        "at": target / total,
        "in_thinking": bool(thinking) and not reply.content,
        "streamed": t_kill - timeline[0][0],
    }


def _check_start(start: dict[str, Any], before: dict[str, Any] | None, trials: int) -> None:
    """The app started normally over the previous trial's killed reply: window up, every chat
    listed, the killed reply marked interrupted (recovered when the store opened) and showing the
    text that was saved."""
    assert start["visible"] and not start["readonly"], start
    assert start["rows"] == trials, start
    if before is not None:
        assert start["last_status"] == before["status"], (start, before)
        if before["status"] == "interrupted":
            assert start["last_label"].startswith("Interrupted"), start
        assert start["last_shown"] == before["saved"], (start, before)


def test_sigkill_of_the_gui_mid_reply_keeps_every_chat(long_model: Path, hearth_home: Path) -> None:
    seed, rng = trial_rng("GUI SIGKILL trials (window + engine host)", TRIALS)
    home = str(hearth_home)
    results: list[dict[str, Any]] = []
    for trial, frac in enumerate(spread(rng, TRIALS)):
        # Some replies think first (the analysis channel is saved apart): the kill may land there.
        thinking = rng.choice([0, 0, 400, 1000])
        results.append(_trial(long_model, home, frac, thinking, trial))
        _check_start(results[-1]["start"], results[-2] if trial else None, trial)

    # After the last kill the app starts normally too.
    out = subprocess.run(
        [sys.executable, "-m", "tests.faults.gui_driver", str(long_model), "--check"],
        cwd=ROOT,
        env=dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT)),
        capture_output=True,
        timeout=60,
        check=True,
    )
    _check_start(json.loads(out.stdout.decode().splitlines()[0]), results[-1], TRIALS)
    assert hosts_for_home(home) == []
    with Store.open() as store:
        convs = store.list_conversations()
        assert len(convs) == TRIALS and all(c.message_count == 2 for c in convs)
        assert store.execute_raw("PRAGMA integrity_check")[0][0] == "ok"
    at = sorted(r["at"] for r in results)
    print(
        f"GUI SIGKILL trials: {TRIALS}, failures: 0, seed {seed}; kills at {at[0]:.0%}-{at[-1]:.0%}"
        f" of the reply ({max(r['streamed'] for r in results):.1f} s at most), "
        f"{sum(r['in_thinking'] for r in results)} while thinking, "
        f"{sum(r['status'] == 'done' for r in results)} after its end; the {LOSS_BOUND:.2f} s "
        f"bound applied in {sum(r['bounded'] for r in results)}; worst unsaved on-screen tail "
        f"{max(r['lag'] for r in results) * 1000:.0f} ms"
    )
