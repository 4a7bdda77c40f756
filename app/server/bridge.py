"""One reply through the turn path, on a thread, with its events delivered to the event loop.

The engine's stream is blocking (pipes to the engine host), the server is asyncio: each request's
reply runs ``app.chat.stream_reply`` (the one loop over an engine stream) on its own thread, and
every event is handed to the request's coroutine through ``call_soon_threadsafe``. ``stop()``
(the client went away, a stop sequence matched) is the turn's own Stop: a request still waiting
in the queue leaves it, one being generated ends within a token.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncGenerator
from dataclasses import dataclass

from app.chat import TurnControl, TurnOutcome, stream_reply
from app.engine.backend import Engine
from app.engine.events import EngineEvent, ErrorEvent
from app.engine.protocol import GenerateRequest

log = logging.getLogger("hearth.server")


@dataclass
class _Finished:
    outcome: TurnOutcome


class ReplyRun:
    """Start with ``start()``; read ``events()`` to the end; then ``outcome`` is set."""

    def __init__(self, engine: Engine, request: GenerateRequest, label: str = "reply") -> None:
        self.engine = engine
        self.label = label
        self.request = request
        self.control = TurnControl()
        self.outcome: TurnOutcome | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[EngineEvent | _Finished] = asyncio.Queue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name="hearth-server-reply", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.control.stop()

    def _deliver(self, item: EngineEvent | _Finished) -> None:
        loop = self._loop
        assert loop is not None
        try:
            loop.call_soon_threadsafe(self._queue.put_nowait, item)
        except RuntimeError:  # the event loop is gone (the server is shutting down)
            self.control.stop()

    def _run(self) -> None:
        try:
            outcome = stream_reply(
                self.engine, self.request, control=self.control, on_event=self._deliver
            )
        except Exception as e:  # never leave a request hanging
            log.exception("reply failed")
            outcome = TurnOutcome(status="error")
            outcome.error = ErrorEvent("internal", f"The reply failed: {e}.")
        if outcome.status == "cancelled":
            n = outcome.stats.generated_tokens if outcome.stats else 0
            log.info("%s stopped after %d generated tokens", self.label, n)
        self._deliver(_Finished(outcome))

    async def events(self) -> AsyncGenerator[EngineEvent, None]:
        """The reply's events as they come; cancelling the reader stops the reply."""
        try:
            while True:
                item = await self._queue.get()
                if isinstance(item, _Finished):
                    self.outcome = item.outcome
                    return
                yield item
        finally:
            if self.outcome is None:
                self.stop()

    async def finish(self) -> TurnOutcome:
        """Wait for the reply to end (after a stop), ignoring the events still to come."""
        while self.outcome is None:
            item = await self._queue.get()
            if isinstance(item, _Finished):
                self.outcome = item.outcome
        return self.outcome
