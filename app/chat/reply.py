"""One reply from an engine: the only loop over an engine stream in Hearth.

``stream_reply(engine, request, ...)`` passes each event to ``on_event`` *before* it is recorded,
so what is on disk is always a prefix of what the user has seen; the reply is kept by a recorder
(the store's ``StreamingWriter``, at most ~250 ms at risk, or an in-memory ``ReplyBuffer`` when
nothing is saved). ``TurnControl`` stops a turn from any thread at any moment (before the request
is sent too). A KeyboardInterrupt while streaming stops waiting and finishes as cancelled.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from app.engine.backend import Engine
from app.engine.events import (
    ContentEvent,
    DoneEvent,
    EngineEvent,
    ErrorEvent,
    GenerationStats,
    PreambleEvent,
    ReasoningEvent,
    ToolCallEvent,
    TrimmedEvent,
)
from app.engine.protocol import GenerateRequest
from app.store import StoreError
from app.tools.base import ToolResult

EventCallback = Callable[[EngineEvent], None]


class TurnControl:
    """Stop one turn from any thread, or make the model answer now. A stop before the request
    is sent means it is never sent; during the reply the engine cancels within a token (or
    inside a prompt chunk)."""

    def __init__(self) -> None:
        self.stop_event = threading.Event()
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    @property
    def stopped(self) -> bool:
        return self.stop_event.is_set()

    def attach(self, engine: Engine) -> None:
        with self._lock:
            self._engine = engine

    def stop(self) -> None:
        with self._lock:
            engine = self._engine
        self.stop_event.set()
        if engine is not None:
            engine.cancel()

    def answer_now(self) -> None:
        """End the model's thinking and have it answer (an engine that cannot, e.g. a remote
        server, ignores it)."""
        with self._lock:
            engine = self._engine
        answer = getattr(engine, "answer_now", None)
        if answer is not None:
            answer()


@dataclass
class TurnOutcome:
    """How one reply ended: the one result type for the CLI, the GUI and everything else."""

    status: str = "interrupted"  # done | cancelled | error | interrupted
    content: str = ""
    reasoning: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    stats: GenerationStats | None = None
    error: ErrorEvent | None = None
    trimmed: TrimmedEvent | None = None
    save_error: StoreError | None = None  # the reply could not be (fully) saved: tell the user
    conversation_id: int | None = None  # None for a reply that is not saved
    user_message_id: int | None = None
    assistant_message_id: int | None = None  # the reply's first row (what regenerate targets)
    tool_results: list[ToolResult] = field(default_factory=list)  # the turn's tool runs, in order
    note: str = ""  # something the user should know about how the turn ended

    @property
    def ok(self) -> bool:
        return self.error is None


class Recorder(Protocol):
    """Where a reply is kept as it grows (``StreamingWriter`` saves it; ``ReplyBuffer`` not)."""

    save_error: StoreError | None
    tool_calls: list[dict[str, Any]]

    @property
    def content(self) -> str: ...

    @property
    def reasoning(self) -> str: ...

    def append_content(self, delta: str, *, hold: bool = False) -> None: ...

    def append_reasoning(self, delta: str, *, hold: bool = False) -> None: ...

    def add_tool_call(self, call: dict[str, Any], *, hold: bool = False) -> None: ...

    def release(self) -> None: ...

    def finish(
        self,
        status: str = "done",
        *,
        stats: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None: ...


class ReplyBuffer:
    """A reply kept in memory only (``hearth chat --no-save``, the API server)."""

    def __init__(self) -> None:
        self._content: list[str] = []
        self._reasoning: list[str] = []
        self.tool_calls: list[dict[str, Any]] = []
        self.save_error: StoreError | None = None

    @property
    def content(self) -> str:
        return "".join(self._content)

    @property
    def reasoning(self) -> str:
        return "".join(self._reasoning)

    def append_content(self, delta: str, *, hold: bool = False) -> None:
        self._content.append(delta)

    def append_reasoning(self, delta: str, *, hold: bool = False) -> None:
        self._reasoning.append(delta)

    def add_tool_call(self, call: dict[str, Any], *, hold: bool = False) -> None:
        self.tool_calls.append(call)

    def release(self) -> None:
        pass

    def finish(
        self,
        status: str = "done",
        *,
        stats: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        pass


def stream_reply(
    engine: Engine,
    request: GenerateRequest,
    *,
    control: TurnControl | None = None,
    on_event: EventCallback | None = None,
    recorder: Recorder | None = None,
) -> TurnOutcome:
    """Stream one reply from ``engine``: the one loop over an engine stream."""
    control = control or TurnControl()
    control.attach(engine)
    rec: Recorder = recorder if recorder is not None else ReplyBuffer()
    outcome = TurnOutcome()
    status = "interrupted"
    stream = engine.stream(request, cancel=control.stop_event)
    try:
        while True:
            try:
                try:
                    ev = next(stream)
                except StopIteration:
                    break
                # Kept first (a Ctrl-C while it is shown must not lose it), shown, then
                # released for saving: the disk never has text the user has not seen.
                if isinstance(ev, ReasoningEvent):
                    rec.append_reasoning(ev.text, hold=True)
                elif isinstance(ev, ContentEvent | PreambleEvent):
                    # A preamble is text the user reads before tool calls: part of the answer.
                    rec.append_content(ev.text, hold=True)
                elif isinstance(ev, ToolCallEvent):
                    call: dict[str, Any] = {
                        "name": ev.recipient,
                        "arguments": ev.arguments,
                        "constrain": ev.constrain,
                        "channel": ev.channel,
                    }
                    if not ev.recipient_first:
                        call["recipient_first"] = False
                    rec.add_tool_call(call, hold=True)
                elif isinstance(ev, TrimmedEvent):
                    outcome.trimmed = ev
                elif isinstance(ev, DoneEvent):
                    outcome.stats = ev.stats
                    status = "cancelled" if ev.stats.stop_reason == "cancelled" else "done"
                elif isinstance(ev, ErrorEvent):
                    outcome.error = ev
                    status = "error"
                if on_event is not None:
                    on_event(ev)
                rec.release()
            except KeyboardInterrupt:
                # Ctrl-C that reached us (the CLI turns the first one into control.stop()):
                # stop waiting; the row is finished as cancelled with what was shown.
                control.stop()
                status = "cancelled"
                break
    finally:
        # Also on an exception from on_event or the engine: closing the stream cancels the
        # reply, and the row is finished with its text kept.
        close = getattr(stream, "close", None)
        if close is not None:
            close()
        outcome.status = status
        outcome.content, outcome.reasoning = rec.content, rec.reasoning
        outcome.tool_calls = list(rec.tool_calls)
        try:
            rec.finish(
                status,
                stats=outcome.stats.to_dict() if outcome.stats else None,
                error=outcome.error.message if outcome.error else None,
            )
        except StoreError as exc:
            outcome.save_error = exc
    if outcome.save_error is None and rec.save_error is not None:
        outcome.save_error = rec.save_error
    return outcome
