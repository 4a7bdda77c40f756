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
class ToolNamespace:
    """A built-in tool namespace declared in the *system* message ("## python", "## browser").

    ``description`` comes first: with ``tools`` it is written as ``//`` comments above
    ``namespace NAME { … }``; without tools (python) it is written as plain text, as harmony's
    ``template_tools_section`` does. ``app.harmony.builtin`` has harmony's own two namespaces.
    """

    name: str
    description: str = ""
    tools: list[Tool] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ToolNamespace:
        tools = [
            t if isinstance(t, Tool) else Tool(**{k: v for k, v in t.items() if k in _TOOL_FIELDS})
            for t in d.get("tools") or []
            if isinstance(t, (Tool, dict))
        ]
        return cls(name=str(d["name"]), description=str(d.get("description") or ""), tools=tools)


_TOOL_FIELDS = ("name", "description", "parameters")


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
    # A call the model wrote as "<|channel|>analysis to=python" (recipient after the channel)
    recipient_first: bool = True

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in asdict(self).items() if v is not None}
        if self.recipient_first:
            del d["recipient_first"]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Message:
        return cls(
            role=str(d["role"]),
            content=str(d.get("content", "")),
            channel=d.get("channel"),
            recipient=d.get("recipient"),
            name=d.get("name"),
            content_type=d.get("content_type"),
            recipient_first=d.get("recipient_first", True) is not False,
        )


@dataclass
class PromptSettings:
    """Everything outside the messages that shapes the prompt."""

    effort: Effort = "medium"
    instructions: str = ""  # the user's "system prompt": goes to the developer message
    tools: list[Tool] = field(default_factory=list)  # functions, in the developer message
    current_date: str | None = None  # "YYYY-MM-DD"; None leaves the line out
    knowledge_cutoff: str = KNOWLEDGE_CUTOFF
    model_identity: str = MODEL_IDENTITY
    # Built-in namespaces (python, browser), in the system message's "# Tools"
    builtin_tools: list[ToolNamespace] = field(default_factory=list)
