"""``RemoteEngine``: the ``Engine`` the turn path drives, over an OpenAI-compatible server.

    engine = RemoteEngine.open("gpu-box")          # a saved connection and its key
    for event in engine.stream(request):           # the same events the local engine sends
        ...

It sends the conversation to ``BASE/chat/completions`` (``stream: true``, usage included),
reads the server-sent events with httpx and turns them into engine events
(``app.remote.deltas``). What it measures itself: time to first token (from sending the request)
and tokens per second (the server's ``usage`` count over the time between the first and last
piece of text). Failures end the stream with an ``ErrorEvent`` whose message names the server and
the way out (``app.remote.failures``); the turn path keeps what arrived.

Stop is immediate: ``cancel()`` (or the turn's cancel event with ``cancel()``) shuts the socket
down under the reading thread, and a request still connecting is abandoned. A 429 or 503 before
the reply starts is retried, waiting what the server's ``Retry-After`` asks (up to 30 s a try).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from app import __version__
from app.engine.errors import EngineError
from app.engine.events import (
    ContentEvent,
    DoneEvent,
    EngineEvent,
    ErrorEvent,
    GenerationStats,
    ModelInfo,
    PreambleEvent,
    ReasoningEvent,
    ToolCallEvent,
)
from app.engine.protocol import GenerateRequest
from app.harmony import ToolNamespace
from app.remote.connections import Connection, RemoteError, Remotes
from app.remote.deltas import (
    HARMONY,
    PLAIN,
    REASONING,
    REASONING_CONTENT,
    MalformedChunk,
    ReplyReader,
    ServerStreamError,
)
from app.remote.failures import Explain, retry_after
from app.remote.keys import KeyStoreError
from app.remote.wire import builtin_calls, chat_body

MAX_RETRIES = 3  # 429/503 before the first byte
MAX_RETRY_WAIT = 30.0  # a server that asks for longer gets "try again later" at once
MAX_ERROR_BODY = 64 * 1024
_TEXT_EVENTS = (ReasoningEvent, ContentEvent, PreambleEvent, ToolCallEvent)
_STOP_REASONS = {"stop": "return", "length": "max_tokens", "tool_calls": "call"}

Learned = Callable[..., None]


class _Call:
    """One request in flight: what Stop needs to end it at once."""

    def __init__(self, cancel: threading.Event | None) -> None:
        self.turn_cancel = cancel
        self.event = threading.Event()
        self.lock = threading.Lock()
        self.response: Any = None
        self.wake: threading.Event | None = None  # set when a pending send should stop waiting

    @property
    def stopped(self) -> bool:
        return self.event.is_set() or (self.turn_cancel is not None and self.turn_cancel.is_set())

    def stop(self) -> None:
        with self.lock:
            self.event.set()
            response, wake = self.response, self.wake
        if wake is not None:
            wake.set()
        if response is not None:
            _shutdown(response)


def _shutdown(response: Any) -> None:
    """Wake a thread blocked reading this response: shut its socket down (closing it from
    another thread would not interrupt the read). The base-class call leaves TLS state alone."""
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


class RemoteEngine:
    def __init__(
        self,
        connection: Connection,
        *,
        api_key: str | None = None,
        on_learned: Learned | None = None,
    ) -> None:
        self.connection = connection
        self._key = api_key or None
        self._on_learned = on_learned
        self._http: Any = None
        self._lock = threading.Lock()
        self._calls: set[_Call] = set()
        self._closed = False
        self.explain = Explain(connection.name, connection.base_url, connection.model, self._key)
        self.model_info: ModelInfo | None = self._info(0)

    @classmethod
    def open(cls, name: str, remotes: Remotes | None = None) -> RemoteEngine:
        """The saved connection ``name`` with its key; what is learned about the server is
        saved back. Raises RemoteError (or keys.KeyStoreError) naming the problem."""
        remotes = remotes or Remotes()
        conn = remotes.get(name)
        key = remotes.api_key(conn)
        if conn.has_key and not key:
            raise RemoteError(
                f"The API key of '{name}' is missing from the "
                f"{'system keyring' if conn.key_storage == 'keyring' else 'key file'}. Add it "
                f"again: `hearth remotes add {name} {conn.base_url} --api-key-stdin`."
            )
        return cls(conn, api_key=key, on_learned=lambda **kw: remotes.remember(name, **kw))

    @property
    def label(self) -> str:
        return self.connection.label

    # -- HTTP ------------------------------------------------------------------------------------

    def _client(self) -> Any:
        import httpx2

        with self._lock:
            if self._http is None:
                conn = self.connection
                try:
                    verify = _tls_context(conn.ca_bundle, _mtime(conn.ca_bundle))
                except (OSError, ssl.SSLError) as e:
                    raise RemoteError(
                        f"Cannot use the CA bundle {conn.ca_bundle} of '{conn.name}' "
                        f"({getattr(e, 'strerror', None) or e}). Give a PEM file with the "
                        "CA's certificate (--ca-bundle)."
                    ) from None
                headers = {"User-Agent": f"hearth/{__version__}"}
                if self._key:
                    headers["Authorization"] = f"Bearer {self._key}"
                self._http = httpx2.Client(
                    verify=verify,
                    headers=headers,
                    timeout=httpx2.Timeout(conn.stall_timeout, connect=conn.connect_timeout),
                )
            return self._http

    @property
    def is_alive(self) -> bool:
        """Usable (not closed); whether the server answers is known when a request is sent."""
        return not self._closed

    def close(self, timeout: float | None = None) -> None:
        """Stop any reply and close the connections (``timeout``: the local engine's
        signature; nothing here waits)."""
        self._closed = True
        self.cancel()
        with self._lock:
            http, self._http = self._http, None
        if http is not None:
            http.close()

    def list_models(self) -> list[dict[str, Any]]:
        """The server's ``/models`` (id and, where the server says, its context length).
        Raises ``RemoteFailure`` with the ErrorEvent that explains why not."""
        import httpx2

        try:
            http = self._client()
        except RemoteError as e:
            raise RemoteFailure(ErrorEvent("tls", str(e))) from None
        try:
            resp = http.get(f"{self.connection.base_url}/models")
        except httpx2.TimeoutException as e:
            raise RemoteFailure(self.explain.connect_failed(e)) from None
        except httpx2.HTTPError as e:
            raise RemoteFailure(self.explain.connect_failed(e)) from None
        if resp.status_code != 200:
            raise RemoteFailure(
                self.explain.status(resp.status_code, resp.content[:MAX_ERROR_BODY])
            )
        try:
            data = resp.json()
            items = data["data"] if isinstance(data, dict) else data
            models = [_model_entry(m) for m in items if isinstance(m, dict) and m.get("id")]
        except (ValueError, KeyError, TypeError):
            raise RemoteFailure(
                self.explain.malformed("its model list is not JSON", False)
            ) from None
        return models

    def connect(self) -> ModelInfo:
        """Ask the server for its models: fills in the model when the connection names none,
        and the context size where the server tells it. Raises ``RemoteFailure`` (a server
        without a model list is no failure: the chat request is what counts)."""
        try:
            models = self.list_models()
        except RemoteFailure as e:
            if e.event.kind not in ("not_found", "unknown_model"):
                raise
            models = []
        conn = self.connection
        if not conn.model and models:
            conn.model = str(models[0]["id"])
            self.explain.model = conn.model
            if self._on_learned is not None:
                self._on_learned(model=conn.model)
        ctx = next((m.get("context") or 0 for m in models if m["id"] == conn.model), 0)
        self.model_info = self._info(int(ctx))
        return self.model_info

    def _info(self, n_ctx: int) -> ModelInfo:
        """The model as the window's status line and the chats see it: its name on the server,
        and the server as the device it runs on."""
        conn = self.connection
        return ModelInfo(
            path=conn.base_url,
            name=conn.model,
            architecture="remote",
            n_ctx=n_ctx,
            devices=[{"name": conn.name, "description": conn.base_url, "type": "remote"}],
        )

    # -- the Engine interface ------------------------------------------------------------------

    def cancel(self) -> None:
        with self._lock:
            calls = list(self._calls)
        for call in calls:
            call.stop()

    def stream(
        self, request: GenerateRequest, *, cancel: threading.Event | None = None
    ) -> Iterator[EngineEvent]:
        call = _Call(cancel)
        if call.stopped:
            yield DoneEvent(GenerationStats(stop_reason="cancelled"))
            return
        with self._lock:
            self._calls.add(call)
        try:
            yield from self._stream(call, request)
        finally:
            with self._lock:
                self._calls.discard(call)
            with call.lock:
                response, call.response = call.response, None
            if response is not None:
                response.close()

    def _stream(self, call: _Call, request: GenerateRequest) -> Iterator[EngineEvent]:
        conn = self.connection
        fmt = conn.reasoning_format
        body = chat_body(
            request,
            conn.model,
            reasoning_field=fmt if fmt in (REASONING_CONTENT, REASONING) else None,
            extra=conn.extra_body,
        )
        try:
            http = self._client()
        except RemoteError as e:
            yield ErrorEvent("tls", str(e))
            return
        started = time.monotonic()
        waited = 0.0
        for attempt in range(MAX_RETRIES + 1):
            req = http.build_request(
                "POST",
                f"{conn.base_url}/chat/completions",
                content=json.dumps(body, ensure_ascii=False).encode("utf-8"),
                headers={"Content-Type": "application/json", "Accept": "text/event-stream"},
            )
            outcome = self._send(call, http, req)
            if isinstance(outcome, BaseException):
                yield self.explain.connect_failed(outcome)
                return
            if outcome is None:  # stopped while connecting
                yield DoneEvent(GenerationStats(stop_reason="cancelled"))
                return
            code = outcome.status_code
            if code == 200:
                yield from self._read(call, outcome, started, request.settings.builtin_tools)
                return
            data = _read_error_body(outcome)
            if code in (429, 503) and attempt < MAX_RETRIES:
                delay = retry_after(outcome.headers.get("retry-after"))
                if delay is None:
                    delay = float(2**attempt)
                if delay > MAX_RETRY_WAIT:
                    yield self.explain.retry_too_long(code, delay)
                    return
                self._drop(call)
                if call.event.wait(delay) or call.stopped:
                    yield DoneEvent(GenerationStats(stop_reason="cancelled"))
                    return
                waited += delay
                continue
            models = self._model_ids() if code == 404 else None
            yield self.explain.status(code, data, models, waited)
            return

    def _send(self, call: _Call, http: Any, req: Any) -> Any:
        """Send on a helper thread so Stop never waits for a connect or for the headers: the
        response, the exception, or None when stopped first (the thread then closes it)."""
        box: dict[str, Any] = {}
        arrived = threading.Event()
        with call.lock:
            if call.event.is_set():
                return None
            call.wake = arrived

        def send() -> None:
            try:
                box["response"] = http.send(req, stream=True)
            except BaseException as e:
                box["error"] = e
            with call.lock:
                abandoned = call.stopped
                if not abandoned and "response" in box:
                    call.response = box["response"]
            if abandoned and "response" in box:
                box["response"].close()
            arrived.set()

        threading.Thread(target=send, name="remote-send", daemon=True).start()
        arrived.wait()
        with call.lock:
            call.wake = None
            if call.stopped:
                return None
        return box.get("response", box.get("error"))

    def _drop(self, call: _Call) -> None:
        with call.lock:
            response, call.response = call.response, None
        if response is not None:
            response.close()

    def _model_ids(self) -> list[str] | None:
        try:
            return [str(m["id"]) for m in self.list_models()]
        except RemoteFailure:
            return None

    # -- the reply ------------------------------------------------------------------------------

    def _read(
        self, call: _Call, response: Any, started: float, builtins: list[ToolNamespace]
    ) -> Iterator[EngineEvent]:
        import httpx2

        reader = ReplyReader(self.connection.reasoning_format, builtin_calls(builtins))
        clock = _Clock(started)
        kind = response.headers.get("content-type", "").partition(";")[0].strip().lower()
        failure: ErrorEvent | None = None
        finished = False
        try:
            if kind == "application/json":  # a server that ignored stream: true
                yield from clock.mark(reader.feed(json.loads(response.read())))
                finished = True
            elif kind != "text/event-stream":
                failure = self.explain.malformed(f"content type {kind or 'none'}", False)
            else:
                for event, data in sse_events(response.iter_lines()):
                    if call.stopped:  # what was already read after Stop is not shown
                        break
                    if event == "error":
                        raise ServerStreamError(data)
                    if data == "[DONE]":
                        finished = True
                        break
                    if not data.strip():
                        continue
                    yield from clock.mark(reader.feed(json.loads(data)))
                else:
                    finished = reader.finish_reason is not None
        except (ValueError, MalformedChunk) as e:
            if not call.stopped:
                what = "a piece that is not JSON" if isinstance(e, ValueError) else str(e)
                failure = self.explain.malformed(what, clock.first is not None)
        except ServerStreamError as e:
            failure = self.explain.server_said(str(e), clock.first is not None)
        except httpx2.TimeoutException:
            if not call.stopped:
                failure = self.explain.stalled(
                    self.connection.stall_timeout, clock.first is not None
                )
        except Exception as e:  # transport errors; anything once Stop shut the socket down
            if not call.stopped:
                if not isinstance(e, httpx2.HTTPError | httpx2.StreamError | OSError):
                    raise
                failure = self.explain.lost(e, clock.first is not None)
        broken = failure is not None or call.stopped or not finished
        # Text held back (a piece of a control token) is shown unless Stop came first; a tool
        # call cut short is never reported.
        held = reader.finish(calls=not broken)
        if not call.stopped:
            yield from clock.mark(held)
        self._learn(reader)
        if call.stopped:
            yield DoneEvent(self._stats(reader, clock, "cancelled"))
        elif failure is not None:
            yield failure
        elif not finished:
            yield self.explain.lost(None, clock.first is not None)
        else:
            reason = _STOP_REASONS.get(reader.finish_reason or "stop", "return")
            if clock.calls and reason == "return":
                reason = "call"  # servers that say "stop" after tool calls (Ollama)
            yield DoneEvent(self._stats(reader, clock, reason))

    def _learn(self, reader: ReplyReader) -> None:
        found, known = reader.detected, self.connection.reasoning_format
        if not found or found == known or (found == PLAIN and known):
            return
        if found in (REASONING_CONTENT, REASONING, HARMONY, PLAIN):
            self.connection.reasoning_format = found
            if self._on_learned is not None:
                with contextlib.suppress(Exception):  # a read-only config must not fail a reply
                    self._on_learned(reasoning_format=found)

    def _stats(self, reader: ReplyReader, clock: _Clock, reason: str) -> GenerationStats:
        usage = reader.usage or {}
        completion = _int(usage.get("completion_tokens")) or reader.text_deltas
        prompt = _int(usage.get("prompt_tokens"))
        details = usage.get("prompt_tokens_details")
        cached = _int(details.get("cached_tokens")) if isinstance(details, dict) else 0
        span = (clock.last or 0.0) - (clock.first or 0.0)
        info = self.model_info
        return GenerationStats(
            prompt_tokens=prompt,
            cached_tokens=cached,
            generated_tokens=completion,
            generation_tps=(completion - 1) / span if completion > 1 and span > 0 else 0.0,
            ttft_s=(clock.first - clock.started) if clock.first is not None else 0.0,
            context_used=prompt + completion if prompt else 0,
            context_size=info.n_ctx if info is not None else 0,
            stop_reason=reason,
            total_s=time.monotonic() - clock.started,
        )


def start_remote(name: str, remotes: Remotes | None = None) -> RemoteEngine:
    """The saved connection ``name`` as a connected engine (``hearth chat --remote``); raises
    ``EngineError`` with the sentence to show."""
    try:
        engine = RemoteEngine.open(name, remotes)
    except (RemoteError, KeyStoreError) as e:
        raise EngineError("remote", str(e)) from None
    try:
        engine.connect()
    except RemoteFailure as e:
        engine.close()
        raise EngineError(e.event.kind, e.event.message) from None
    return engine


class RemoteFailure(Exception):
    def __init__(self, event: ErrorEvent) -> None:
        super().__init__(event.message)
        self.event = event


class _Clock:
    """When the first and the last piece of the reply arrived."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.first: float | None = None
        self.last: float | None = None
        self.calls = 0

    def mark(self, events: list[EngineEvent]) -> list[EngineEvent]:
        if events:
            now = time.monotonic()
            for ev in events:
                if isinstance(ev, _TEXT_EVENTS):
                    if self.first is None:
                        self.first = now
                    self.last = now
                    if isinstance(ev, ToolCallEvent):
                        self.calls += 1
        return events


