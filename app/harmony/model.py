"""The conversation as Harmony sees it: plain data, no behaviour beyond (de)serialisation."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Effort = Literal["low", "medium", "high"]
EFFORTS: tuple[Effort, ...] = ("low", "medium", "high")
KNOWLEDGE_CUTOFF = "2024-06"
MODEL_IDENTITY = "You are ChatGPT, a large language model trained by OpenAI."


@dataclass
class Tool:
    """A function the model may call, declared in the developer message."""

    name: str
    description: str = ""
    parameters: dict[str, Any] | None = None  # JSON Schema of the arguments object


@dataclass
class Message:
    """One Harmony message.

    role: "system", "developer", "user", "assistant" or "tool". For a tool result ``name`` is
    the tool's full name ("functions.get_weather") and becomes the header's author.
    channel: "analysis", "commentary" or "final" (assistant messages; tool results use
    "commentary"). recipient: "functions.NAME" on a tool call, "assistant" on a tool result.
    content_type: the constraint of a tool call's arguments, e.g. "json" (→ ``<|constrain|>json``).
    """

    role: str
    content: str
    channel: str | None = None
    recipient: str | None = None
    name: str | None = None
    content_type: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Message:
        return cls(
            role=str(d["role"]),
            content=str(d.get("content", "")),
            channel=d.get("channel"),
            recipient=d.get("recipient"),
            name=d.get("name"),
            content_type=d.get("content_type"),
        )


@dataclass
class PromptSettings:
    """Everything outside the messages that shapes the prompt."""

    effort: Effort = "medium"
    instructions: str = ""  # the user's "system prompt": goes to the developer message
    tools: list[Tool] = field(default_factory=list)
    current_date: str | None = None  # "YYYY-MM-DD"; None leaves the line out
    knowledge_cutoff: str = KNOWLEDGE_CUTOFF
    model_identity: str = MODEL_IDENTITY
