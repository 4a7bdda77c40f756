"""``POST /v1/responses`` (and ``GET /v1/responses/{id}``): enough of the Responses API for
Codex CLI's ``wire_api = "responses"`` and the ``openai`` SDK's ``client.responses``.

Output items in the order the model wrote them: ``reasoning`` (its text as ``reasoning_text``
content), ``message`` (``output_text``), ``function_call`` (or ``custom_tool_call`` for a
freeform tool). Streaming sends ``response.created``, ``response.in_progress``, then per item
``response.output_item.added``, its deltas (``response.reasoning_text.delta``,
``response.output_text.delta``, ``response.function_call_arguments.delta``) and
``response.output_item.done``, and finally ``response.completed`` (``response.incomplete`` when
the token limit cut it, ``response.failed`` on an engine error).

Stored responses (``store``, the default) are kept in memory, the newest ``keep_responses`` of
them, so a follow-up can name its ``previous_response_id`` instead of resending the history.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from app.chat import TurnOutcome
from app.engine.events import (
    ContentEvent,
    EngineEvent,
    ErrorEvent,
    PreambleEvent,
    PrefillEvent,
    ReasoningEvent,
    ToolCallEvent,
)
from app.server import http
from app.server.bridge import ReplyRun
from app.server.errors import APIError, from_engine
from app.server.fields import get_str, parse_body
from app.server.openai_out import function_name, new_id, responses_usage
from app.server.responses_in import ResponsesPlan, responses_plan
from app.server.state import ServerState

log = logging.getLogger("hearth.server")

KEEPALIVE_S = 10.0


class ResponseStore:
    """The newest stored responses: id -> (the response, the conversation up to it)."""

    def __init__(self, keep: int) -> None:
        self.keep = max(1, keep)
        self._items: OrderedDict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, response: dict[str, Any], items: list[dict[str, Any]]) -> None:
        with self._lock:
            self._items[response["id"]] = (response, items)
            self._items.move_to_end(response["id"])
            while len(self._items) > self.keep:
                self._items.popitem(last=False)

    def get(self, rid: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        with self._lock:
            return self._items.get(rid)


class OutputBuilder:
    """Engine events -> output items, and the streaming events that build them."""

    def __init__(self, custom: set[str]) -> None:
        self.custom = custom
        self.items: list[dict[str, Any]] = []
        self._open: dict[str, Any] | None = None
        self._text: list[str] = []

    def _close(self) -> list[tuple[str, dict[str, Any]]]:
        item, self._open = self._open, None
        if item is None:
            return []
        text = "".join(self._text)
        self._text = []
        index = len(self.items) - 1
        if item["type"] == "reasoning":
            item["content"] = [{"type": "reasoning_text", "text": text}]
            done = ("response.reasoning_text.done", {"content_index": 0, "text": text})
        else:
            part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
            item["content"] = [part]
            done = ("response.output_text.done", {"content_index": 0, "text": text})
        item["status"] = "completed"
        out = [(done[0], {"item_id": item["id"], "output_index": index, **done[1]})]
        if item["type"] == "message":
            out.append(
                (
                    "response.content_part.done",
                    {
                        "item_id": item["id"],
                        "output_index": index,
                        "content_index": 0,
                        "part": item["content"][0],
                    },
                )
            )
        out.append(("response.output_item.done", {"output_index": index, "item": item}))
        return out

    def _start(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        events = self._close()
        if kind == "reasoning":
            item: dict[str, Any] = {
                "type": "reasoning",
                "id": new_id("rs_"),
                "summary": [],
                "content": [],
                "status": "in_progress",
            }
        else:
            item = {
                "type": "message",
                "id": new_id("msg_"),
                "status": "in_progress",
                "role": "assistant",
                "content": [],
            }
        self.items.append(item)
        self._open = item
        index = len(self.items) - 1
        events.append(("response.output_item.added", {"output_index": index, "item": dict(item)}))
        if kind == "message":
            part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            events.append(
                (
                    "response.content_part.added",
                    {
                        "item_id": item["id"],
                        "output_index": index,
                        "content_index": 0,
                        "part": part,
                    },
                )
            )
        return events

    def feed(self, ev: EngineEvent) -> list[tuple[str, dict[str, Any]]]:
        if isinstance(ev, ReasoningEvent | ContentEvent | PreambleEvent) and ev.text:
            kind = "reasoning" if isinstance(ev, ReasoningEvent) else "message"
            events = [] if self._open and self._open["type"] == kind else self._start(kind)
            self._text.append(ev.text)
            name = (
                "response.reasoning_text.delta"
                if kind == "reasoning"
                else ("response.output_text.delta")
            )
            index = len(self.items) - 1
            extra: dict[str, Any] = {} if kind == "reasoning" else {"logprobs": []}
            events.append(
                (
                    name,
                    {
                        "item_id": self.items[-1]["id"],
                        "output_index": index,
                        "content_index": 0,
                        "delta": ev.text,
                        **extra,
                    },
                )
            )
            return events
        if isinstance(ev, ToolCallEvent):
            return self._call(ev)
        return []

    def _call(self, ev: ToolCallEvent) -> list[tuple[str, dict[str, Any]]]:
        events = self._close()
        name = function_name(ev.recipient)
        call_id = new_id("call_")
        if name in self.custom:
            try:
                value = json.loads(ev.arguments).get("input", "")
            except (ValueError, AttributeError):
                value = ev.arguments
            item: dict[str, Any] = {
                "type": "custom_tool_call",
                "id": new_id("ctc_"),
                "call_id": call_id,
                "name": name,
                "input": str(value),
                "status": "completed",
            }
        else:
            item = {
                "type": "function_call",
                "id": new_id("fc_"),
                "call_id": call_id,
                "name": name,
                "arguments": ev.arguments,
                "status": "completed",
            }
        self.items.append(item)
        index = len(self.items) - 1
        added = {**item, "status": "in_progress"}
        if item["type"] == "function_call":
            added["arguments"] = ""
        events.append(("response.output_item.added", {"output_index": index, "item": added}))
        if item["type"] == "function_call":
            events.append(
                (
                    "response.function_call_arguments.delta",
                    {"item_id": item["id"], "output_index": index, "delta": ev.arguments},
                )
            )
            events.append(
                (
                    "response.function_call_arguments.done",
                    {"item_id": item["id"], "output_index": index, "arguments": ev.arguments},
                )
            )
        events.append(("response.output_item.done", {"output_index": index, "item": item}))
        return events

    def finish(self) -> list[tuple[str, dict[str, Any]]]:
        return self._close()


def _response(
    rid: str,
    model: str,
    plan: ResponsesPlan,
    status: str,
    created: int,
    output: list[dict[str, Any]],
    outcome: TurnOutcome | None,
) -> dict[str, Any]:
    incomplete = status == "incomplete"
    return {
        "id": rid,
        "object": "response",
        "created_at": created,
        "status": status,
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
        "model": model,
        "output": output,
        "usage": responses_usage(outcome.stats) if outcome else None,
        "store": plan.store,
        "truncation": "disabled",
        **plan.echo,
        **({"completed_at": int(time.time())} if status == "completed" else {}),
    }


def _status(outcome: TurnOutcome) -> str:
    reason = outcome.stats.stop_reason if outcome.stats else "return"
    return "incomplete" if reason in ("max_tokens", "context_full") else "completed"


async def create_response(request: Request) -> Response:
    state: ServerState = request.app.state.hearth
    store: ResponseStore = request.app.state.responses
    body = parse_body(await http.read_body(request, state.config.max_body_bytes))
    model = state.resolve_model(get_str(body, "model", required=True) or "")
    history: list[dict[str, Any]] = []
    previous = get_str(body, "previous_response_id")
    if previous:
        found = store.get(previous)
        if found is None:
            raise APIError(
                404,
                f"Previous response with id '{previous}' not found. This server keeps the "
                f"newest {store.keep} responses in memory, until it stops; send the whole "
                "conversation in 'input' instead.",
                param="previous_response_id",
                code="previous_response_not_found",
            )
        history = found[1]
    plan = responses_plan(body, history)
    state.prepare(plan.request, body)
    state.count_request()
    rid = new_id("resp_")
    if state.config.verbose:
        log.info("%s request: %s", rid, body)
    run = ReplyRun(state.engine, plan.request, rid)
    run.start()
    created = int(time.time())
    builder = OutputBuilder(plan.custom)
    if plan.stream:
        return await _stream(request, state, store, run, plan, builder, rid, model, created)

    async def collect() -> None:
        async for ev in run.events():
            builder.feed(ev)

    try:
        await http.unless_gone(request, collect())
    except http.ClientGone:
        log.info("%s: the client left; reply stopped", rid)
        return Response(status_code=499)
    builder.finish()
    outcome = run.outcome or TurnOutcome(status="error")
    if outcome.error is not None:
        raise from_engine(outcome.error.kind, outcome.error.message)
    response = _response(rid, model, plan, _status(outcome), created, builder.items, outcome)
    _keep(store, plan, response)
    _log(rid, outcome)
    return JSONResponse(response)


def _keep(store: ResponseStore, plan: ResponsesPlan, response: dict[str, Any]) -> None:
    if plan.store:
        store.put(response, plan.items + list(response["output"]))


def _log(rid: str, outcome: TurnOutcome) -> None:
    s = outcome.stats
    if s is not None:
        log.info(
            "%s: %d input tokens (%d cached), %d generated, %s",
            rid,
            s.prompt_tokens,
            s.cached_tokens,
            s.generated_tokens,
            s.stop_reason,
        )


async def _stream(
    request: Request,
    state: ServerState,
    store: ResponseStore,
    run: ReplyRun,
    plan: ResponsesPlan,
    builder: OutputBuilder,
    rid: str,
    model: str,
    created: int,
) -> Response:
    try:
        events, first = await http.opening(request, run)
    except http.ClientGone:
        log.info("%s: the client left while waiting; request dropped", rid)
        return Response(status_code=499)

    async def body() -> AsyncIterator[bytes]:
        seq = 0

        def emit(name: str, payload: dict[str, Any]) -> bytes:
            nonlocal seq
            seq += 1
            return http.event(name, {"type": name, "sequence_number": seq, **payload})

        def snapshot(status: str, outcome: TurnOutcome | None = None) -> dict[str, Any]:
            return _response(rid, model, plan, status, created, list(builder.items), outcome)

        failed: ErrorEvent | None = None
        try:
            yield emit("response.created", {"response": snapshot("in_progress")})
            yield emit("response.in_progress", {"response": snapshot("in_progress")})
            pending = [first] if first is not None else []
            alive = time.monotonic()
            async for ev in _chain(pending, events):
                if isinstance(ev, ErrorEvent):
                    failed = ev
                elif isinstance(ev, PrefillEvent) and time.monotonic() - alive > KEEPALIVE_S:
                    # A long prompt: an event now and then, so a client's idle timeout (Codex
                    # reads events, not bytes) does not give up while the prompt is read.
                    alive = time.monotonic()
                    yield emit("response.in_progress", {"response": snapshot("in_progress")})
                for name, payload in builder.feed(ev):
                    yield emit(name, payload)
            for name, payload in builder.finish():
                yield emit(name, payload)
            outcome = run.outcome or TurnOutcome(status="error")
            if failed is not None or outcome.error is not None:
                err = failed or outcome.error
                assert err is not None
                final = snapshot("failed", outcome)
                final["error"] = {
                    "code": from_engine(err.kind, err.message).code,
                    "message": err.message,
                }
                yield emit("response.failed", {"response": final})
                return
            status = _status(outcome)
            final = snapshot(status, outcome)
            _keep(store, plan, final)
            name = "response.completed" if status == "completed" else "response.incomplete"
            yield emit(name, {"response": final})
            _log(rid, outcome)
        finally:
            if run.outcome is None:
                log.info("%s: the client left mid-stream; reply stopped", rid)
            await events.aclose()

    return StreamingResponse(body(), media_type="text/event-stream", headers=http.SSE_HEADERS)


async def _chain(
    first: list[EngineEvent], rest: AsyncIterator[EngineEvent]
) -> AsyncIterator[EngineEvent]:
    for ev in first:
        yield ev
    async for ev in rest:
        yield ev


async def get_response(request: Request) -> Response:
    store: ResponseStore = request.app.state.responses
    rid = request.path_params["response_id"]
    found = store.get(rid)
    if found is None:
        raise APIError(404, f"No response with id '{rid}' is kept here.", code="not_found")
    return JSONResponse(found[0])
