"""One live session with one MCP server, driven from synchronous code.

The SDK's ``Client`` is an async context manager whose task groups must be entered and left in
the same task, so each server gets one long-lived task on the background loop that opens the
session, lists the tools, and waits to be told to close; calls are made from other tasks on the
same loop. Nothing here raises to the caller for a server's misbehaviour: ``start`` returns
False with ``status`` saying why, ``call`` raises ``McpCallError`` with a sentence (the tool turns
it into a result).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from app import __version__, paths
from app.tools.mcp import loop
from app.tools.settings import McpServerConfig

START_TIMEOUT_S = 30.0
# The SDK logs a traceback for each line a server writes that is not JSON-RPC; the failure
# reaches the user as a status instead.
logging.getLogger("mcp").addHandler(logging.NullHandler())
logging.getLogger("mcp").propagate = False

# The connection whose session task is running: the SDK's reader tasks inherit it, so a log
# record about junk on a server's stdout can be pinned on that server.
_current: contextvars.ContextVar[McpConnection | None] = contextvars.ContextVar(
    "hearth_mcp_connection", default=None
)


class _JunkCatcher(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        connection = _current.get()
        if connection is None or "Failed to parse" not in record.getMessage():
            return
        exc = record.exc_info[1] if record.exc_info else None
        junk = ""
        errors = getattr(exc, "errors", None)
        if callable(errors):
            with contextlib.suppress(Exception):
                junk = str(errors()[0].get("input", ""))
        connection.junk = junk or "(unreadable)"


logging.getLogger("mcp.client.stdio").addHandler(_JunkCatcher())
MAX_TOOL_PAGES = 50
State = Literal["stopped", "starting", "ready", "failed"]


class McpCallError(Exception):
    """A call that did not complete; ``str()`` is a sentence for the model and the user.
    ``kind``: "timeout", "interrupted" or "unavailable" (the connection is unusable)."""

    def __init__(self, kind: str, sentence: str) -> None:
        super().__init__(sentence)
        self.kind = kind


@dataclass
class RemoteTool:
    name: str
    description: str
    input_schema: dict[str, Any] | None


class McpConnection:
    def __init__(self, config: McpServerConfig, start_timeout_s: float = START_TIMEOUT_S):
        self.config = config
        self.start_timeout_s = start_timeout_s
        self.state: State = "stopped"
        self.status = "Not started."
        self.tools: list[RemoteTool] = []
        self._client: Any = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._task: Any = None
        self._error: BaseException | None = None
        self._errlog: IO[str] | None = None
        self._errlog_path: Path | None = None
        self._lock = threading.Lock()
        self._finished = threading.Event()
        self.junk = ""  # the last thing it wrote that was not JSON-RPC

    @property
    def name(self) -> str:
        return self.config.name

    # -- life ------------------------------------------------------------------------------------

    def start(self, cancel: threading.Event | None = None) -> bool:
        """Connect (if not connected) and list the tools. False when the server is unusable;
        ``status`` then says why."""
        with self._lock:
            if self.state == "ready":
                return True
            self._close_locked()
            self.state, self.status = "starting", "Starting…"
            self._ready.clear()
            self._finished.clear()
            self._error = None
            self.junk = ""
            self._task = loop.submit(self._session())
            deadline = self.start_timeout_s
            waited = 0.0
            while not self._ready.wait(0.1):
                waited += 0.1
                if (cancel is not None and cancel.is_set()) or waited >= deadline:
                    why = "was stopped" if cancel and cancel.is_set() else "did not answer"
                    self.state = "failed"
                    self.status = self._junk_sentence() or (
                        f"MCP server '{self.name}' {why} within {deadline:.0f} s of starting."
                        + self._stderr_tail()
                    )
                    self._close_locked()
                    return False
            if self._client is None:
                self.state = "failed"
                self.status = self._junk_sentence() or self._failure_sentence("could not start")
                self._close_locked()
                return False
            self.state = "ready"
            count = len(self.tools)
            self.status = f"Connected: {count} tool{'s' if count != 1 else ''}."
            return True

    async def _session(self) -> None:
        from mcp import Client
        from mcp.types import Implementation

        self._stop = asyncio.Event()
        _current.set(self)
        try:
            transport = self._transport()
            async with Client(
                transport,
                read_timeout_seconds=self.config.timeout_s,
                cache=None,
                client_info=Implementation(name="hearth", version=__version__),
            ) as client:
                tools: list[RemoteTool] = []
                cursor = None
                for _ in range(MAX_TOOL_PAGES):
                    page = await client.list_tools(cursor=cursor)
                    tools += [_remote(t) for t in page.tools]
                    cursor = page.next_cursor
                    if not cursor:
                        break
                self.tools = tools
                self._client = client
                self._ready.set()
                await self._stop.wait()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # a server's failure is a status
            self._error = exc
        finally:
            self._client = None
            self._ready.set()
            self._finished.set()
            if self._errlog is not None:
                with contextlib.suppress(OSError):
                    self._errlog.flush()

    def _transport(self) -> Any:
        cfg = self.config
        if cfg.transport == "http":
            from mcp.client.streamable_http import streamable_http_client
            from mcp.shared._httpx_utils import create_mcp_http_client

            http = create_mcp_http_client(headers=cfg.headers or None)
            return streamable_http_client(cfg.url, http_client=http)
        from mcp.client.stdio import StdioServerParameters, stdio_client

        params = StdioServerParameters(
            command=cfg.command, args=cfg.args, env=cfg.env or None, cwd=cfg.cwd or None
        )
        log = paths.log_dir() / "mcp" / f"{_safe(cfg.name)}.stderr.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        self._errlog_path = log
        self._errlog = open(log, "w", encoding="utf-8", errors="replace")  # noqa: SIM115
        return stdio_client(params, errlog=self._errlog)

    def close(self) -> None:
        with self._lock:
            self._close_locked()
            self.state, self.status = "stopped", "Stopped."

    def _close_locked(self) -> None:
        task, stop = self._task, self._stop
        self._task = None
        if task is not None:
            if self._client is not None and stop is not None:
                loop.loop().call_soon_threadsafe(stop.set)  # a clean goodbye
            else:
                task.cancel()  # still starting (maybe hung): stop waiting for it
            # The SDK's shutdown is bounded (stdin closed, then TERM, then KILL).
            self._finished.wait(15)
        self._client = None
        if self._errlog is not None:
            with contextlib.suppress(OSError):
                self._errlog.close()
            self._errlog = None

    # -- calls -------------------------------------------------------------------------------

    def call(
        self,
        tool: str,
        arguments: dict[str, Any],
        timeout_s: float,
        cancel: threading.Event | None = None,
    ) -> Any:
        """The server's ``CallToolResult``. Raises McpCallError."""
        if not self.start(cancel):
            raise McpCallError("unavailable", self.status)
        client = self._client
        if client is None:
            raise McpCallError("unavailable", f"MCP server '{self.name}' is not connected.")

        async def run() -> Any:
            return await client.call_tool(tool, arguments, read_timeout_seconds=timeout_s)

        future = loop.submit(run())
        try:
            return loop.wait(future, timeout_s + 1.0, cancel)
        except InterruptedError:
            raise McpCallError("interrupted", "Stopped by the user.") from None
        except TimeoutError:
            raise McpCallError(
                "timeout", f"MCP server '{self.name}' did not answer within {timeout_s:g} s."
            ) from None
        except Exception as exc:
            raise self._call_failure(exc, timeout_s) from None

    def _call_failure(self, exc: BaseException, timeout_s: float) -> McpCallError:
        leaf = _leaf(exc)
        from pydantic import ValidationError

        if isinstance(leaf, ValidationError):
            return McpCallError(
                "unavailable",
                f"MCP server '{self.name}' returned a malformed result ({_short(leaf)}).",
            )
        text = _short(leaf)
        if isinstance(leaf, TimeoutError) or "timed out" in text.lower():
            return McpCallError(
                "timeout", f"MCP server '{self.name}' did not answer within {timeout_s:g} s."
            )
        if _looks_closed(text) or self._task is None or self._task.done():
            with self._lock:
                self.state = "failed"
                self.status = f"MCP server '{self.name}' stopped during a call." + (
                    self._stderr_tail()
                )
                self._close_locked()
            return McpCallError("unavailable", self.status + " It restarts on the next call.")
        return McpCallError("unavailable", f"MCP server '{self.name}' failed the call: {text}.")

    # -- messages ----------------------------------------------------------------------------

    def _failure_sentence(self, what: str) -> str:
        exc = self._error
        leaf = _leaf(exc) if exc is not None else None
        cfg = self.config
        if isinstance(leaf, FileNotFoundError) and cfg.transport == "stdio":
            return (
                f"MCP server '{self.name}' could not start: the command '{cfg.command}' was not "
                "found. Install it or fix the command in Settings → Tools."
            )
        detail = _short(leaf) if leaf is not None else "no answer"
        where = cfg.url if cfg.transport == "http" else cfg.command
        return f"MCP server '{self.name}' {what} ({where}: {detail})." + self._stderr_tail()

    def _junk_sentence(self) -> str:
        if not self.junk:
            return ""
        return (
            f"MCP server '{self.name}' wrote something that is not MCP (JSON-RPC) on its "
            f"output: {self.junk[:120]!r}. Is this command an MCP server, and does it log to "
            "stdout instead of stderr?"
        )

    def _stderr_tail(self) -> str:
        if self._errlog_path is None:
            return ""
        if self._errlog is not None:
            with contextlib.suppress(OSError, ValueError):
                self._errlog.flush()
        try:
            text = self._errlog_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        lines = [ln for ln in text.strip().splitlines() if ln.strip()]
        return f" Its last words: {lines[-1][:300]}" if lines else ""


def _remote(tool: Any) -> RemoteTool:
    desc = tool.description or getattr(tool, "title", None) or ""
    schema = tool.input_schema if isinstance(tool.input_schema, dict) else None
    return RemoteTool(str(tool.name), str(desc), schema)


def _leaf(exc: BaseException) -> BaseException:
    """The first real error inside anyio's exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return (first or type(exc).__name__)[:300]


def _looks_closed(text: str) -> bool:
    low = text.lower()
    return any(w in low for w in ("connection closed", "closed", "broken", "eof", "terminated"))


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:80] or "server"
