"""One turn of a conversation, shared by the CLI and the GUI (no Qt).

A turn: store the user message (or the edited sibling, or nothing for a regenerate), create the
assistant row as ``streaming``, build the Harmony history from the conversation's active path and
its settings, stream the reply from the engine, save it as it grows (at most ~250 ms at risk) and
finish it: ``done`` with stats, ``cancelled`` keeping the partial text, ``error`` with the message.

The GUI runs it in two steps: ``prepare_turn`` on the GUI thread (the rows exist at once, so the
view can show them), then ``stream_turn`` on its worker thread; ``client.cancel()`` from the GUI
thread stops it within a token. The CLI calls ``run_turn``, which does both. Each engine event is
passed to ``on_event`` *before* it is saved, so what is on disk is always a prefix of what the
user has seen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.engine.client import EngineClient, GenerateRequest
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
from app.harmony import EFFORTS, Message, PromptSettings
from app.store import InvalidRequestError, Store, StoreError, StreamingWriter
from app.store import Message as StoredMessage
from app.store.streaming import SAVE_INTERVAL

EventCallback = Callable[[EngineEvent], None]


@dataclass
class PreparedTurn:
    """The rows a turn has created and the request it will send."""

    conversation_id: int
    user_message: StoredMessage | None  # None when regenerating or answering an existing message
    assistant_message: StoredMessage  # status 'streaming', empty
    request: GenerateRequest


@dataclass
class TurnOutcome:
    conversation_id: int
    user_message_id: int | None
    assistant_message_id: int
    status: str = "interrupted"  # done | cancelled | error | interrupted
    content: str = ""
    reasoning: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    stats: GenerationStats | None = None
    error: ErrorEvent | None = None
    trimmed: TrimmedEvent | None = None
    save_error: StoreError | None = None  # the reply could not be (fully) saved: tell the user
    interrupted: bool = False  # Ctrl-C in the terminal

    @property
    def ok(self) -> bool:
        return self.error is None


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
    """Create the turn's rows and its request.

    - ``text``: a new user message after the active leaf.
    - ``edit=ID, text=...``: the user message ID edited (a new sibling; the old one stays).
    - ``regenerate=ID``: a new reply beside assistant message ID (or to user message ID).
    - nothing: answer the active leaf (e.g. after a failed reply).
    ``sampling`` overrides the chat's stored sampling for this turn only.
    """
    user: StoredMessage | None = None
    if edit is not None:
        original = store.get_message(edit)
        if original.role != "user" or original.conversation_id != conversation_id:
            raise InvalidRequestError(
                f"Message {edit} is not a user message of conversation {conversation_id}."
            )
        if text is None or not text.strip():
            raise InvalidRequestError("The edited message is empty.", "Type something to send.")
        user = store.edit_message(edit, text)
        parent_id: int | None = user.id
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
        user = store.add_message(conversation_id, "user", text)
        parent_id = user.id
    else:
        leaf = store.get_conversation(conversation_id).active_leaf_id
        if leaf is None:
            raise InvalidRequestError("There is nothing to answer yet.", "Type a message.")
        parent_id = leaf
    conv = store.get_conversation(conversation_id)
    assistant = store.add_message(
        conversation_id,
        "assistant",
        parent_id=parent_id,
        status="streaming",
        model=model or conv.settings.get("model"),
    )
    history = harmony_history(store.active_path(conversation_id)[:-1])
    request = GenerateRequest(
        messages=history,
        settings=prompt_settings(conv.settings),
        sampling=sampling or sampling_options(conv.settings),
    )
    return PreparedTurn(conversation_id, user, assistant, request)


def stream_turn(
    store: Store,
    client: EngineClient,
    turn: PreparedTurn,
    *,
    on_event: EventCallback | None = None,
    save_interval: float = SAVE_INTERVAL,
) -> TurnOutcome:
    """Stream the reply for a prepared turn, saving as it grows, and finish the row."""
    outcome = TurnOutcome(
        turn.conversation_id,
        turn.user_message.id if turn.user_message else None,
        turn.assistant_message.id,
    )
    writer = StreamingWriter(store, turn.assistant_message.id, interval=save_interval)
    status = "interrupted"
    stream = client.stream(turn.request)
    try:
        while True:
            try:
                try:
                    ev = next(stream)
                except StopIteration:
                    break
                # Kept in memory first (a Ctrl-C while it is shown must not lose it), shown,
                # then saved: what is on disk is always a prefix of what the user has seen.
                if isinstance(ev, ReasoningEvent):
                    writer.append_reasoning(ev.text, hold=True)
                elif isinstance(ev, ContentEvent | PreambleEvent):
                    # A preamble is text the user reads before tool calls: part of the answer.
                    writer.append_content(ev.text, hold=True)
                elif isinstance(ev, ToolCallEvent):
                    writer.add_tool_call(
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
                writer.release()
            except KeyboardInterrupt:
                # First Ctrl-C: cancel; the reply still ends with done(cancelled) and its text.
                # A second one stops waiting.
                if outcome.interrupted:
                    status = "cancelled"
                    break
                outcome.interrupted = True
                client.cancel()
    finally:
        # Also on an exception from on_event or the client: the engine is told to stop (closing
        # its stream cancels the reply) and the row is finished, text kept.
        close = getattr(stream, "close", None)
        if close is not None:
            close()
        outcome.status = status
        outcome.content, outcome.reasoning = writer.content, writer.reasoning
        outcome.tool_calls = list(writer.tool_calls)
        try:
            writer.finish(
                status,
                stats=outcome.stats.to_dict() if outcome.stats else None,
                error=outcome.error.message if outcome.error else None,
            )
        except StoreError as exc:
            outcome.save_error = exc
    if outcome.save_error is None and writer.save_error is not None:
        outcome.save_error = writer.save_error
    return outcome


def run_turn(
    store: Store,
    client: EngineClient,
    conversation_id: int,
    text: str | None = None,
    *,
    edit: int | None = None,
    regenerate: int | None = None,
    sampling: SamplingOptions | None = None,
    on_event: EventCallback | None = None,
) -> TurnOutcome:
    """``prepare_turn`` + ``stream_turn``: one whole turn, for the CLI."""
    info = client.model_info
    turn = prepare_turn(
        store,
        conversation_id,
        text,
        edit=edit,
        regenerate=regenerate,
        model=info.name if info and info.name else None,
        sampling=sampling,
    )
    return stream_turn(store, client, turn, on_event=on_event)
