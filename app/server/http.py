"""HTTP plumbing the endpoints share: the body (size-limited), SSE framing, a client that left.

A streaming reply waits for its first engine event before it answers, so a request that fails at
once (the prompt does not fit, the engine is gone) still gets an HTTP error with OpenAI's JSON
rather than a 200 that breaks off; from then on errors arrive as an SSE ``error`` event.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, TypeVar

from starlette.requests import Request

from app.engine.events import EngineEvent, ErrorEvent
from app.server.bridge import ReplyRun
from app.server.errors import APIError, from_engine
from app.server.state import MB

T = TypeVar("T")

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class ClientGone(Exception):
    """The client closed the connection before the answer."""


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(int(declared), limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(size, limit)
        chunks.append(chunk)
    return b"".join(chunks)


def too_large(size: int, limit: int) -> APIError:
    return APIError(
        413,
        f"The request body is {size / MB:.1f} MB; this server takes at most {limit / MB:.0f} MB. "
        "Send a shorter conversation, or start the server with a larger --max-body-mb.",
        code="request_too_large",
    )


def data(obj: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"


def event(name: str, obj: dict[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\n" + data(obj)


def comment(text: str) -> bytes:
    """An SSE comment: clients skip it, but it shows the connection is alive."""
    return b": " + text.encode() + b"\n\n"


DONE = b"data: [DONE]\n\n"


async def _disconnected(request: Request) -> None:
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


async def unless_gone(request: Request, awaitable: Any) -> Any:
    """Await ``awaitable``; raise ClientGone (and cancel it) if the client leaves first."""
    work = asyncio.ensure_future(awaitable)
    gone = asyncio.ensure_future(_disconnected(request))
    try:
        done, _ = await asyncio.wait({work, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
    if work in done:
        return work.result()
    work.cancel()
    raise ClientGone


async def first_item(agen: AsyncIterator[T]) -> T | None:
    try:
        return await agen.__anext__()
    except StopAsyncIteration:
        return None


async def opening(
    request: Request, run: ReplyRun
) -> tuple[AsyncGenerator[EngineEvent, None], EngineEvent | None]:
    """A streamed reply's events and the first of them, before any answer is sent: ClientGone
    if the client left meanwhile, the engine's error as an APIError if it failed at once."""
    events = run.events()
    first = await unless_gone(request, first_item(events))
    if isinstance(first, ErrorEvent):
        await events.aclose()
        raise from_engine(first.kind, first.message)
    return events, first
