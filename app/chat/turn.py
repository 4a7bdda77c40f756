"""One turn: the reply, and the tool calls it makes, until a final answer.

A turn streams a reply (``stream_reply``). When the model ends a message with a tool call
(``<|call|>``), the turn runs the tool (``app.chat.tools``), adds the call and its result to the
request as Harmony messages and asks the engine to go on, in the same turn, until a final answer,
a Stop, an error or the call limit. The turn's analysis stays in the prompt between calls
(Harmony drops it only once the turn has its final answer), and the engine's prefix reuse means
each continuation evaluates only what was added.

Saved turns keep every step as a row of the store's tree: an assistant row per reply segment
(its reasoning, its preamble or answer, its call), a tool row per result (``content`` is what
the model read, ``tool_result`` the whole result). ``prepare_turn`` builds the request before it
creates any row, so a failure there leaves nothing behind; the GUI calls it on its thread (the
view shows the rows at once) and ``stream_turn`` on its worker thread. ``run_turn`` does both.
``run_unsaved`` is the same turn kept in memory (``hearth chat --no-save``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from app.attachments import AttachmentRef, message_text
from app.chat.forget import kv_key
from app.chat.history import (
    harmony_history,
    prompt_settings,
    reasoning_budget,
    sampling_options,
    segment_messages,
)
from app.chat.reply import EventCallback, Recorder, ReplyBuffer, TurnControl, TurnOutcome
from app.chat.reply import stream_reply as _stream_reply
from app.chat.tools import TurnTools, call_from_dict, result_event, run_call
from app.engine.backend import Engine
from app.engine.options import SamplingOptions
from app.engine.protocol import GenerateRequest
from app.harmony import Message
from app.store import InvalidRequestError, Store, StoreError, StreamingWriter
from app.store import Message as StoredMessage
from app.store.streaming import SAVE_INTERVAL
from app.tools.base import ToolCall, ToolResult, result_message

# A testing and benchmark aid: called with each request of a turn just before it is sent (the
# first, then one per continuation after a tool call), e.g. to set ``script`` for an exact reply.
RequestHook = Callable[[GenerateRequest], None]


@dataclass
class PreparedTurn:
    """The rows a turn has created and the request it will send."""

    conversation_id: int
    user_message: StoredMessage | None  # None when regenerating or answering an existing message
    assistant_message: StoredMessage  # status 'streaming', empty
    request: GenerateRequest


class _Transcript(Protocol):
    """Where a turn's steps are kept: the store's tree, or memory only."""

    def recorder(self) -> Recorder: ...

    def begin_tool(self, call: ToolCall) -> None: ...

    def end_tool(self, call: ToolCall, result: ToolResult, stopped: bool) -> None: ...

    def next_segment(self) -> None: ...


class _Memory:
    def recorder(self) -> Recorder:
        return ReplyBuffer()

    def begin_tool(self, call: ToolCall) -> None:
        pass

    def end_tool(self, call: ToolCall, result: ToolResult, stopped: bool) -> None:
        pass

    def next_segment(self) -> None:
        pass


class _Saved:
    """Rows in the store: the turn's current assistant row, then a tool row per call."""

    def __init__(self, store: Store, turn: PreparedTurn, save_interval: float) -> None:
        self.store = store
        self.turn = turn
        self.interval = save_interval
        self.row = turn.assistant_message.id
        self.tool_row: int | None = None

    def recorder(self) -> Recorder:
        return StreamingWriter(self.store, self.row, interval=self.interval)

    def begin_tool(self, call: ToolCall) -> None:
        # Created before the tool runs: an app killed mid-run leaves it 'streaming', and the
        # next start marks it interrupted.
        self.tool_row = self.store.add_message(
            self.turn.conversation_id,
            "tool",
            parent_id=self.row,
            name=call.recipient,
            status="streaming",
        ).id

    def end_tool(self, call: ToolCall, result: ToolResult, stopped: bool) -> None:
        assert self.tool_row is not None
        self.store.update_message(
            self.tool_row,
            content=result.text,
            status="cancelled" if stopped else "done",
            error=result.error or None,
            tool_result=result.to_dict(),
            touch_conversation=True,
        )

    def next_segment(self) -> None:
        assert self.tool_row is not None
        self.row = self.store.add_message(
            self.turn.conversation_id,
            "assistant",
            parent_id=self.tool_row,
            status="streaming",
            model=self.turn.assistant_message.model,
        ).id


