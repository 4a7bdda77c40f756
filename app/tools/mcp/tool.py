"""MCP servers' tools as Harmony functions, and running the model's calls to them.

Names: a Harmony function name is a TypeScript identifier (``type NAME = …``), and two servers
may both have a ``search``. Each tool becomes ``<server>__<tool>`` with anything but letters,
digits and ``_`` replaced, cut to 64 characters, and a number added when two still collide; the
map leads back to the server and its own name.
"""

from __future__ import annotations

import atexit
import base64
import binascii
import json
import re
import threading
import time
from pathlib import Path
from typing import Any

from app.harmony.model import Tool as HarmonyTool
from app.tools.base import ToolCall, ToolContext, ToolFile, ToolResult, failure
from app.tools.mcp.connection import McpCallError, McpConnection, RemoteTool
from app.tools.settings import McpServerConfig

MAX_NAME = 64
MODEL_CHARS = 16_000
_UNSAFE = re.compile(r"[^A-Za-z0-9_]+")


def function_name(server: str, tool: str) -> str:
    base = f"{_UNSAFE.sub('_', server).strip('_') or 'server'}__{_UNSAFE.sub('_', tool)}"
    if base[0].isdigit():
        base = "_" + base
    return base[:MAX_NAME]


def assign_names(tools: dict[str, list[RemoteTool]]) -> dict[str, tuple[str, RemoteTool]]:
    """function name -> (server, tool), unique across ``tools`` (server -> its tools)."""
    out: dict[str, tuple[str, RemoteTool]] = {}
    for server in sorted(tools):
        for tool in tools[server]:
            name = function_name(server, tool.name)
            n = 2
            while name in out:
                suffix = f"_{n}"
                name = function_name(server, tool.name)[: MAX_NAME - len(suffix)] + suffix
                n += 1
            out[name] = (server, tool)
    return out


class McpServerTool:
    """One server's tools, as the turn's Toolbox sees them."""

    def __init__(self, connection: McpConnection, names: dict[str, RemoteTool]) -> None:
        self.connection = connection
        self.names = names  # function name -> the server's tool

    @property
    def name(self) -> str:
        return self.connection.name

    @property
    def key(self) -> str:
        return f"mcp:{self.connection.name}"

    def handles(self, recipient: str) -> bool:
        return recipient.removeprefix("functions.") in self.names

    def functions(self) -> list[HarmonyTool]:
        return [HarmonyTool(n, t.description, t.input_schema) for n, t in self.names.items()]

    def run(self, call: ToolCall, ctx: ToolContext) -> ToolResult:
        started = time.monotonic()
        fname = call.recipient.removeprefix("functions.")
        remote = self.names.get(fname)
        if remote is None:
            return failure("unavailable", f"No function named {fname!r} on this server.")
        try:
            args = json.loads(call.arguments) if call.arguments.strip() else {}
        except ValueError as exc:
            return failure("error", f"The arguments are not valid JSON ({exc}). Send an object.")
        if not isinstance(args, dict):
            return failure("error", "The arguments must be a JSON object.")
        timeout = self.connection.config.timeout_s
        try:
            result = self.connection.call(remote.name, args, timeout, ctx.cancel)
        except McpCallError as exc:
            status = exc.kind if exc.kind in ("timeout", "interrupted") else "unavailable"
            return failure(status, str(exc), time.monotonic() - started)  # type: ignore[arg-type]
        return convert_result(result, ctx.outputs, time.monotonic() - started)


def convert_result(result: Any, outputs: Path, duration_s: float) -> ToolResult:
    """An MCP ``CallToolResult`` as a ToolResult: text for the model, images saved."""
    parts: list[str] = []
    images: list[ToolFile] = []
    for block in getattr(result, "content", None) or []:
        kind = getattr(block, "type", "")
        if kind == "text":
            parts.append(str(block.text))
        elif kind == "image":
            saved = _save_image(block, outputs)
            if saved is not None:
                images.append(saved)
                parts.append(f"[image shown to the user: {saved.name}]")
        elif kind == "resource":
            res = block.resource
            text = getattr(res, "text", None)
            parts.append(str(text) if text is not None else f"[resource {res.uri}]")
        elif kind == "resource_link":
            parts.append(f"[resource link: {block.uri}]")
        elif kind == "audio":
            parts.append("[audio, not shown]")
    structured = getattr(result, "structured_content", None)
    if not parts and structured is not None:
        parts.append(json.dumps(structured, ensure_ascii=False))
    text = "\n".join(parts)
    full = text
    truncated = len(text) > MODEL_CHARS
    if truncated:
        cut = len(text) - MODEL_CHARS
        head = MODEL_CHARS * 2 // 3
        text = (
            text[:head] + f"\n[… {cut:,} characters cut here …]\n" + text[-(MODEL_CHARS - head) :]
        )
    is_error = bool(getattr(result, "is_error", False))
    return ToolResult(
        status="error" if is_error else "ok",
        text=text,
        output=full,
        duration_s=duration_s,
        truncated=truncated,
        error="The tool reported an error." if is_error else "",
        images=images,
    )


def _save_image(block: Any, outputs: Path) -> ToolFile | None:
    mime = str(getattr(block, "mime_type", "") or "image/png")
    suffix = {"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif"}.get(mime)
    if suffix is None:
        return None
    try:
        data = base64.b64decode(block.data, validate=True)
    except (binascii.Error, ValueError, TypeError):
        return None
    outputs.mkdir(parents=True, exist_ok=True)
    n = 1
    while (outputs / f"tool-image-{n}{suffix}").exists():
        n += 1
    path = outputs / f"tool-image-{n}{suffix}"
    path.write_bytes(data)
    return ToolFile(str(path), path.name, mime, len(data))


class McpHub:
    """The connections of this process, one per configured server, reused across turns."""

    def __init__(self) -> None:
        self._connections: dict[str, McpConnection] = {}
        self._lock = threading.Lock()

    def connection(self, config: McpServerConfig) -> McpConnection:
        with self._lock:
            current = self._connections.get(config.name)
            if current is not None and current.config == config:
                return current
            if current is not None:
                current.close()
            made = McpConnection(config)
            self._connections[config.name] = made
            return made

    def tools_for(
        self, configs: list[McpServerConfig], cancel: threading.Event | None = None
    ) -> tuple[list[McpServerTool], dict[str, str]]:
        """Connected servers' tools (named for Harmony), and a status for each server."""
        connections = [self.connection(c) for c in configs]
        starters = [threading.Thread(target=c.start, args=(cancel,)) for c in connections]
        for t in starters:  # servers start side by side: one slow server costs its own time
            t.start()
        for t in starters:
            t.join()
        statuses = {c.name: c.status for c in connections}
        ready = {c.name: c for c in connections if c.state == "ready"}
        names = assign_names({n: c.tools for n, c in ready.items()})
        per_server: dict[str, dict[str, RemoteTool]] = {n: {} for n in ready}
        for fname, (server, tool) in names.items():
            per_server[server][fname] = tool
        tools = [McpServerTool(ready[n], per_server[n]) for n in sorted(ready)]
        return tools, statuses

    def close(self, name: str | None = None) -> None:
        with self._lock:
            names = list(self._connections) if name is None else [name]
            gone = [self._connections.pop(n) for n in names if n in self._connections]
        for c in gone:
            c.close()


HUB = McpHub()
atexit.register(HUB.close)
