"""What the kill trials share (the README's Reliability section): the seed, kill moments spread
over the whole reply, killing the whole app (the engine host is in its own session, so a
process-group kill of the app leaves it), finding engine hosts, and the loss-bound check.

The kill trials: tests/store/test_crash.py (the CLI), tests/faults/test_gui_crash.py (the window),
tests/faults/test_engine_kill.py and tests/engine/test_host_faults.py (the engine host alone).
"""

from __future__ import annotations

import os
import random
import select
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# What the README promises: at most the last LOSS_BOUND seconds of the text shown is lost. The
# app saves every SAVE_INTERVAL (0.25 s); the rest is scheduling slack on a loaded 2-core machine.
# A number of its own, not SAVE_INTERVAL + slack: a longer save interval must fail the trials.
LOSS_BOUND = 0.5
SEED_ENV = "HEARTH_CRASH_SEED"


def trial_rng(what: str, trials: int) -> tuple[int, random.Random]:
    """The seed of a kill test, printed before its first trial (pytest shows it with a failure,
    and with ``-rA`` or ``-s``); set HEARTH_CRASH_SEED to replay the same kill moments."""
    seed = int(os.environ.get(SEED_ENV) or time.time_ns() % 1_000_000)
    print(f"\n{what}: {trials} trials, seed {seed} (replay: {SEED_ENV}={seed})", flush=True)
    return seed, random.Random(seed)


def spread(rng: random.Random, n: int) -> list[float]:
    """``n`` kill moments as fractions of a reply, one at random in each n-th of it (so every
    run covers the start, the middle and the end), in random order."""
    out = [(i + rng.random()) / n for i in range(n)]
    rng.shuffle(out)
    print("kill points, in trial order:", " ".join(f"{x:.0%}" for x in out), flush=True)
    return out


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]


def _is_engine_host(pid: int) -> bool:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X") and (b"app.engine.host" in argv or b"engine-host" in argv)


def engine_hosts(pid: int) -> list[int]:
    """The engine hosts started by process ``pid``."""
    return [c for c in children(pid) if _is_engine_host(c)]


def hosts_for_home(home: str | Path) -> list[int]:
    """Every live engine host (any parent, orphans included) whose HEARTH_HOME is ``home``."""
    want = f"HEARTH_HOME={home}".encode()
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or not _is_engine_host(int(entry.name)):
            continue
        try:
            env = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if want in env:
            out.append(int(entry.name))
    return out


def kill_whole_app(pgid: int, hosts: list[int]) -> tuple[float, int]:
    """SIGKILL the app's process group, then its engine hosts (each in its own session, so the
    group kill leaves them). The app goes first: killed second, it could notice the engine dying
    and save the reply as failed. Returns the time of the kill and how many hosts were still
    there to be killed."""
    t_kill = time.monotonic()
    os.killpg(pgid, signal.SIGKILL)
    killed = 0
    for host in hosts:
        try:
            os.kill(host, signal.SIGKILL)
            killed += 1
        except ProcessLookupError:
            pass
    return t_kill, killed


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> float:
    """Poll ``condition`` (a file the engine host writes: no event to wait on) every 5 ms, as
    qtbot.waitUntil does; returns when it became true. AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    tick = threading.Event()
    while not condition():
        assert time.monotonic() < deadline, f"not true after {timeout:.0f} s: {condition}"
        tick.wait(0.005)
    return time.monotonic()


def wait_gone(pid: int, timeout: float = 15.0) -> bool:
    """True once ``pid`` has exited (a zombie counts), False after ``timeout``."""
    if not hasattr(os, "pidfd_open"):  # Linux only; elsewhere children() found none anyway
        return True
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], timeout)[0])
    finally:
        os.close(fd)


def check_recent_text_saved(
    reply: Any, timeline: list[tuple[float, int, int]], t_kill: float, trial: int, shown: str
) -> tuple[float, bool]:
    """The loss bound: everything ``shown`` (printed, on screen) more than LOSS_BOUND before the
    kill is on disk. ``timeline`` holds (time, answer chars, thinking chars) as they were shown.
    Returns the age at the kill of the oldest text not on disk (0 if all of it was saved) and
    whether any shown text was old enough for the bound to apply (a kill within LOSS_BOUND of
    the first token may lose all of it)."""
    cutoff = t_kill - LOSS_BOUND
    must = [(c, r) for t, c, r in timeline if t <= cutoff]
    if must:
        c_need, r_need = must[-1]
        assert len(reply.content) >= c_need and len(reply.reasoning) >= r_need, (
            f"trial {trial}: lost more than the last {LOSS_BOUND:.2f} s of {shown} text "
            f"(saved {len(reply.content)}+{len(reply.reasoning)} chars, "
            f"{shown} {c_need}+{r_need} by then)"
        )
    unsaved = [t for t, c, r in timeline if c > len(reply.content) or r > len(reply.reasoning)]
    return (t_kill - min(unsaved) if unsaved else 0.0), bool(must)


# -- kills during a model load -------------------------------------------------------------------

SLOW_LOAD_VOCAB = 201_088  # gpt-oss's vocabulary size


def slow_load_model(base: Path) -> Path:
    """The tiny model with gpt-oss's full-size vocabulary, written once under ``base`` (a session
    temp folder): llama.cpp spends most of a second setting that vocabulary up, so a kill can land
    inside the load (the tiny model loads in milliseconds)."""
    from tests.helpers.tinymodel import write_tiny_gptoss

    path = base / "slow-load" / "slow-load.gguf"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        write_tiny_gptoss(tmp, vocab_size=SLOW_LOAD_VOCAB, name="slow-load")
        tmp.rename(path)
    return path


class LoadWatch:
    """One model load as the engine host's logs (in ``logs``) tell it: llama.cpp writes llama.log
    line by line while it loads, and the host writes "loaded <model>" to engine.log once the load
    is complete. ``begun`` before a kill and not ``finished`` after it prove the kill landed inside
    the load, not before it was started nor after it was done."""

    def __init__(self, logs: Path) -> None:
        self.llama = logs / "llama.log"
        self.engine = logs / "engine.log"
        self._llama_at = self._size(self.llama)
        self._engine_at = self._size(self.engine)

    @staticmethod
    def _size(path: Path) -> int:
        try:
            return path.stat().st_size
        except FileNotFoundError:
            return 0

    @staticmethod
    def _since(path: Path, offset: int) -> str:
        try:
            with path.open("rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def begun(self) -> bool:
        """llama.cpp's model loader has started on this load."""
        return "llama_model_loader:" in self._since(self.llama, self._llama_at)

    def finished(self) -> bool:
        """The host has logged this load as complete."""
        return " loaded " in self._since(self.engine, self._engine_at)

    def step(self) -> str:
        """What llama.cpp was doing last (the log line's prefix, e.g. 'load' or 'print_info')."""
        lines = [ln for ln in self._since(self.llama, self._llama_at).splitlines() if ln.strip()]
        return lines[-1].split(":", 1)[0].strip() if lines else ""
