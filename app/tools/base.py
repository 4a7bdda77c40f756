"""What a tool is to the turn path (no Qt).

The model ends a message with ``<|call|>``; the turn (``app.chat``) looks the recipient up in the
turn's ``Toolbox``, asks for consent where the tool needs it, runs it with a ``ToolContext`` and
appends the ``ToolResult``'s ``text`` to the prompt as the Harmony tool message before asking the
engine to go on. The user sees the whole result (``output``, ``images``, ``files``) on a card.

A tool never raises for a failure of its own (bad arguments, a timeout, a crashed kernel, an MCP
server that went away): it returns a result whose ``status`` says what happened and whose
``text`` tells the model in a sentence it can react to.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from app.harmony.model import Message

ToolStatus = Literal["ok", "error", "timeout", "refused", "interrupted", "unavailable"]
TOOL_STATUSES: tuple[str, ...] = ("ok", "error", "timeout", "refused", "interrupted", "unavailable")
Consent = Literal["auto", "ask"]


@dataclass(frozen=True)
class ToolCall:
    """What the model sent: ``recipient`` as written in the header ("python",
    "browser.search", "functions.get_weather"), ``arguments`` the raw message text (code for
    python, JSON for functions and the browser)."""

    recipient: str
    arguments: str
    constrain: str | None = None
    channel: str | None = None


@dataclass
class ToolFile:
    """A file a tool produced (a plot, a CSV the code wrote), kept in the chat's folder."""

    path: str
    name: str = ""
    mime: str = ""
    size: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ToolFile:
        return cls(
            path=str(d.get("path", "")),
            name=str(d.get("name", "")),
            mime=str(d.get("mime", "")),
            size=int(d.get("size", 0) or 0),
        )


@dataclass
class ToolResult:
    status: ToolStatus = "ok"
    text: str = ""  # what the model reads (already cut to the model's limit)
    output: str = ""  # everything the user may read (may be longer than ``text``)
    duration_s: float = 0.0  # the tool's own run time
    truncated: bool = False  # ``text`` was cut for the model
    error: str = ""  # a sentence for the user when status is not "ok"
    images: list[ToolFile] = field(default_factory=list)  # shown inline on the card
    files: list[ToolFile] = field(default_factory=list)  # written by the tool; open / save as

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["images"] = [f.to_dict() for f in self.images]
        d["files"] = [f.to_dict() for f in self.files]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ToolResult:
        status = d.get("status")
        return cls(
            status=status if status in TOOL_STATUSES else "error",
            text=str(d.get("text", "")),
            output=str(d.get("output", "")),
            duration_s=float(d.get("duration_s", 0.0) or 0.0),
            truncated=bool(d.get("truncated", False)),
            error=str(d.get("error", "")),
            images=[ToolFile.from_dict(f) for f in d.get("images") or [] if isinstance(f, dict)],
            files=[ToolFile.from_dict(f) for f in d.get("files") or [] if isinstance(f, dict)],
        )


@dataclass
class ToolContext:
    """Where and how one call runs."""

    work_dir: Path  # the chat's own folder: /mnt/data for the python tool
    conversation_id: int | None = None
    cancel: threading.Event = field(default_factory=threading.Event)  # the user pressed Stop
    timeout_s: float = 120.0  # function tools; python uses its own setting (the prompt says it)
    output_dir: Path | None = None  # where images go (out of the code's reach); None: work_dir
    # Called with each piece of output as it arrives (a card can show a long run live);
    # from the thread that runs the tool.
    on_output: Callable[[str], None] | None = None

    @property
    def outputs(self) -> Path:
        return self.output_dir if self.output_dir is not None else self.work_dir


class Tool(Protocol):
    """One tool or one namespace of tools (python, browser, one MCP server's functions)."""

    @property
    def name(self) -> str:
        """The namespace: "python", "browser", "functions" or an MCP server's."""
        ...

    def handles(self, recipient: str) -> bool:
        """True if a call to ``recipient`` is this tool's."""
        ...

    def run(self, call: ToolCall, ctx: ToolContext) -> ToolResult:
        """Run one call; a failure is a result (status + a sentence), never an exception."""
        ...


def result_message(call: ToolCall, result: ToolResult) -> Message:
    """The Harmony message that carries ``result`` back to the model: authored by the tool
    ("python", "browser.search", "functions.get_weather"), to the assistant, on the call's
    channel (python is called on ``analysis``; functions on ``commentary``)."""
    return Message(
        "tool",
        result.text,
        channel=call.channel or "commentary",
        recipient="assistant",
        name=call.recipient,
    )


def failure(status: ToolStatus, sentence: str, duration_s: float = 0.0) -> ToolResult:
    """A result for a call that did not run as asked: the model and the user read the same
    sentence."""
    return ToolResult(
        status=status, text=sentence, output=sentence, error=sentence, duration_s=duration_s
    )