def _mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime if path else 0.0
    except OSError:
        return -1.0  # the load below then names the problem


@functools.lru_cache(maxsize=8)
def _tls_context(ca_bundle: str, mtime: float) -> ssl.SSLContext:
    """The verifying TLS context: the system's trust store, or only the CA in ``ca_bundle``
    (made again when that file changes). Made once: loading a trust store takes a good part of
    a second on a slow machine."""
    if ca_bundle:
        return ssl.create_default_context(cafile=ca_bundle)
    import httpx2

    return httpx2.create_ssl_context()


def sse_events(lines: Iterator[str]) -> Iterator[tuple[str, str]]:
    """Server-sent events as (event name, data) from the response's lines: ``data`` lines are
    joined, a blank line ends an event, comments and other fields are skipped."""
    data: list[str] = []
    event = ""
    for line in lines:
        if not line:
            if data:
                yield event, "\n".join(data)
                data, event = [], ""
            continue
        name, _, value = line.partition(":")
        if value[:1] == " ":
            value = value[1:]
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
    if data:
        yield event, "\n".join(data)


def _read_error_body(response: Any) -> bytes:
    data = b""
    with contextlib.suppress(Exception):
        for chunk in response.iter_bytes():
            data += chunk
            if len(data) >= MAX_ERROR_BODY:
                break
    response.close()
    return data[:MAX_ERROR_BODY]


def _model_entry(m: dict[str, Any]) -> dict[str, Any]:
    """A model of ``/models`` with its context length where the server says it: vLLM's
    ``max_model_len``, llama-server's ``meta.n_ctx_train``, LM Studio's ``max_context_length``."""
    meta = m.get("meta")
    if not isinstance(meta, dict):
        meta = {}
    ctx = m.get("max_model_len") or m.get("max_context_length") or meta.get("n_ctx_train") or 0
    return {"id": str(m["id"]), "context": _int(ctx), "owned_by": str(m.get("owned_by") or "")}


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0
