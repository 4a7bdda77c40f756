"""A fair queue in front of one engine: one generation at a time, first come, first served.

The window and the local API server share one model in memory; ``QueuedEngine`` wraps the one
``Engine`` they share and is an ``Engine`` itself, so the turn path (``app.chat.stream_reply``)
drives it like any other. Requests wait in arrival order (a plain lock is not fair: a thread that
releases it may take it again before a waiter wakes); a waiting request says so in the log with
its position; a request whose cancel event is set while it waits leaves the queue at once and
ends as cancelled without reaching the engine.

Cancel is per request: ``stream(request, cancel=event)`` is stopped by setting ``event`` and
then calling ``cancel()`` (``app.chat.TurnControl.stop`` does both). ``cancel()`` only passes
the stop to the engine when the reply being generated is the one whose event is set, so a client
that disconnects never stops the window's reply, nor the window's Stop a client's. "Answer now"
(``answer_now()``, the window's) has no event to tell whose it is: each caller streams through
its own ``view(origin)``, and it reaches the engine only while that origin's reply is generated.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Generator
from dataclasses import dataclass

from app.engine.backend import Engine
from app.engine.events import DoneEvent, EngineEvent, GenerationStats, ModelInfo
from app.engine.protocol import GenerateRequest

log = logging.getLogger("hearth.engine.queue")

# A waiter re-checks its cancel event at least this often, in case a caller set the event
# without calling cancel() (the interface asks for both; this keeps a forgetful one from hanging).
_RECHECK_S = 0.5


@dataclass
class QueueState:
    """What the queue is doing: for a status line."""

    busy: bool  # a reply is being generated
    waiting: int  # requests waiting for their turn
    served: int  # replies started since the queue was made


@dataclass(eq=False)
class _Ticket:
    number: int
    cancel: threading.Event
    own_event: bool  # the caller gave no cancel event: cancel() stops it while it is active
    queued_at: float
    origin: str = ""


class QueuedEngine:
    """An ``Engine`` that lets one reply at a time through to ``engine``, in arrival order."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._cond = threading.Condition()
        self._waiting: deque[_Ticket] = deque()
        self._active: _Ticket | None = None
        self._numbers = itertools.count(1)
        self._served = 0
        self._listeners: list[Callable[[QueueState], None]] = []

    # -- Engine --------------------------------------------------------------------------------

    @property
    def model_info(self) -> ModelInfo | None:
        return self.engine.model_info

    def stream(
        self, request: GenerateRequest, *, cancel: threading.Event | None = None, origin: str = ""
    ) -> Generator[EngineEvent, None, None]:
        """The reply's events, once every request that came earlier has finished."""
        ticket = _Ticket(
            next(self._numbers),
            cancel or threading.Event(),
            cancel is None,
            time.monotonic(),
            origin,
        )
        if not self._wait_turn(ticket):
            yield DoneEvent(GenerationStats(stop_reason="cancelled"))
            return
        inner = self.engine.stream(request, cancel=ticket.cancel)
        try:
            yield from inner
        finally:
            close = getattr(inner, "close", None)
            if close is not None:
                close()
            self._leave(ticket)

    def cancel(self) -> None:
        """Stop the reply whose cancel event is set (waiting ones leave the queue)."""
        with self._cond:
            active = self._active
            # A caller without a cancel event stops "the reply": the active one, unless a
            # waiting request's event is set (then this call is that request's stop).
            for_waiter = any(t.cancel.is_set() for t in self._waiting)
            if active is not None and active.own_event and not for_waiter:
                active.cancel.set()
            self._cond.notify_all()
        if active is not None and active.cancel.is_set():
            self.engine.cancel()

    def answer_now(self, origin: str = "") -> None:
        """End the thinking of the reply being generated, if it is ``origin``'s."""
        with self._cond:
            active = self._active
        answer = getattr(self.engine, "answer_now", None)
        if active is not None and active.origin == origin and answer is not None:
            answer()

    def view(self, origin: str) -> QueueView:
        """This queue as an Engine whose requests are ``origin``'s."""
        return QueueView(self, origin)

    # -- the queue -----------------------------------------------------------------------------

    def state(self) -> QueueState:
        with self._cond:
            return self._state()

    def _state(self) -> QueueState:
        return QueueState(self._active is not None, len(self._waiting), self._served)

    def add_listener(self, fn: Callable[[QueueState], None]) -> None:
        """``fn(state)`` after each change (on the thread that made it: keep it short)."""
        self._listeners.append(fn)

    def remove_listener(self, fn: Callable[[QueueState], None]) -> None:
        if fn in self._listeners:
            self._listeners.remove(fn)

    def _wait_turn(self, ticket: _Ticket) -> bool:
        """Wait until it is this ticket's turn (True) or its cancel event is set (False)."""
        with self._cond:
            self._waiting.append(ticket)
            ahead = len(self._waiting) - 1 + (self._active is not None)
            joined = self._state()
        if ahead:
            log.info("request %d waits for the engine: position %d", ticket.number, ahead)
            self._notify(joined)
        with self._cond:
            while True:
                if ticket.cancel.is_set():
                    self._waiting.remove(ticket)
                    log.info("request %d left the queue (cancelled)", ticket.number)
                    self._cond.notify_all()
                    go = False
                    break
                if self._active is None and self._waiting[0] is ticket:
                    self._waiting.popleft()
                    self._active = ticket
                    self._served += 1
                    go = True
                    break
                self._cond.wait(_RECHECK_S)
            state = self._state()
        if go and ahead:
            waited = time.monotonic() - ticket.queued_at
            log.info("request %d starts after waiting %.2f s", ticket.number, waited)
        self._notify(state)
        return go

    def _leave(self, ticket: _Ticket) -> None:
        with self._cond:
            if self._active is ticket:
                self._active = None
            self._cond.notify_all()
            state = self._state()
        self._notify(state)

    def _notify(self, state: QueueState) -> None:
        for fn in list(self._listeners):
            try:
                fn(state)
            except Exception:  # a status line must never break a reply
                log.exception("queue listener failed")


class QueueView:
    """A ``QueuedEngine`` for one origin (the window, the API server)."""

    def __init__(self, queue: QueuedEngine, origin: str) -> None:
        self.queue = queue
        self.origin = origin

    @property
    def model_info(self) -> ModelInfo | None:
        return self.queue.model_info

    def stream(
        self, request: GenerateRequest, *, cancel: threading.Event | None = None
    ) -> Generator[EngineEvent, None, None]:
        return self.queue.stream(request, cancel=cancel, origin=self.origin)

    def cancel(self) -> None:
        self.queue.cancel()

    def answer_now(self) -> None:
        self.queue.answer_now(self.origin)
