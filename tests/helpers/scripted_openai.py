"""A scripted OpenAI-compatible server on 127.0.0.1 (Starlette on uvicorn, in a thread).

It answers ``/v1/models`` and ``/v1/chat/completions`` the way vLLM, llama-server or Ollama do
(each reply is a list of SSE chunks in that server's shape, built by the helpers below), and
misbehaves on demand: drops the connection mid-reply, stalls, sends malformed SSE, answers
503/429 with ``Retry-After``, refuses a wrong key or an unknown model. It keeps every request it
received so a test can check what the client sent. Used by tests/remote and bench/remote.py.

    server = ScriptedServer(api_key="k").start()
    server.script(Reply(chunks=chunks_vllm(reasoning="Hmm.", content="Hi")))
    ... RemoteEngine(Connection("s", server.url, model="gpt-oss-120b", ...)) ...
    server.stop()
"""

from __future__ import annotations

import asyncio
import collections
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

MODEL = "gpt-oss-120b"


@dataclass
class Reply:
    """One answer. ``status`` other than 200 sends ``body`` (JSON) with ``headers``. Otherwise
    ``chunks`` go out as SSE; ``drop_at``/``stall_at`` (a chunk index) cut the connection or
    stop sending (until the server stops) before that chunk; ``rate`` paces the chunks
    (chunks a second, 0: as fast as possible); ``content_type`` replaces text/event-stream."""

    status: int = 200
    chunks: list[str] = field(default_factory=list)
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    drop_at: int | None = None
    stall_at: int | None = None
    rate: float = 0.0
    content_type: str = "text/event-stream"


class _Dropped(Exception):
    pass


def sse(obj: Any) -> str:
    return f"data: {obj if isinstance(obj, str) else json.dumps(obj)}\n\n"


def _chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
    return sse(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": MODEL,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
    )


def usage_chunk(prompt: int, completion: int, cached: int = 0) -> str:
    return sse(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "model": MODEL,
            "choices": [],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
                "prompt_tokens_details": {"cached_tokens": cached},
            },
        }
    )


def pieces(text: str, size: int = 3) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def chunks_fields(
    reasoning: str = "",
    content: str = "",
    *,
    field_name: str = "reasoning_content",
    tool_calls: list[tuple[str, str]] | None = None,
    usage: tuple[int, int] | None = None,
    finish: str | None = None,
    done: bool = True,
) -> list[str]:
    """A reply as vLLM / llama-server (``reasoning_content``) or Ollama / LM Studio
    (``reasoning``) stream it: role, reasoning pieces, content pieces, tool call deltas (name
    first, arguments in pieces), the finish reason, usage, [DONE]."""
    out = [_chunk({"role": "assistant", "content": ""})]
    out += [_chunk({field_name: p}) for p in pieces(reasoning)]
    out += [_chunk({"content": p}) for p in pieces(content)]
    for i, (name, args) in enumerate(tool_calls or []):
        head = {"index": i, "id": f"call_{i}", "type": "function"}
        out.append(_chunk({"tool_calls": [{**head, "function": {"name": name, "arguments": ""}}]}))
        out += [
            _chunk({"tool_calls": [{"index": i, "function": {"arguments": p}}]})
            for p in pieces(args, 4)
        ]
    out.append(_chunk({}, finish or ("tool_calls" if tool_calls else "stop")))
    if usage is not None:
        out.append(usage_chunk(*usage))
    if done:
        out.append(sse("[DONE]"))
    return out


def chunks_harmony(raw: str, size: int = 5) -> list[str]:
    """A server without a reasoning parser: the model's raw Harmony text in ``content``, cut
    into pieces that split control tokens (as a detokenizer's pieces can)."""
    return [
        _chunk({"role": "assistant"}),
        *[_chunk({"content": p}) for p in pieces(raw, size)],
        _chunk({}, "stop"),
        sse("[DONE]"),
    ]


