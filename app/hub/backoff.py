"""The one retry loop of the model manager: Hub lookups and file transfers both go through it.

A failure worth another try (a 5xx answer, a dropped connection, a stall) is raised as ``Retry``
by the attempt; the loop waits with exponential backoff and tries again, up to ``max_retries``
failures in a row. For a transfer, a try that got further than any before it starts the count
again: a long download over a flaky line keeps going as long as it keeps moving.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


class Retry(Exception):
    """A failure worth another try; the text says what happened ("no data for 30 s").
    ``stalled``: the server stopped sending (rather than failing or hanging up)."""

    def __init__(self, reason: str, *, stalled: bool = False) -> None:
        super().__init__(reason)
        self.stalled = stalled


class Stop(Exception):
    """The user paused or cancelled: leave at once, keeping what has been downloaded."""


@dataclass(frozen=True)
class Backoff:
    max_retries: int = 8
    base: float = 1.0  # seconds before the first retry
    cap: float = 30.0  # the longest wait

    def delay(self, failures: int) -> float:
        return min(self.cap, self.base * 2 ** max(0, failures - 1))

    def run(
        self,
        attempt: Callable[[], T],
        *,
        wait: Callable[[Retry, float], bool],
        give_up: Callable[[Retry], Exception],
        reached: Callable[[], int] | None = None,
    ) -> T:
        """``attempt()`` until it returns. On ``Retry``: ``wait(error, delay)`` (True means the
        user stopped: raises ``Stop``), or ``give_up(error)`` is raised after too many failures.
        ``reached``: how far the work has got (bytes on disk); progress resets the count."""
        failures = 0
        best = reached() if reached is not None else 0
        while True:
            try:
                return attempt()
            except Retry as e:
                if reached is None:
                    failures += 1
                else:
                    now = reached()
                    failures = 0 if now > best else failures + 1
                    best = max(best, now)
                if failures > self.max_retries:
                    raise give_up(e) from None
                if wait(e, self.delay(failures)):
                    raise Stop from None
