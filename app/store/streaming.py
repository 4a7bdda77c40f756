"""Saving a reply while it grows, so a crash loses at most ~250 ms of it.

The writer keeps the reply in memory and writes the whole text (one UPDATE, one short
transaction) when ``interval`` has passed since the last save, and once more at the end.
Writing the whole text is simpler than appending and costs little at chat sizes. If the stream
pauses (a slow engine, a long tool call), a timer thread saves the unsaved tail after
``interval``, so text never waits for the next token to reach the disk.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from app.store.errors import StoreError
from app.store.store import Store

SAVE_INTERVAL = 0.25  # seconds of reply text at risk if the process dies


class StreamingWriter:
    """Accumulates deltas for one assistant message (created with status ``streaming``).

    A failed periodic save (disk full, locked) does not stop the reply: the text stays in memory,
    ``save_error`` holds the error and the next save retries. ``finish`` raises if the final save
    fails, so the caller can tell the user; the text is still in ``content``/``reasoning``.
    """

    def __init__(
        self,
        store: Store,
        message_id: int,
        *,
        interval: float = SAVE_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        content: str = "",
        reasoning: str = "",
        timer: bool = True,
    ) -> None:
        self.store = store
        self.message_id = message_id
        self.interval = interval
        self._clock = clock
        self._content = [content] if content else []
        self._reasoning = [reasoning] if reasoning else []
        self.tool_calls: list[dict[str, Any]] = []
        self._dirty = False
        self._last_save = clock()
        self.saves = 0
        self.save_error: StoreError | None = None
        self._use_timer = timer
        self._timer: threading.Timer | None = None
        self._state = threading.Lock()  # the buffers and the timer
        self._saving = threading.Lock()  # one save at a time, so a stale one never wins
        self._finished = False
        # How many content/reasoning pieces and tool calls may be saved (see ``hold``).
        self._released = (len(self._content), len(self._reasoning), 0)

    @property
    def content(self) -> str:
        with self._state:
            return "".join(self._content)

    @property
    def reasoning(self) -> str:
        with self._state:
            return "".join(self._reasoning)

    def append_content(self, delta: str, *, hold: bool = False) -> None:
        """Add answer text. ``hold=True`` keeps it out of saves until ``release()``: a caller
        that shows text after receiving it holds it until shown, so the disk never has text the
        user has not seen, and a Ctrl-C while showing it cannot lose it."""
        if delta:
            with self._state:
                self._content.append(delta)
            self._added(hold)

    def append_reasoning(self, delta: str, *, hold: bool = False) -> None:
        if delta:
            with self._state:
                self._reasoning.append(delta)
            self._added(hold)

    def add_tool_call(self, call: dict[str, Any], *, hold: bool = False) -> None:
        with self._state:
            self.tool_calls.append(call)
        self._added(hold)

    def release(self) -> None:
        """Everything added so far may be saved now (saves if the interval has passed)."""
        self._added(False)

    def _added(self, hold: bool) -> None:
        if hold:
            return
        with self._state:
            released = (len(self._content), len(self._reasoning), len(self.tool_calls))
            if released != self._released:
                self._released = released
                self._dirty = True
        self.maybe_save()

    def maybe_save(self) -> bool:
        """Save if there is unsaved text and ``interval`` has passed (returns True if saved);
        otherwise make sure a timer will save it once the interval is over."""
        wait = self.interval - (self._clock() - self._last_save)
        if self._dirty and wait <= 0:
            return self.save()
        if self._dirty and self._use_timer:
            with self._state:
                if self._timer is None:
                    self._timer = threading.Timer(wait, self._timed_save)
                    self._timer.daemon = True
                    self._timer.start()
        return False

    def _timed_save(self) -> None:
        with self._state:
            self._timer = None
        if self._dirty:
            self.save()

    def _cancel_timer(self) -> None:
        with self._state:
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()

    def save(self) -> bool:
        with self._saving:
            if self._finished:
                # A timer save that was already under way when finish() ran: it would write only
                # the released prefix over the finished reply (losing a held tail).
                return False
            with self._state:
                n_content, n_reasoning, n_calls = self._released
                content = "".join(self._content[:n_content])
                reasoning = "".join(self._reasoning[:n_reasoning])
                tool_calls = self.tool_calls[:n_calls] or None
                self._dirty = False
            try:
                self.store.update_message(
                    self.message_id, content=content, reasoning=reasoning, tool_calls=tool_calls
                )
            except StoreError as exc:
                self.save_error = exc
                self._dirty = True
                self._last_save = self._clock()  # retry after another interval, not every token
                return False
            self._last_save = self._clock()
            self.saves += 1
            self.save_error = None
            return True

    def finish(
        self,
        status: str = "done",
        *,
        stats: dict[str, Any] | None = None,
        error: str | None = None,
        model: str | None = None,
    ) -> None:
        """The final save: whole text, final status, stats and error in one transaction."""
        self._cancel_timer()
        fields: dict[str, Any] = {
            "content": self.content,
            "reasoning": self.reasoning,
            "tool_calls": self.tool_calls or None,
            "status": status,
            "stats": stats,
            "error": error,
            "touch_conversation": True,
        }
        if model is not None:
            fields["model"] = model
        with self._saving:  # after any timer save still running
            self.store.update_message(self.message_id, **fields)
            self._finished = True
        self._dirty = False
        self.save_error = None  # an earlier failed save is healed: everything is on disk now
        self.saves += 1