class ScriptedServer:
    def __init__(
        self,
        *,
        api_key: str | None = None,
        models: tuple[str, ...] = (MODEL,),
        ssl_certfile: str | None = None,
        ssl_keyfile: str | None = None,
    ) -> None:
        self.api_key = api_key
        self.models = models
        self.requests: list[dict[str, Any]] = []
        self.arrived = threading.Condition()
        self._replies: collections.deque[Reply] = collections.deque()
        self.default = Reply(chunks=chunks_fields("", "Hi", usage=(10, 1)))  # when none is queued
        self._release = threading.Event()  # ends every stall
        self._ssl = (ssl_certfile, ssl_keyfile)
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        scheme = "https" if ssl_certfile else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}/v1"
        self._server: Any = None
        self._thread: threading.Thread | None = None

    # -- control --------------------------------------------------------------------------------

    def script(self, *replies: Reply) -> None:
        """The next requests get these replies, in order; then a default one ("Hi")."""
        self._replies.extend(replies)

    def wait_requests(self, n: int, timeout: float = 10.0) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.requests) >= n, timeout)

    def start(self) -> ScriptedServer:
        import uvicorn

        config = uvicorn.Config(
            self._app(),
            log_level="critical",
            lifespan="off",
            ssl_certfile=self._ssl[0],
            ssl_keyfile=self._ssl[1],
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        self._sock.close()

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the app --------------------------------------------------------------------------------

    def _app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.responses import JSONResponse, Response, StreamingResponse
        from starlette.routing import Route

        def refused(request: Any) -> Any:
            if self.api_key and request.headers.get("authorization") != f"Bearer {self.api_key}":
                return JSONResponse(
                    {
                        "error": {
                            "message": "Incorrect API key provided: "
                            + (request.headers.get("authorization") or "none"),
                            "type": "invalid_request_error",
                            "code": "invalid_api_key",
                        }
                    },
                    status_code=401,
                )
            return None

        async def models(request: Any) -> Any:
            return refused(request) or JSONResponse(
                {
                    "object": "list",
                    "data": [
                        {"id": m, "object": "model", "owned_by": "vllm", "max_model_len": 131072}
                        for m in self.models
                    ],
                }
            )

        async def chat(request: Any) -> Any:
            body = await request.json()
            with self.arrived:
                self.requests.append({"body": body, "headers": dict(request.headers)})
                self.arrived.notify_all()
            no = refused(request)
            if no is not None:
                return no
            if body.get("model") not in self.models:
                return JSONResponse(
                    {
                        "error": {
                            "message": f"The model `{body.get('model')}` does not exist.",
                            "type": "NotFoundError",
                            "code": 404,
                        }
                    },
                    status_code=404,
                )
            reply = self._replies.popleft() if self._replies else self.default
            if reply.status != 200:
                return Response(
                    json.dumps(reply.body or {"error": {"message": "busy"}}),
                    status_code=reply.status,
                    headers=reply.headers,
                    media_type="application/json",
                )
            return StreamingResponse(
                self._stream(reply), media_type=reply.content_type, headers=reply.headers
            )

        return Starlette(
            routes=[
                Route("/v1/models", models),
                Route("/v1/chat/completions", chat, methods=["POST"]),
            ]
        )

    async def _stream(self, reply: Reply) -> Any:
        started = time.monotonic()
        for i, chunk in enumerate(reply.chunks):
            if reply.stall_at == i:
                await asyncio.to_thread(self._release.wait)
                return
            if reply.drop_at == i:
                raise _Dropped("the connection is cut here")
            if reply.rate:
                ahead = started + i / reply.rate - time.monotonic()
                if ahead > 0:
                    await asyncio.sleep(ahead)
            yield chunk.encode()


def main(argv: list[str] | None = None) -> None:
    """``python -m tests.helpers.scripted_openai CHUNKS``: serve a reply of CHUNKS pieces (3
    characters each, usage included) to every request, as fast as possible, in a process of its
    own (a benchmark must not share the client's interpreter); prints the URL, stops on EOF."""
    import sys

    n = int((argv if argv is not None else sys.argv[1:])[0])
    server = ScriptedServer()
    server.default = Reply(chunks=chunks_fields("", "x" * n * 3, usage=(10, n)))
    server.start()
    print(server.url, flush=True)
    sys.stdin.read()
    server.stop()


if __name__ == "__main__":
    main()