def _run(
    engine: Engine,
    request: GenerateRequest,
    transcript: _Transcript,
    *,
    control: TurnControl,
    on_event: EventCallback | None,
    tools: TurnTools | None,
    before_send: RequestHook | None,
) -> TurnOutcome:
    """The tool loop over ``stream_reply``; returns the turn's outcome (the last segment's
    status and stats, every segment's text)."""
    if tools is not None:
        request.settings = tools.host.apply(request.settings)
    contents: list[str] = []
    reasonings: list[str] = []
    calls: list[dict[str, Any]] = []
    results: list[ToolResult] = []
    note = ""
    while True:
        if before_send is not None:
            before_send(request)
        part = _stream_reply(
            engine, request, control=control, on_event=on_event, recorder=transcript.recorder()
        )
        contents.append(part.content)
        reasonings.append(part.reasoning)
        calls.extend(part.tool_calls)
        ended_in_call = (
            part.status == "done"
            and part.stats is not None
            and part.stats.stop_reason == "call"
            and bool(part.tool_calls)
        )
        if tools is None or not ended_in_call or part.save_error is not None:
            break
        if len(results) > tools.max_calls:
            # Told it has no calls left, it called again: end here rather than loop forever.
            note = f"The model kept calling tools after the limit of {tools.max_calls} a turn."
            break
        call = call_from_dict(part.tool_calls[-1])
        try:
            transcript.begin_tool(call)
            result = run_call(tools, call, control.stop_event, calls_so_far=len(results))
            results.append(result)
            transcript.end_tool(call, result, control.stopped)
        except StoreError as exc:
            part.save_error = exc
            break
        if on_event is not None:
            on_event(result_event(call, result))
        if control.stopped:
            # Stop during the run: the run was killed; the turn ends with what exists.
            part.status = "cancelled"
            break
        request.messages.extend(
            [
                *segment_messages(part.reasoning, part.content, part.tool_calls, final=False),
                result_message(call, result),
            ]
        )
        try:
            transcript.next_segment()
        except StoreError as exc:
            part.save_error = exc
            break
    part.content = "".join(contents)
    part.reasoning = "".join(reasonings)
    part.tool_calls = calls
    part.tool_results = results
    part.note = note
    return part


def run_unsaved(
    engine: Engine,
    request: GenerateRequest,
    *,
    control: TurnControl | None = None,
    on_event: EventCallback | None = None,
    tools: TurnTools | None = None,
    before_send: RequestHook | None = None,
) -> TurnOutcome:
    """A whole turn kept in memory (``hearth chat --no-save``; the API server, which leaves tool
    calls to its client, calls ``stream_reply`` directly)."""
    return _run(
        engine,
        request,
        _Memory(),
        control=control or TurnControl(),
        on_event=on_event,
        tools=tools,
        before_send=before_send,
    )


def prepare_turn(
    store: Store,
    conversation_id: int,
    text: str | None = None,
    *,
    edit: int | None = None,
    regenerate: int | None = None,
    model: str | None = None,
    sampling: SamplingOptions | None = None,
    attachments: Sequence[AttachmentRef] | None = None,
) -> PreparedTurn:
    """Build the turn's request, then create its rows.

    - ``text``: a new user message after the active leaf.
    - ``edit=ID, text=...``: the user message ID edited (a new sibling; the old one stays).
    - ``regenerate=ID``: a new reply beside assistant message ID (or to user message ID).
    - nothing: answer the active leaf (e.g. after a failed reply).
    ``sampling`` overrides the chat's stored sampling for this turn only. ``attachments`` go
    with the new user message (planned already: ``app.chat.documents``); an edit keeps the
    original's unless given. A message with attachments may have no text. Raises StoreError
    (InvalidRequestError for a request that makes no sense) before anything is written.
    """
    conv = store.get_conversation(conversation_id)
    new_text: str | None = None
    refs = list(attachments or [])
    if edit is not None:
        original = store.get_message(edit)
        if original.role != "user" or original.conversation_id != conversation_id:
            raise InvalidRequestError(
                f"Message {edit} is not a user message of conversation {conversation_id}."
            )
        if attachments is None:
            refs = [AttachmentRef.from_dict(d) for d in original.attachments or []]
        if text is None or not (text.strip() or refs):
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
        if not text.strip() and not refs:
            raise InvalidRequestError("The message is empty.", "Type something to send.")
        parent_id, new_text = conv.active_leaf_id, text
    else:
        if conv.active_leaf_id is None:
            raise InvalidRequestError("There is nothing to answer yet.", "Type a message.")
        parent_id = conv.active_leaf_id
    history = harmony_history(store.path_to(parent_id) if parent_id is not None else [])
    if new_text is not None:
        history.append(Message("user", message_text(new_text, refs) if refs else new_text))
    request = GenerateRequest(
        messages=history,
        settings=prompt_settings(conv.settings),
        sampling=sampling or sampling_options(conv.settings),
        reasoning_budget=reasoning_budget(conv.settings),
        kv_key=kv_key(conversation_id),  # the engine keeps the chat's KV state on disk
    )
    user: StoredMessage | None = None
    if new_text is not None:
        user = store.add_message(
            conversation_id,
            "user",
            new_text,
            parent_id=parent_id,
            attachments=[r.to_dict() for r in refs] or None,
        )
        parent_id = user.id
        if not conv.title and not new_text.strip() and refs:
            store.rename(conversation_id, refs[0].name)  # a file sent without a word
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
    tools: TurnTools | None = None,
    before_send: RequestHook | None = None,
    save_interval: float = SAVE_INTERVAL,
) -> TurnOutcome:
    """Stream the reply for a prepared turn (and its tool calls), saving as it grows."""
    outcome = _run(
        engine,
        turn.request,
        _Saved(store, turn, save_interval),
        control=control or TurnControl(),
        on_event=on_event,
        tools=tools,
        before_send=before_send,
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
    attachments: Sequence[AttachmentRef] | None = None,
    control: TurnControl | None = None,
    on_event: EventCallback | None = None,
    tools: TurnTools | None = None,
    before_send: RequestHook | None = None,
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
        attachments=attachments,
    )
    return stream_turn(
        store,
        engine,
        turn,
        control=control,
        on_event=on_event,
        tools=tools,
        before_send=before_send,
    )
