"""A stored conversation as the model sees it: Harmony messages and prompt settings."""

from __future__ import annotations

from typing import Any

from app.attachments import AttachmentRef, message_text
from app.engine.options import SamplingOptions
from app.harmony import EFFORTS, Message, PromptSettings
from app.store import Message as StoredMessage


def prompt_settings(settings: dict[str, Any]) -> PromptSettings:
    """A chat's stored settings -> Harmony prompt settings (unknown effort: the default)."""
    effort = settings.get("effort")
    return PromptSettings(
        effort=effort if effort in EFFORTS else "medium",
        instructions=str(settings.get("instructions") or ""),
    )


def reasoning_budget(settings: dict[str, Any]) -> int | None:
    """A chat's thinking budget in tokens (None: think as long as the model wants)."""
    value = settings.get("reasoning_budget")
    ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
    return value if ok else None


def sampling_options(settings: dict[str, Any]) -> SamplingOptions:
    sampling = settings.get("sampling")
    return SamplingOptions.from_dict(sampling) if isinstance(sampling, dict) else SamplingOptions()


def call_message(call: dict[str, Any]) -> Message:
    """A stored tool call as the assistant message that made it."""
    return Message(
        "assistant",
        str(call.get("arguments", "")),
        channel=call.get("channel") or "commentary",
        recipient=str(call["name"]),
        # As the model wrote it; the renderer puts "json" on function calls that carry none.
        content_type=call.get("constrain"),
        recipient_first=call.get("recipient_first", True) is not False,
    )


def segment_messages(
    reasoning: str, content: str, calls: list[dict[str, Any]], *, final: bool
) -> list[Message]:
    """One assistant row's Harmony messages: its analysis, then either its answer (``final``)
    or, in a row that ended in a tool call, its preamble (commentary, before the call) and the
    call. A call that is not an object (an old import let anything in) is left out."""
    out: list[Message] = []
    if reasoning:
        out.append(Message("assistant", reasoning, channel="analysis"))
    valid = [c for c in calls if isinstance(c, dict) and c.get("name")]
    if valid:
        if content:
            out.append(Message("assistant", content, channel="commentary"))
        out.extend(call_message(c) for c in valid)
    elif content and final:
        out.append(Message("assistant", content, channel="final"))
    return out


def user_text(m: StoredMessage) -> str:
    """What the model reads for a user message: its attachments (each fenced with its name, or
    a note pointing to the browser for one too long for the context), then what the user
    typed. The stored ``content`` stays what the user typed."""
    refs = [AttachmentRef.from_dict(d) for d in m.attachments or [] if isinstance(d, dict)]
    return message_text(m.content, refs) if refs else m.content


def harmony_history(path: list[StoredMessage]) -> list[Message]:
    """Stored messages (root → leaf) as the Harmony messages the model sees.

    An assistant row becomes its reasoning (analysis; Harmony drops it once a later final answer
    exists), then its answer, or its preamble and tool call when it ended in one; a tool row
    becomes the tool's message to the assistant, on the channel of the call it answers. A failed
    reply with no text is left out; a cancelled or interrupted one keeps what the user saw."""
    out: list[Message] = []
    channel: str | None = None  # of the last call: its result comes back on the same channel
    for m in path:
        if m.role == "user":
            out.append(Message("user", user_text(m)))
        elif m.role == "system":
            out.append(Message("system", m.content))
        elif m.role == "tool":
            out.append(
                Message(
                    "tool",
                    m.content,
                    channel=channel or "commentary",
                    recipient="assistant",
                    name=m.name or "functions.tool",
                )
            )
        elif m.role == "assistant":
            if m.status == "error" and not m.content:
                continue
            calls = [c for c in m.tool_calls or [] if isinstance(c, dict)]
            if calls:
                channel = calls[-1].get("channel") or "commentary"
            out.extend(segment_messages(m.reasoning, m.content, calls, final=True))
    return out
