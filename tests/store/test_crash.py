"""SIGKILL the whole ``hearth chat`` (the CLI and its engine host) mid-reply; the chat survives.

The reply is the tiny model's greedy output for one fixed prompt, cut at MAX_TOKENS: the same text
every run, measured once with ``--no-save``. Each trial kills at a seeded random point of that
reply, one trial in each twentieth of it, so the kills cover it from the first token to the end.
The CLI's process group is SIGKILLed, then its engine host (in its own session, so the group kill
leaves it). Reopening the store must show the conversation with the partial reply marked
``interrupted`` (or, when the kill landed after the last token, the whole reply ``done``), its
text a prefix of what was printed, missing at most the last LOSS_BOUND seconds of it, and a
database that passes ``integrity_check``; no engine host of this data folder may be left.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from app.store import Store
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

TRIALS = 20
MAX_TOKENS = 2000  # about a second of reply on a quiet 2-core machine
PROMPT = "Tell me a very long story."


def _chat(model: Path, *extra: str) -> subprocess.Popen[bytes]:
    # One engine thread: llama.cpp's spinning threads collapse when the CLI and other jobs share
    # the cores (the same reply took 30x longer with two).
    args = ["--temperature", "0", "--threads", "1", "--max-tokens", str(MAX_TOKENS), "--jsonl"]
    return subprocess.Popen(
        [sys.executable, "-m", "app", "chat", "--model", str(model), *args, *extra, PROMPT],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


class Printed:
    """What the CLI printed: the reply's text so far and when each piece arrived."""

    def __init__(self) -> None:
        self.content = self.reasoning = ""
        self.timeline: list[tuple[float, int, int]] = []  # (received at, content, reasoning)
        self.done: dict[str, Any] | None = None

    def add(self, raw: bytes) -> None:
        ev = json.loads(raw)
        if ev["type"] == "error":
            raise AssertionError(f"the CLI reported an error: {ev}")
        if ev["type"] == "done":
            self.done = ev
        elif ev["type"] in ("content", "preamble"):
            self.content += ev["text"]
        elif ev["type"] == "reasoning":
            self.reasoning += ev["text"]
        else:
            return
        self.timeline.append((time.monotonic(), len(self.content), len(self.reasoning)))

    @property
    def chars(self) -> int:
        return len(self.content) + len(self.reasoning)


def _reference(model: Path) -> Printed:
    """The whole reply, once, without saving: what every trial's reply is a part of."""
    proc = _chat(model, "--no-save")
    out, _ = proc.communicate(timeout=120)
    ref = Printed()
    for raw in out.splitlines():
        ref.add(raw)
    assert ref.done is not None and ref.done["stats"]["generated_tokens"] == MAX_TOKENS, ref.done
    return ref


def _trial(model: Path, home: str, ref: Printed, frac: float, trial: int) -> dict[str, Any]:
    target = max(1, math.ceil(frac * ref.chars))  # characters printed when the kill is sent
    proc = _chat(model)
    assert proc.stdout is not None
    printed = Printed()
    hosts: list[int] = []
    try:
        for raw in proc.stdout:
            printed.add(raw)
            if not hosts:
                hosts = engine_hosts(proc.pid)
                # The search for leftover hosts after the kill finds this one while it runs.
                assert hosts_for_home(home) == hosts, f"trial {trial}: {hosts}"
            if printed.chars >= target or printed.done is not None:
                break
        t_kill, killed = kill_whole_app(proc.pid, hosts)
    finally:
        if proc.poll() is None:
            kill_whole_app(proc.pid, hosts)
        rest = proc.stdout.read()
        proc.wait()
    assert hosts, f"trial {trial}: no engine host beside the CLI"
    # What reached the pipe before the kill was printed too: the saved text may include it.
    for raw in rest.splitlines(keepends=True):
        if not raw.endswith(b"\n"):
            break  # a line cut by the kill
        printed.add(raw)
    # A CLI that had finished may have closed its host itself; otherwise the kill found it.
    assert killed == len(hosts) or printed.done, (
        f"trial {trial}: the kill did not reach the engine host"
    )
    for host in hosts:
        assert wait_gone(host), f"trial {trial}: engine host {host} survived SIGKILL"
    assert hosts_for_home(home) == [], f"trial {trial}: an engine host outlived the CLI"

    with Store.open() as store:
        assert store.execute_raw("PRAGMA integrity_check")[0][0] == "ok", f"trial {trial}"
        convs = store.list_conversations()
        assert len(convs) == trial + 1, f"trial {trial}: a conversation was lost"
        path = store.active_path(convs[0].id)
        assert [m.role for m in path] == ["user", "assistant"], f"trial {trial}"
        assert path[0].content == PROMPT
        reply = path[1]
        assert ref.content.startswith(printed.content), (
            f"trial {trial}: another reply than --no-save's"
        )
        assert printed.content.startswith(reply.content), f"trial {trial}: not what was printed"
        assert printed.reasoning.startswith(reply.reasoning), f"trial {trial}"
        if reply.status == "done":  # the kill landed after the reply was complete
            assert reply.content == ref.content and reply.stats, f"trial {trial}: done but cut"
        else:
            assert reply.status == "interrupted", f"trial {trial}: {reply.status}"
            assert printed.done is None, f"trial {trial}: printed done, saved {reply.status}"
        lag, bounded = check_recent_text_saved(
            reply, printed.timeline, t_kill, trial, shown="printed"
        )
    streamed = t_kill - printed.timeline[0][0] if printed.timeline else 0.0
    return {
        "lag": lag,
        "bounded": bounded,
        "at": target / ref.chars,
        "after_end": reply.status == "done",
        "streamed": streamed,
    }


def test_sigkill_mid_reply_keeps_the_chat(tiny_model: Path, hearth_home: Path) -> None:
    seed, rng = trial_rng("CLI SIGKILL trials (hearth chat + engine host)", TRIALS)
    ref = _reference(tiny_model)
    results = [
        _trial(tiny_model, str(hearth_home), ref, frac, trial)
        for trial, frac in enumerate(spread(rng, TRIALS))
    ]
    with Store.open() as store:
        convs = store.list_conversations()
        assert len(convs) == TRIALS  # no conversation lost across 20 crashes
        assert all(c.message_count == 2 for c in convs)
        assert store.recovered == 0  # each reopen above already recovered its trial
    worst = max(r["lag"] for r in results)
    at = sorted(r["at"] for r in results)
    print(
        f"CLI SIGKILL trials: {TRIALS}, failures: 0, seed {seed}; kills at "
        f"{at[0]:.0%}-{at[-1]:.0%} of a {ref.chars}-character reply "
        f"({max(r['streamed'] for r in results):.1f} s at most), "
        f"{sum(r['after_end'] for r in results)} after its end; the {LOSS_BOUND:.2f} s bound "
        f"applied in {sum(r['bounded'] for r in results)}; worst unsaved tail {worst * 1000:.0f} ms"
    )
