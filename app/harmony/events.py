"""What the streaming parser reports: plain dataclasses with a JSON-friendly form."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Literal

EndReason = Literal["return", "call", "end_of_stream"]


@dataclass(frozen=True)
class ReasoningDelta:
    """More chain of thought (the ``analysis`` channel): show as "thinking", never as the answer."""

    text: str
    type: ClassVar[str] = "reasoning"

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, **asdict(self)}


@dataclass(frozen=True)
class ContentDelta:
    """More of the answer (the ``final`` channel, and anything that could not be parsed)."""

    text: str
    type: ClassVar[str] = "content"

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, **asdict(self)}


@dataclass(frozen=True)
class PreambleDelta:
    """Text for the user on the ``commentary`` channel without a recipient (before tool calls)."""

    text: str
    type: ClassVar[str] = "preamble"

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, **asdict(self)}


@dataclass(frozen=True)
class ToolCall:
    """A complete tool call, reported when ``<|call|>`` arrives.

    recipient: as the model wrote it, e.g. "functions.get_weather". arguments: the raw message
    text (JSON when constrain is "json"; not validated here). constrain: the ``<|constrain|>``
    type or None. channel: the header's channel ("commentary" for functions) or None.
    recipient_first: False when the model wrote the recipient after the channel
    ("<|channel|>analysis to=python code", as gpt-oss calls its built-in tools), so the call can
    be rendered back byte for byte (and the engine's cached prefix still matches).
    """

    recipient: str
    arguments: str
    constrain: str | None = None
    channel: str | None = None
    recipient_first: bool = True
    type: ClassVar[str] = "tool_call"

    def to_dict(self) -> dict[str, Any]:
        d = {"type": self.type, **asdict(self)}
        if self.recipient_first:
            del d["recipient_first"]  # the usual order: not worth a field in every line
        return d


@dataclass(frozen=True)
class End:
    """The reply ended: "return" (done), "call" (a tool call to run) or "end_of_stream"
    (the stream stopped without a stop token: max tokens, cancel, or a model that rambled on)."""

    reason: EndReason
    type: ClassVar[str] = "end"

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, **asdict(self)}


Event = ReasoningDelta | ContentDelta | PreambleDelta | ToolCall | End
Delta = ReasoningDelta | ContentDelta | PreambleDelta

_END_REASONS = ("return", "call", "end_of_stream")


def event_from_dict(d: dict[str, Any]) -> Event:
    """The inverse of ``to_dict``. Raises ValueError naming the problem on a malformed dict."""
    if not isinstance(d, dict):
        raise ValueError(f"Event must be a JSON object, got {type(d).__name__}.")
    kind = d.get("type")
    try:
        if kind == "reasoning":
            return ReasoningDelta(_str(d, "text"))
        if kind == "content":
            return ContentDelta(_str(d, "text"))
        if kind == "preamble":
            return PreambleDelta(_str(d, "text"))
        if kind == "tool_call":
            return ToolCall(
                recipient=_str(d, "recipient"),
                arguments=_str(d, "arguments"),
                constrain=_opt_str(d, "constrain"),
                channel=_opt_str(d, "channel"),
                recipient_first=d.get("recipient_first", True) is not False,
            )
        if kind == "end":
            reason = d.get("reason")
            if reason not in _END_REASONS:
                raise ValueError(f"unknown end reason {reason!r}")
            return End(reason)
    except KeyError as e:
        raise ValueError(f"Event of type {kind!r} lacks the field {e.args[0]!r}.") from None
    raise ValueError(
        f"Unknown event type {kind!r}: expected reasoning, content, preamble, tool_call or end."
    )


def _str(d: dict[str, Any], key: str) -> str:
    value = d[key]
    if not isinstance(value, str):
        raise ValueError(f"Field {key!r} must be a string, got {type(value).__name__}.")
    return value


def _opt_str(d: dict[str, Any], key: str) -> str | None:
    value = d.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"Field {key!r} must be a string or null, got {type(value).__name__}.")
    return value


def visible_text(events: Iterable[Event]) -> str:
    """All text the model produced that the events carry: every delta's text and every tool
    call's arguments, in order. Used for accounting (nothing the model wrote is lost)."""
    parts: list[str] = []
    for e in events:
        if isinstance(e, ToolCall):
            parts.append(e.arguments)
        elif not isinstance(e, End):
            parts.append(e.text)
    return "".join(parts)
