"""Text helpers of the store: chat titles and safe full-text queries."""

from __future__ import annotations

import re

TITLE_MAX = 60
PREFIX_MIN = 3


def make_title(text: str, limit: int = TITLE_MAX) -> str:
    """A chat title from the first user message: one line, no Markdown marks, cut at a word."""
    line = " ".join(text.split())
    line = re.sub(r"^(?:[#>*\-+`\s]|\d+\.\s)+", "", line).strip()
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-") + "…"


def fts_query(text: str) -> str:
    """User text -> a safe FTS5 query: every word quoted (so ``AND``, ``"`` or ``*`` are just
    text), all words required, the last one as a prefix (search as you type) once it has
    PREFIX_MIN characters: "t*" would match nearly every message and rank them all. "" if no
    words."""
    words = re.findall(r"\w+", text)
    if not words:
        return ""
    quoted = [f'"{w}"' for w in words]
    if len(words[-1]) >= PREFIX_MIN:
        quoted[-1] += "*"
    return " ".join(quoted)
