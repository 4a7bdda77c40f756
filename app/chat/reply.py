"""One turn of a conversation: the only code that consumes a reply stream (no Qt).

Everything that asks for a reply comes through here: the GUI's worker, ``hearth chat`` (saved and
``--no-save``), and what round 2 adds (the tool loop, the API server). Everything that produces a
reply sits behind ``app.engine.backend.Engine``.

- ``stream_reply(engine, request, ...)`` streams one reply: each event goes to ``on_event``
  *before* it is recorded, so what is on disk is always a prefix of what the user has seen; the
  reply is kept by a recorder (the store's ``StreamingWriter``, saving at most ~250 ms at risk,
  or an in-memory ``ReplyBuffer`` when nothing is saved); the result is a ``TurnOutcome``.
- ``prepare_turn`` + ``stream_turn``: a saved turn. The first builds the request from the
  conversation (new message, edit, regenerate, or answer the leaf) and only then creates the
  rows (the user message and the assistant row, ``streaming``), so a failure creates nothing;
  the GUI calls it on its thread so the view shows the rows at once, and ``stream_turn`` on the
  worker thread. ``run_turn`` does both (the CLI).
- ``TurnControl``: Stop for one turn, from any thread, at any moment (before the request is sent
  too). A KeyboardInterrupt while streaming stops waiting and finishes the row as cancelled.
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
from app.engine.options import SamplingOptions
from app.engine.protocol import GenerateRequest
from app.harmony import EFFORTS, Message, PromptSettings
from app.store import InvalidRequestError, Store, StoreError, StreamingWriter
from app.store import Message as StoredMessage
from app.store.streaming import SAVE_INTERVAL

EventCallback = Callable[[EngineEvent], None]


class TurnControl:
    """Stop one turn from any thread. A stop before the request is sent means it is never sent;
    during the reply the engine cancels within a token (or inside a prompt chunk)."""

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
    assistant_message_id: int | None = None

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
                    rec.add_tool_call(
                        {
                            "name": ev.recipient,
                            "arguments": ev.arguments,
                            "constrain": ev.constrain,
                            "channel": ev.channel,
                        },
                        hold=True,
                    )
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


# -- saved turns ---------------------------------------------------------------------------


@dataclass
class PreparedTurn:
    """The rows a turn has created and the request it will send."""

    conversation_id: int
    user_message: StoredMessage | None  # None when regenerating or answering an existing message
    assistant_message: StoredMessage  # status 'streaming', empty
    request: GenerateRequest


def prompt_settings(settings: dict[str, Any]) -> PromptSettings:
    """A chat's stored settings -> Harmony prompt settings (unknown effort: the default)."""
    effort = settings.get("effort")
    return PromptSettings(
        effort=effort if effort in EFFORTS else "medium",
        instructions=str(settings.get("instructions") or ""),
    )


def sampling_options(settings: dict[str, Any]) -> SamplingOptions:
    sampling = settings.get("sampling")
    return SamplingOptions.from_dict(sampling) if isinstance(sampling, dict) else SamplingOptions()


def harmony_history(path: list[StoredMessage]) -> list[Message]:
    """Stored messages (root → leaf) as the Harmony messages the model sees.

    An assistant reply becomes its reasoning (analysis; Harmony drops it once a later final
    answer exists), its tool calls, then its final text. A failed reply with no text is left out;
    a cancelled or interrupted one keeps what the user saw."""
    out: list[Message] = []
    for m in path:
        if m.role == "user":
            out.append(Message("user", m.content))
        elif m.role == "system":
            out.append(Message("system", m.content))
        elif m.role == "tool":
            out.append(Message("tool", m.content, name=m.name or "functions.tool"))
        elif m.role == "assistant":
            if m.status == "error" and not m.content:
                continue
            if m.reasoning:
                out.append(Message("assistant", m.reasoning, channel="analysis"))
            for call in m.tool_calls or []:
                # Not a call object (an old import let anything in): left out, not a crash.
                if isinstance(call, dict) and call.get("name"):
                    out.append(
                        Message(
                            "assistant",
                            str(call.get("arguments", "")),
                            channel=call.get("channel") or "commentary",
                            recipient=str(call["name"]),
                            content_type=call.get("constrain") or "json",
                        )
                    )
            if m.content:
                out.append(Message("assistant", m.content, channel="final"))
    return out


