"""Plain records the store hands out. Times are Unix seconds (float)."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant", "tool"]
Status = Literal["streaming", "done", "cancelled", "interrupted", "error"]
ROLES: tuple[str, ...] = ("system", "user", "assistant", "tool")
STATUSES: tuple[str, ...] = ("streaming", "done", "cancelled", "interrupted", "error")

# Snippet highlight markers: control characters that never occur in chat text, so a caller can
# escape the snippet for its medium and then turn the markers into <b>…</b>, ANSI bold, etc.
MARK_START = "\x02"
MARK_END = "\x03"

UNTITLED = "New chat"


@dataclass
class Conversation:
    id: int
    title: str  # "" until the first user message names it
    created_at: float
    updated_at: float
    pinned: bool = False
    settings: dict[str, Any] = field(default_factory=dict)
    active_leaf_id: int | None = None
    deleted_at: float | None = None
    message_count: int = 0

    @property
    def display_title(self) -> str:
        return self.title or UNTITLED

    @property
    def trashed(self) -> bool:
        return self.deleted_at is not None


@dataclass
class Message:
    id: int
    conversation_id: int
    parent_id: int | None
    role: str
    content: str = ""
    reasoning: str = ""
    name: str | None = None  # a tool result's author, e.g. "functions.get_weather"
    tool_calls: list[dict[str, Any]] | None = None
    model: str | None = None
    status: str = "done"
    error: str | None = None
    stats: dict[str, Any] | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    # A tool message's whole result (app.tools.base.ToolResult.to_dict()); ``content`` is what
    # the model read.
    tool_result: dict[str, Any] | None = None
    # Files attached to a user message (app.attachments' records, as dicts).
    attachments: list[dict[str, Any]] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The message as JSON: the export format and ``hearth history show --json``."""
        return {
            "id": self.id,
            "parent": self.parent_id,
            "role": self.role,
            "name": self.name,
            "content": self.content,
            "reasoning": self.reasoning,
            "tool_calls": self.tool_calls,
            "tool_result": self.tool_result,
            "attachments": self.attachments,
            "model": self.model,
            "status": self.status,
            "error": self.error,
            "stats": self.stats,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True)
class Siblings:
    """A message among its siblings (same parent), oldest first: ‹ position/count ›."""

    ids: tuple[int, ...]
    index: int  # 0-based index of the message in ids

    @property
    def count(self) -> int:
        return len(self.ids)

    @property
    def position(self) -> int:
        return self.index + 1

    @property
    def previous_id(self) -> int | None:
        return self.ids[self.index - 1] if self.index > 0 else None

    @property
    def next_id(self) -> int | None:
        return self.ids[self.index + 1] if self.index + 1 < len(self.ids) else None


@dataclass(frozen=True)
class SearchHit:
    conversation_id: int
    conversation_title: str
    message_id: int
    role: str
    snippet: str  # matched terms between MARK_START and MARK_END
    rank: float  # bm25: lower is better
    updated_at: float

    def snippet_text(self, start: str = "[", end: str = "]") -> str:
        return self.snippet.replace(MARK_START, start).replace(MARK_END, end)

    def snippet_html(self) -> str:
        escaped = html.escape(self.snippet)
        return escaped.replace(MARK_START, "<b>").replace(MARK_END, "</b>")


def dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)
