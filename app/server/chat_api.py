"""``POST /v1/chat/completions``: streamed (SSE, ending in ``[DONE]``) or whole.

Deltas: ``reasoning_content``/``reasoning`` for the analysis channel, ``content`` for the answer
(and a preamble before tool calls), ``tool_calls`` with an id, the function name and the whole
arguments in one delta per call (the engine reports a call once it is complete). With
``stream_options.include_usage`` every chunk has ``"usage": null`` and a last chunk with no
choices carries the usage, as OpenAI sends it.
"""

from __future__ import annotations

import logging
import time
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
from app.server.errors import from_engine
from app.server.fields import get_str, parse_body
from app.server.openai_in import Plan, chat_plan
from app.server.openai_out import (
    Call,
    StopFilter,
    calls_of,
    chat_usage,
    finish_reason,
    function_name,
    new_id,
)
from app.server.state import ServerState

log = logging.getLogger("hearth.server")


async def chat_completions(request: Request) -> Response:
    state: ServerState = request.app.state.hearth
    body = parse_body(await http.read_body(request, state.config.max_body_bytes))
    model = state.resolve_model(get_str(body, "model", required=True) or "")
    plan = chat_plan(body)
    state.prepare(plan.request, body)
    state.count_request()
    cid = new_id("chatcmpl-")
    if state.config.verbose:
        log.info("%s request: %s", cid, body)
    run = ReplyRun(state.engine, plan.request, cid)
    run.start()
    t0 = time.perf_counter()
    if plan.stream:
        return await _stream(request, state, run, plan, cid, model, t0)
    try:
        text, reasoning, stopped = await http.unless_gone(request, _collect(run, plan))
    except http.ClientGone:
        log.info("%s: the client left; reply stopped", cid)
        return Response(status_code=499)
    outcome = run.outcome or TurnOutcome(status="error")
    if outcome.error is not None:
        raise from_engine(outcome.error.kind, outcome.error.message)
    calls = calls_of(outcome)
    message: dict[str, Any] = {
        "role": "assistant",
        "content": text if text or not calls else None,
        "refusal": None,
    }
    if reasoning:
        message["reasoning_content"] = message["reasoning"] = reasoning
    if calls:
        message["tool_calls"] = [_call(c) for c in calls]
    _log_done(state, cid, outcome, t0, stream=False, reply=text)
    return JSONResponse(
        {
            "id": cid,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": state.fingerprint,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": finish_reason(outcome, stopped=stopped, calls=bool(calls)),
                }
            ],
            "usage": chat_usage(outcome.stats),
        }
    )


async def _collect(run: ReplyRun, plan: Plan) -> tuple[str, str, bool]:
    stop = StopFilter(plan.stops)
    text: list[str] = []
    reasoning: list[str] = []
    events = run.events()
    async for ev in events:
        if isinstance(ev, ContentEvent | PreambleEvent):
            text.append(stop.feed(ev.text))
            if stop.matched:
                run.stop()
                break
        elif isinstance(ev, ReasoningEvent):
            reasoning.append(ev.text)
    await events.aclose()
    await run.finish()
    text.append(stop.flush())
    return "".join(text), "".join(reasoning), stop.matched


def _call(c: Call, index: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": c.id,
        "type": "function",
        "function": {"name": c.name, "arguments": c.arguments},
    }
    if index is not None:
        out = {"index": index, **out}
    return out


async def _stream(
    request: Request,
    state: ServerState,
    run: ReplyRun,
    plan: Plan,
    cid: str,
    model: str,
    t0: float,
) -> Response:
    try:
        events, first = await http.opening(request, run)
    except http.ClientGone:
        log.info("%s: the client left while waiting; request dropped", cid)
        return Response(status_code=499)
    created = int(time.time())
    usage_null = {"usage": None} if plan.include_usage else {}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        return http.data(
            {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": state.fingerprint,
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                ],
                **usage_null,
            }
        )

    async def body() -> AsyncIterator[bytes]:
        stop = StopFilter(plan.stops)
        calls: list[Call] = []
        shown: list[str] = []
        failed: ErrorEvent | None = None

        def convert(ev: EngineEvent | None) -> bytes | None:
            nonlocal failed
            if isinstance(ev, ReasoningEvent) and ev.text:
                return chunk({"reasoning_content": ev.text, "reasoning": ev.text})
            if isinstance(ev, ContentEvent | PreambleEvent):
                text = stop.feed(ev.text)
                if stop.matched:
                    run.stop()
                if text:
                    if state.config.verbose:
                        shown.append(text)
                    return chunk({"content": text})
            elif isinstance(ev, ToolCallEvent):
                call = Call(new_id("call_"), function_name(ev.recipient), ev.arguments)
                calls.append(call)
                return chunk({"tool_calls": [_call(call, len(calls) - 1)]})
            elif isinstance(ev, ErrorEvent):
                failed = ev
            elif isinstance(ev, PrefillEvent):
                # A long prompt takes a while: a comment keeps the connection visibly alive.
                return http.comment(f"prefill {ev.evaluated}/{ev.total}")
            return None

        try:
            yield chunk({"role": "assistant", "content": "", "refusal": None})
            out = convert(first)
            if out:
                yield out
            async for ev in events:
                out = convert(ev)
                if out:
                    yield out
            tail = stop.flush()
            if tail:
                yield chunk({"content": tail})
            outcome = run.outcome or TurnOutcome(status="error")
            if failed is not None:
                yield http.data(from_engine(failed.kind, failed.message).body())
                log.info("%s failed: %s", cid, failed.message)
                return
            reason = finish_reason(outcome, stopped=stop.matched, calls=bool(calls))
            yield chunk({}, reason)
            if plan.include_usage:
                yield http.data(
                    {
                        "id": cid,
                        "object": "chat.completion.chunk",
                        "created": created,
                        "model": model,
                        "system_fingerprint": state.fingerprint,
                        "choices": [],
                        "usage": chat_usage(outcome.stats),
                    }
                )
            yield http.DONE
            _log_done(state, cid, outcome, t0, stream=True, reply="".join(shown))
        finally:
            if run.outcome is None:
                log.info("%s: the client left mid-stream; reply stopped", cid)
            await events.aclose()

    return StreamingResponse(body(), media_type="text/event-stream", headers=http.SSE_HEADERS)


def _log_done(
    state: ServerState, rid: str, outcome: TurnOutcome, t0: float, *, stream: bool, reply: str
) -> None:
    s = outcome.stats
    if s is None:
        return
    log.info(
        "%s %s: %d prompt tokens (%d cached), %d generated, %.2f s, %s",
        rid,
        "streamed" if stream else "answered",
        s.prompt_tokens,
        s.cached_tokens,
        s.generated_tokens,
        time.perf_counter() - t0,
        s.stop_reason,
    )
    if state.config.verbose:
        log.info("%s reply: %s", rid, reply)