def prepare_turn(
    store: Store,
    conversation_id: int,
    text: str | None = None,
    *,
    edit: int | None = None,
    regenerate: int | None = None,
    model: str | None = None,
    sampling: SamplingOptions | None = None,
) -> PreparedTurn:
    """Build the turn's request, then create its rows.

    - ``text``: a new user message after the active leaf.
    - ``edit=ID, text=...``: the user message ID edited (a new sibling; the old one stays).
    - ``regenerate=ID``: a new reply beside assistant message ID (or to user message ID).
    - nothing: answer the active leaf (e.g. after a failed reply).
    ``sampling`` overrides the chat's stored sampling for this turn only. Raises StoreError
    (InvalidRequestError for a request that makes no sense) before anything is written.
    """
    conv = store.get_conversation(conversation_id)
    new_text: str | None = None
    if edit is not None:
        original = store.get_message(edit)
        if original.role != "user" or original.conversation_id != conversation_id:
            raise InvalidRequestError(
                f"Message {edit} is not a user message of conversation {conversation_id}."
            )
        if text is None or not text.strip():
            raise InvalidRequestError("The edited message is empty.", "Type something to send.")
        parent_id, new_text = original.parent_id, text
    elif regenerate is not None:
        target = store.get_message(regenerate)
        if target.conversation_id != conversation_id:
            raise InvalidRequestError(
                f"Message {regenerate} is not part of conversation {conversation_id}."
            )
        parent_id = target.parent_id if target.role == "assistant" else target.id
    elif text is not None:
        if not text.strip():
            raise InvalidRequestError("The message is empty.", "Type something to send.")
        parent_id, new_text = conv.active_leaf_id, text
    else:
        if conv.active_leaf_id is None:
            raise InvalidRequestError("There is nothing to answer yet.", "Type a message.")
        parent_id = conv.active_leaf_id
    history = harmony_history(store.path_to(parent_id) if parent_id is not None else [])
    if new_text is not None:
        history.append(Message("user", new_text))
    request = GenerateRequest(
        messages=history,
        settings=prompt_settings(conv.settings),
        sampling=sampling or sampling_options(conv.settings),
    )
    user: StoredMessage | None = None
    if new_text is not None:
        user = store.add_message(conversation_id, "user", new_text, parent_id=parent_id)
        parent_id = user.id
    assistant = store.add_message(
        conversation_id,
        "assistant",
        parent_id=parent_id,
        status="streaming",
        model=model or conv.settings.get("model"),
    )
    return PreparedTurn(conversation_id, user, assistant, request)


def stream_turn(
    store: Store,
    engine: Engine,
    turn: PreparedTurn,
    *,
    control: TurnControl | None = None,
    on_event: EventCallback | None = None,
    save_interval: float = SAVE_INTERVAL,
) -> TurnOutcome:
    """Stream the reply for a prepared turn, saving as it grows, and finish the row."""
    writer = StreamingWriter(store, turn.assistant_message.id, interval=save_interval)
    outcome = stream_reply(
        engine, turn.request, control=control, on_event=on_event, recorder=writer
    )
    outcome.conversation_id = turn.conversation_id
    outcome.user_message_id = turn.user_message.id if turn.user_message else None
    outcome.assistant_message_id = turn.assistant_message.id
    return outcome


def run_turn(
    store: Store,
    engine: Engine,
    conversation_id: int,
    text: str | None = None,
    *,
    edit: int | None = None,
    regenerate: int | None = None,
    sampling: SamplingOptions | None = None,
    control: TurnControl | None = None,
    on_event: EventCallback | None = None,
) -> TurnOutcome:
    """``prepare_turn`` + ``stream_turn``: one whole saved turn (the CLI)."""
    info = engine.model_info
    turn = prepare_turn(
        store,
        conversation_id,
        text,
        edit=edit,
        regenerate=regenerate,
        model=info.name if info and info.name else None,
        sampling=sampling,
    )
    return stream_turn(store, engine, turn, control=control, on_event=on_event)
