"""Saving a reply while it grows, so a crash loses at most ~250 ms of it.

The writer keeps the reply in memory and writes the whole text (one UPDATE, one short
transaction) when ``interval`` has passed since the last save, and once more at the end.
Writing the whole text is simpler than appending and costs little at chat sizes.
"""

from __future__ import annotations

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

    @property
    def content(self) -> str:
        return "".join(self._content)

    @property
    def reasoning(self) -> str:
        return "".join(self._reasoning)

    def append_content(self, delta: str) -> None:
        if delta:
            self._content.append(delta)
            self._dirty = True
            self.maybe_save()

    def append_reasoning(self, delta: str) -> None:
        if delta:
            self._reasoning.append(delta)
            self._dirty = True
            self.maybe_save()

    def add_tool_call(self, call: dict[str, Any]) -> None:
        self.tool_calls.append(call)
        self._dirty = True
        self.maybe_save()

    def maybe_save(self) -> bool:
        """Save if there is unsaved text and ``interval`` has passed. Returns True if saved."""
        if self._dirty and self._clock() - self._last_save >= self.interval:
            return self.save()
        return False

    def save(self) -> bool:
        try:
            self.store.update_message(
                self.message_id,
                content=self.content,
                reasoning=self.reasoning,
                tool_calls=self.tool_calls or None,
            )
        except StoreError as exc:
            self.save_error = exc
            self._last_save = self._clock()  # retry after another interval, not on every token
            return False
        self._dirty = False
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
        self.store.update_message(self.message_id, **fields)
        self._dirty = False
        self.saves += 1
