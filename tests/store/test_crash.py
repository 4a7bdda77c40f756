"""SIGKILL a real streaming ``hearth chat`` at random moments; the chat must survive.

Each trial runs the real CLI (engine host + tiny gpt-oss model, greedy so it never stops on its
own), waits until the reply is visibly streaming (--jsonl events on stdout), lets a random number
of further events arrive, then SIGKILLs the CLI's whole process group. Reopening the store must
show the conversation with the partial reply marked ``interrupted``, its text a prefix of what
was printed, missing at most ~250 ms of it, and a database that passes ``integrity_check``.
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

import pytest

from app.store import Store
from tests.helpers.crash import check_recent_text_saved, children, wait_gone

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX signals")

TRIALS = 20


def _trial(model: Path, rng: random.Random, trial: int) -> dict[str, float]:
    prompt = f"Trial {trial}: tell me a very long story."
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app",
            "chat",
            "--model",
            str(model),
            "--temperature",
            "0",
            "--max-tokens",
            "100000",
            "--jsonl",
            prompt,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    assert proc.stdout is not None
    timeline: list[tuple[float, int, int]] = []  # (received at, content chars, reasoning chars)
    content = reasoning = ""
    extra = rng.randint(0, 40)
    text_events = 0
    hosts: list[int] = []
    try:
        for raw in proc.stdout:
            ev = json.loads(raw)
            if ev["type"] in ("done", "error"):
                raise AssertionError(f"trial {trial}: the reply ended before the kill: {ev}")
            if ev["type"] in ("content", "preamble"):
                content += ev["text"]
            elif ev["type"] == "reasoning":
                reasoning += ev["text"]
            else:
                continue
            timeline.append((time.monotonic(), len(content), len(reasoning)))
            text_events += 1
            if text_events == 1:
                hosts = children(proc.pid)
            if text_events > extra:
                break
        t_kill = time.monotonic()
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        rest = proc.stdout.read()
        proc.wait()
    # What reached the pipe before the kill was printed too: the saved text may include it.
    for raw in rest.splitlines(keepends=True):
        if not raw.endswith(b"\n"):
            break  # a line cut by the kill
        ev = json.loads(raw)
        if ev["type"] in ("content", "preamble"):
            content += ev["text"]
        elif ev["type"] == "reasoning":
            reasoning += ev["text"]
    # The engine host notices its parent is gone and exits.
    for host in hosts:
        if not wait_gone(host, 15):
            os.kill(host, signal.SIGKILL)
            raise AssertionError(f"trial {trial}: engine host {host} outlived the killed CLI")

    with Store.open() as store:
        assert store.execute_raw("PRAGMA integrity_check")[0][0] == "ok"
        conv = store.latest_conversation()
        assert conv is not None
        path = store.active_path(conv.id)
        assert [m.role for m in path] == ["user", "assistant"], f"trial {trial}"
        assert path[0].content == prompt
        reply = path[1]
        assert reply.status == "interrupted", f"trial {trial}: {reply.status}"
        assert content.startswith(reply.content), f"trial {trial}: saved text is not a prefix"
        assert reasoning.startswith(reply.reasoning), f"trial {trial}"
        # Everything printed more than ~250 ms before the kill is on disk.
        lag = check_recent_text_saved(reply, timeline, t_kill, trial, shown="printed")
        return {"lag_s": lag, "saved": len(reply.content), "printed": len(content)}


def test_sigkill_mid_reply_keeps_the_chat(tiny_model: Path) -> None:
    seed = int(os.environ.get("HEARTH_CRASH_SEED", time.time_ns() % 100_000))
    rng = random.Random(seed)
    results = [_trial(tiny_model, rng, trial) for trial in range(TRIALS)]
    with Store.open() as store:
        convs = store.list_conversations()
        assert len(convs) == TRIALS  # no conversation lost across 20 crashes
        assert all(c.message_count == 2 for c in convs)
        assert store.recovered == 0  # each reopen above already recovered its trial
    worst = max(r["lag_s"] for r in results)
    print(f"\ncrash trials: {TRIALS}, seed {seed}, worst unsaved tail {worst * 1000:.0f} ms")
