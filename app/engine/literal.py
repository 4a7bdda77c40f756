"""Message text is text: Harmony's control tokens written inside a message are not structure.

A user who pastes ``<|end|>`` into a message, a file that contains ``<|start|>``, or an API
client that sends such text back must not be able to end a message early or forge a tool call.
Harmony's reference renderer encodes message content as ordinary text; llama.cpp tokenizes a
whole prompt at once, finding control tokens anywhere (gpt-oss's are "user-defined" tokens, which
llama.cpp matches even when asked not to parse special tokens). So before rendering, ``protect``
replaces each ``<|`` inside message text with a mark, and ``text_tokens`` tokenizes text with
marks in pieces cut between ``<`` and ``|``, where no control token can be found: the model sees
the characters ``<|end|>``, spelled as ordinary tokens.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

# A Unicode noncharacter: set aside for a program's internal use, never in interchanged text.
MARK = "\ufdd0"
_OPEN = "<|"


def protect(messages: list[Any], settings: Any) -> tuple[list[Any], Any]:
    """The messages and prompt settings with ``<|`` in their text replaced by ``MARK``."""
    out = [
        replace(m, content=m.content.replace(_OPEN, MARK)) if _OPEN in m.content else m
        for m in messages
    ]
    if _OPEN in settings.instructions:
        settings = replace(settings, instructions=settings.instructions.replace(_OPEN, MARK))
    if any(_OPEN in t.description for t in settings.tools):
        tools = [replace(t, description=t.description.replace(_OPEN, MARK)) for t in settings.tools]
        settings = replace(settings, tools=tools)
    return out, settings


def restore(text: str) -> str:
    return text.replace(MARK, _OPEN) if MARK in text else text


def text_tokens(tokenize: Callable[[str], list[int]], text: str) -> list[int]:
    """``tokenize`` (no special tokens) of ``text``, where each mark stands for ``<|``."""
    if MARK not in text:
        return tokenize(text)
    pieces = text.split(MARK)
    out = tokenize(pieces[0] + "<")
    for piece in pieces[1:-1]:
        out += tokenize("|" + piece + "<")
    return out + tokenize("|" + pieces[-1])
