"""Harmony, gpt-oss's chat format: render prompts, parse streamed replies. Pure Python."""

from app.harmony.builtin import browser_namespace, python_description, python_namespace
from app.harmony.events import (
    ContentDelta,
    End,
    Event,
    PreambleDelta,
    ReasoningDelta,
    ToolCall,
    event_from_dict,
    visible_text,
)
from app.harmony.jsonio import conversation_from_json
from app.harmony.model import EFFORTS, Message, PromptSettings, Tool, ToolNamespace
from app.harmony.parser import SPECIAL_TOKENS, STOP_TOKENS, StreamParser, split_special
from app.harmony.render import render_prompt

__all__ = [
    "EFFORTS",
    "SPECIAL_TOKENS",
    "STOP_TOKENS",
    "ContentDelta",
    "End",
    "Event",
    "Message",
    "PreambleDelta",
    "PromptSettings",
    "ReasoningDelta",
    "StreamParser",
    "Tool",
    "ToolCall",
    "ToolNamespace",
    "browser_namespace",
    "conversation_from_json",
    "event_from_dict",
    "python_description",
    "python_namespace",
    "render_prompt",
    "split_special",
    "visible_text",
]
