"""What a download is doing, as its observers see it: the state, the bytes, the speed, the time
left and what goes wrong meanwhile, updated from the download's thread and read from any other.

While nothing arrives there is no speed and no time estimate: after ``stall_notice`` seconds
without a byte the download says "Stalled — retrying in N s", counting down to the moment the
stall is given up on (the read timeout), then to the retry itself. The numbers are computed when
they are read, so a view that asks once a second sees the countdown though no event comes.
"""

from __future__ import annotations

import contextlib
import enum
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.hub import fmt


class DownloadState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    VERIFYING = "verifying"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass
class Progress:
    state: DownloadState
    done: int  # bytes on disk, all files together
    total: int | None
    speed: float  # bytes per second over the last few seconds; 0 while nothing arrives
    eta: float | None  # seconds; None while unknown or stalled
    current_file: str = ""
    retries: int = 0
    message: str = ""  # what is happening, for the user ("" while plainly downloading)
    stalled: bool = False  # nothing has arrived for a while
    retry_in: float | None = None  # seconds until the next try, while one is awaited

    @property
    def fraction(self) -> float:
        return (self.done / self.total) if self.total else 0.0

    def describe(self) -> str:
        pct = f"{100 * self.fraction:5.1f} %" if self.total else "     "
        return (
            f"{pct}  {fmt.size(self.done)} of {fmt.size(self.total)}  "
            f"{fmt.speed(self.speed)}  ETA {fmt.duration(self.eta)}"
        )


@dataclass
class Speedometer:
    window: float = 3.0
    samples: deque[tuple[float, int]] = field(default_factory=deque)

    def add(self, t: float, done: int) -> None:
        self.samples.append((t, done))
        while len(self.samples) > 2 and t - self.samples[0][0] > self.window:
            self.samples.popleft()

    def rate(self) -> float:
        if len(self.samples) < 2:
            return 0.0
        (t0, b0), (t1, b1) = self.samples[0], self.samples[-1]
        return (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0


class Meter:
    """The progress of one download. Written by its thread, read by anyone; observers are called
    on each state change and about ten times a second while bytes arrive.

    ``owner`` is what listeners receive (the task); ``stall_timeout`` is how long a read waits
    for data before the stall is retried; ``clock`` can be replaced (tests move time on)."""

    def __init__(
        self,
        owner: Any,
        *,
        stall_timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.owner = owner
        self.state = DownloadState.QUEUED
        self.stall_timeout = stall_timeout
        self.stall_notice = min(3.0, stall_timeout / 10)  # quiet this long: say it is stalled
        self.clock = clock
        self._listeners: list[Callable[[Any], None]] = []
        self._changed = threading.Condition()
        self._done = 0
        self._total: int | None = None
        self._speed = Speedometer()
        self._current = ""
        self._retries = 0
        self._message = ""
        self._waiting_since: float | None = None  # a request is open: its last byte, or start
        self._retry_at: float | None = None  # a try failed: when the next one starts
        self._stalled_retry = False  # that try failed because nothing arrived
        self._last_emit = 0.0

    # -- observing -----------------------------------------------------------------------------
    def add_listener(self, fn: Callable[[Any], None]) -> None:
        self._listeners.append(fn)

    def remove_listener(self, fn: Callable[[Any], None]) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(fn)

    @property
    def listening(self) -> bool:
        return bool(self._listeners)

    def progress(self) -> Progress:
        now = self.clock()
        rate = self._speed.rate()
        message, stalled, retry_in = self._message, False, None
        running = self.state == DownloadState.RUNNING
        retry_at, waiting_since = self._retry_at, self._waiting_since
        if running and retry_at is not None:
            retry_in = max(0.0, retry_at - now)
            stalled = self._stalled_retry
            head = "Stalled" if stalled else message[:1].upper() + message[1:]
            message = f"{head} — retrying in {fmt.duration(retry_in)} (attempt {self._retries})"
        elif running and waiting_since is not None and now - waiting_since >= self.stall_notice:
            stalled = True
            retry_in = max(0.0, waiting_since + self.stall_timeout - now)
            message = f"Stalled — retrying in {fmt.duration(retry_in)}"
        if retry_in is not None:
            rate = 0.0  # the last speed is history: nothing is arriving now
        eta = None
        if self._total is not None and rate > 0:
            eta = max(0.0, (self._total - self._done) / rate)
        return Progress(
            self.state,
            self._done,
            self._total,
            rate,
            eta,
            self._current,
            self._retries,
            message,
            stalled,
            retry_in,
        )

    def wait_for(self, predicate: Callable[[Progress], bool], timeout: float) -> bool:
        """Block until ``predicate(progress)`` holds (checked on every chunk and state change)."""
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self.progress()), timeout)

    # -- reporting (the download's thread) -----------------------------------------------------
    def set_state(self, state: DownloadState, message: str = "") -> None:
        self.state = state
        self._message = message
        self._retry_at = self._waiting_since = None
        self._notify()
        self._emit(force=True)

    def note(self, message: str) -> None:
        self._message = message
        self._emit(force=True)

    def begin(self, total: int, done: int) -> None:
        self._total = total
        self._done = done

    def set_done(self, done: int) -> None:
        self._done = done

    def on_file(self, filename: str) -> None:
        self._current = filename

    def connected(self) -> None:
        """A request for bytes is on its way: from now on, a long wait for them is a stall."""
        self._retry_at = None
        self._message = ""
        self._waiting_since = self.clock()
        self._emit(force=True)

    def trying_again(self) -> None:
        """The wait after a failed try is over."""
        self._retry_at = None
        self._message = ""
        self._emit(force=True)

    def disconnected(self) -> None:
        self._waiting_since = None

    def received(self, n: int) -> None:
        """``n`` bytes written to disk (negative: bytes thrown away)."""
        self._done += n
        if n > 0:
            now = self.clock()
            self._waiting_since = now
            self._speed.add(now, self._done)
        self._notify()
        self._emit()

    def retrying(self, reason: str, delay: float, *, stalled: bool = False) -> None:
        """A try failed for ``reason``; the next one starts in ``delay`` seconds."""
        self._retries += 1
        self._message = reason
        self._stalled_retry = stalled
        self._waiting_since = None
        self._retry_at = self.clock() + delay
        self._speed = Speedometer()  # a new one: a reader may be using the old one right now
        self._emit(force=True)

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def _emit(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_emit < 0.1:
            return
        self._last_emit = now
        for fn in list(self._listeners):
            with contextlib.suppress(Exception):
                fn(self.owner)
