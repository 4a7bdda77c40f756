"""SIGKILL the whole desktop app (window + engine host) mid-reply at random moments.

Each trial starts the real app (``tests/faults/gui_driver.py``: ``run_app``'s window over the
real store, the engine host child, the tiny model) under one shared ``HEARTH_HOME``, sends a
message, lets a random number of on-screen updates arrive, then SIGKILLs the app's whole process
group. The store is then reopened: every earlier chat is still there, the partial reply is a
prefix of the reply, at most ~250 ms of the text shown on screen is missing, and
``PRAGMA integrity_check`` is ``ok``. The next trial starts the app again on the same folder and
reports what its window shows: every chat listed, the killed reply marked interrupted.
(The CLI's equivalent is tests/store/test_crash.py.)
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from app.store import Store
from tests.faults.gui_driver import WORDS
from tests.helpers.crash import check_recent_text_saved, children, wait_gone

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX signals")

ROOT = Path(__file__).resolve().parents[2]
TRIALS = 20
REPLY = "".join(w.replace("Ġ", " ") for w in WORDS) * 15000
THINKING = "".join(w.replace("Ġ", " ") for w in WORDS) * 5000


def _app(model: Path, prompt: str, thinking: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-m", "tests.faults.gui_driver", str(model), prompt, str(thinking)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _trial(model: Path, rng: random.Random, trial: int) -> dict[str, Any]:
    prompt = f"Trial {trial}: tell me a very long story."
    # Some replies think first (the analysis channel is saved apart): the kill may land there.
    thinking = rng.choice([0, 0, 600, 6000])
    proc = _app(model, prompt, thinking)
    assert proc.stdout is not None
    timeline: list[tuple[float, int, int]] = []
    start: dict[str, Any] = {}
    extra = rng.randint(0, 30)  # on-screen updates (~25 ms apart) before the kill
    hosts: list[int] = []
    try:
        for raw in proc.stdout:
            ev = json.loads(raw)
            if "start" in ev:
                start = ev
                continue
            assert "error" not in ev, f"trial {trial}: {ev['error']}"
            timeline.append((ev["t"], ev["c"], ev["r"]))
            if len(timeline) == 1:
                hosts = children(proc.pid)
            if len(timeline) > extra:
                break
        t_kill = time.monotonic()
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.stdout.read()
        proc.wait()
    assert timeline, f"trial {trial}: the app never showed the reply streaming"
    assert hosts, f"trial {trial}: no engine host beside the window"
    for host in hosts:
        assert wait_gone(host), f"trial {trial}: engine host {host} outlived the app"

    with Store.open() as store:
        assert store.execute_raw("PRAGMA integrity_check")[0][0] == "ok", f"trial {trial}"
        convs = store.list_conversations()
        assert len(convs) == trial + 1, f"trial {trial}: a conversation was lost"
        conv = next(c for c in convs if c.title.startswith(f"Trial {trial}:"))
        path = store.active_path(conv.id)
        assert [m.role for m in path] == ["user", "assistant"], f"trial {trial}"
        assert path[0].content == prompt
        reply = path[1]
        assert reply.status == "interrupted", f"trial {trial}: {reply.status}"
        assert REPLY.startswith(reply.content), f"trial {trial}: saved text is not the reply's"
        assert THINKING.startswith(reply.reasoning), f"trial {trial}: saved thinking differs"
        assert len(reply.reasoning) <= thinking * 6
        lag = check_recent_text_saved(reply, timeline, t_kill, trial, shown="shown")
    return {
        "start": start,
        "lag_s": lag,
        "in_thinking": bool(thinking) and not reply.content,
        "saved": len(reply.content) + len(reply.reasoning),
    }


def test_sigkill_of_the_gui_mid_reply_keeps_every_chat(long_model: Path) -> None:
    seed = int(os.environ.get("HEARTH_CRASH_SEED", time.time_ns() % 100_000))
    rng = random.Random(seed)
    results = []
    for trial in range(TRIALS):
        results.append(_trial(long_model, rng, trial))
        # The app started normally over the previous trial's killed reply: window up, every chat
        # listed, the killed reply marked interrupted (recovered when the store opened).
        start = results[-1]["start"]
        assert start["visible"] and not start["readonly"], f"trial {trial}: {start}"
        assert start["rows"] == trial, f"trial {trial}: {start}"
        if trial:
            assert start["last_status"] == "interrupted", f"trial {trial}: {start}"
            assert start["last_label"].startswith("Interrupted"), f"trial {trial}: {start}"

    # After the last kill the app starts normally too.
    out = subprocess.run(
        [sys.executable, "-m", "tests.faults.gui_driver", str(long_model), "--check"],
        cwd=ROOT,
        env=dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT)),
        capture_output=True,
        timeout=60,
        check=True,
    )
    final = json.loads(out.stdout.decode().splitlines()[0])
    assert final["visible"] and final["rows"] == TRIALS
    assert final["last_status"] == "interrupted"
    with Store.open() as store:
        convs = store.list_conversations()
        assert len(convs) == TRIALS and all(c.message_count == 2 for c in convs)
        assert store.execute_raw("PRAGMA integrity_check")[0][0] == "ok"
    worst = max(r["lag_s"] for r in results)
    thinking = sum(r["in_thinking"] for r in results)
    print(
        f"\nGUI SIGKILL trials: {TRIALS} ({thinking} while thinking), failures: 0, seed {seed}, "
        f"worst unsaved on-screen tail {worst * 1000:.0f} ms"
    )
