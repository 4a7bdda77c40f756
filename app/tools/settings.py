"""The tools' settings and consent policy, in one small JSON file (``config/tools.json``).

No Qt: the GUI's Settings → Tools page and ``hearth tools …`` read and write the same file.
Consent is a *mode* per tool, for all chats and optionally per chat:

- ``off``: the model is not offered the tool (the default for python: off until turned on);
- ``ask``: the user confirms each call (the GUI shows the code; Run / Don't run);
- ``auto``: calls run without asking.

A tool's key is ``python`` or ``mcp:<server name>``. A hand-edited file with junk in it keeps
the defaults for what it cannot read; it never stops the app.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from app import paths
from app.fsutil import atomic_write
from app.tools.python.sandbox import Limits

Mode = Literal["off", "ask", "auto"]
MODES: tuple[str, ...] = ("off", "ask", "auto")
DEFAULT_MAX_CALLS = 20


def settings_file() -> Path:
    return paths.config_dir() / "tools.json"


@dataclass
class PythonSettings:
    mode: Mode = "off"  # for all chats (a chat may override)
    isolation: Literal["sandbox", "none"] = "sandbox"  # "none": the user chose no isolation
    limits: Limits = field(default_factory=Limits)
    model_output_chars: int = 16_000
    user_output_chars: int = 1_000_000

    @classmethod
    def from_dict(cls, d: Any) -> PythonSettings:
        out = cls()
        if not isinstance(d, dict):
            return out
        if d.get("mode") in MODES:
            out.mode = d["mode"]
        if d.get("isolation") in ("sandbox", "none"):
            out.isolation = d["isolation"]
        limits = d.get("limits")
        limits = limits if isinstance(limits, dict) else {}
        for name, default in asdict(Limits()).items():
            value = limits.get(name)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
                setattr(out.limits, name, type(default)(value))
        for name in ("model_output_chars", "user_output_chars"):
            value = d.get(name)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                setattr(out, name, value)
        return out


@dataclass
class McpServerConfig:
    """One MCP server: a stdio command or a streamable-HTTP URL (the ``mcpServers`` shape)."""

    name: str
    command: str = ""
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    cwd: str = ""
    url: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    mode: Mode = "ask"  # adding a server is a choice; each call is still confirmed
    timeout_s: float = 60.0  # per call
    disabled: bool = False

    @property
    def transport(self) -> Literal["stdio", "http"]:
        return "http" if self.url else "stdio"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("name")
        if not d["disabled"]:
            d.pop("disabled")
        return {k: v for k, v in d.items() if v not in ("", [], {}) or k == "mode"}

    @classmethod
    def from_dict(cls, name: str, d: Any) -> McpServerConfig:
        """Tolerant: Claude Desktop / Cursor / LM Studio entries, and Hearth's own."""
        if not isinstance(d, dict):
            raise ValueError(f"MCP server {name!r}: expected an object, got {type(d).__name__}.")
        out = cls(name=name)
        url = d.get("url") or d.get("serverUrl") or d.get("httpUrl")
        command = d.get("command")
        if isinstance(url, str) and url.strip():
            out.url = url.strip()
        elif isinstance(command, str) and command.strip():
            out.command = command.strip()
        else:
            raise ValueError(f"MCP server {name!r} has neither a 'command' nor a 'url'.")
        if isinstance(d.get("args"), list):
            out.args = [str(a) for a in d["args"]]
        for key in ("env", "headers"):
            if isinstance(d.get(key), dict):
                setattr(out, key, {str(k): str(v) for k, v in d[key].items()})
        if isinstance(d.get("cwd"), str):
            out.cwd = d["cwd"]
        if d.get("mode") in MODES:
            out.mode = d["mode"]
        timeout = d.get("timeout_s", d.get("timeout"))
        if isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and timeout > 0:
            # Some clients write milliseconds (Cline's "timeout": 60000 is not a minute-long s).
            out.timeout_s = float(timeout) / 1000 if timeout > 3600 else float(timeout)
        out.disabled = bool(d.get("disabled", False))
        return out


@dataclass
class ToolSettings:
    python: PythonSettings = field(default_factory=PythonSettings)
    servers: dict[str, McpServerConfig] = field(default_factory=dict)
    chats: dict[str, dict[str, Mode]] = field(default_factory=dict)  # chat id -> key -> mode
    max_calls_per_turn: int = DEFAULT_MAX_CALLS

    # -- consent -----------------------------------------------------------------------------

    def mode_for(self, key: str, conversation_id: int | None) -> Mode:
        """The mode of a tool in a chat: the chat's own choice, else the one for all chats."""
        if conversation_id is not None:
            chosen = self.chats.get(str(conversation_id), {}).get(key)
            if chosen in MODES:
                return chosen
        if key == "python":
            return self.python.mode
        if key.startswith("mcp:"):
            server = self.servers.get(key[4:])
            if server is None or server.disabled:
                return "off"
            return server.mode
        return "off"

    def set_mode(self, key: str, mode: Mode, conversation_id: int | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"Unknown mode {mode!r}: use one of {', '.join(MODES)}.")
        if conversation_id is not None:
            self.chats.setdefault(str(conversation_id), {})[key] = mode
        elif key == "python":
            self.python.mode = mode
        elif key.startswith("mcp:") and key[4:] in self.servers:
            self.servers[key[4:]].mode = mode
        else:
            raise ValueError(f"No tool {key!r}.")

    # -- file --------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "python": asdict(self.python),
            "mcpServers": {n: s.to_dict() for n, s in self.servers.items()},
            "chats": self.chats,
            "max_calls_per_turn": self.max_calls_per_turn,
        }

    @classmethod
    def from_dict(cls, d: Any) -> ToolSettings:
        out = cls()
        if not isinstance(d, dict):
            return out
        out.python = PythonSettings.from_dict(d.get("python"))
        servers = d.get("mcpServers")
        if isinstance(servers, dict):
            for name, entry in servers.items():
                try:
                    out.servers[str(name)] = McpServerConfig.from_dict(str(name), entry)
                except ValueError:
                    continue  # `hearth tools list` shows what the file holds
        chats = d.get("chats")
        if isinstance(chats, dict):
            for chat, modes in chats.items():
                if isinstance(modes, dict):
                    kept = {str(k): v for k, v in modes.items() if v in MODES}
                    if kept:
                        out.chats[str(chat)] = kept
        calls = d.get("max_calls_per_turn")
        if isinstance(calls, int) and not isinstance(calls, bool) and calls > 0:
            out.max_calls_per_turn = calls
        return out

    @classmethod
    def load(cls, path: Path | None = None) -> ToolSettings:
        path = path or settings_file()
        try:
            return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return cls()

    def save(self, path: Path | None = None) -> Path:
        text = json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"
        return atomic_write(path or settings_file(), text)


def parse_mcp_servers(text: str) -> dict[str, McpServerConfig]:
    """Servers from an ``mcpServers`` JSON (Claude Desktop's ``claude_desktop_config.json``,
    Cursor's ``mcp.json``, LM Studio's ``mcp.json``; VS Code's ``servers`` too). Raises
    ValueError with a sentence naming what is wrong."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"Not JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise ValueError("Expected a JSON object with an 'mcpServers' object inside.")
    servers = data.get("mcpServers", data.get("servers"))
    if not isinstance(servers, dict):
        raise ValueError("No 'mcpServers' object in this JSON.")
    return {str(n): McpServerConfig.from_dict(str(n), e) for n, e in servers.items()}
