"""How attachments appear in the user message the model reads.

Each file that fits is fenced with its name as the info string. The fence is one backtick longer
than the longest run of backticks in the file (CommonMark's rule), so a Markdown file full of
code blocks cannot close it early. A file that does not fit is named, with a line telling the
model to reach it through its browser tool.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_TICKS = re.compile(r"`{3,}")


def fence(name: str, text: str) -> str:
    """``name`` and ``text`` as one fenced block: the fence outruns any backticks inside."""
    longest = max((len(m.group()) for m in _TICKS.finditer(text)), default=0)
    ticks = "`" * max(3, longest + 1)
    body = text if text.endswith("\n") or not text else text + "\n"
    return f"{ticks}{_info(name)}\n{body}{ticks}"


def _info(name: str) -> str:
    # The info string ends at the line; a backtick in it would make the fence invalid.
    return name.replace("\n", " ").replace("`", "'")


def library_note(name: str, tokens: int, pages: int = 0) -> str:
    """The line that stands in for a file too long for the context."""
    size = f"{pages} pages, " if pages else ""
    return (
        f"[Attached: {_info(name)} ({size}about {tokens:,} tokens) is too long to include "
        "here. Use the browser tool to read it: browser.search finds passages, "
        f'browser.open with {{"id": "{_info(name)}"}} opens it.]'
    )


@dataclass(frozen=True)
class Part:
    """One attachment as the message shows it: fenced text, or a note when it did not fit."""

    name: str
    text: str = ""
    inline: bool = True
    tokens: int = 0
    pages: int = 0


def compose(user_text: str, parts: Iterable[Part]) -> str:
    """The user message the model reads: each attachment, then what the user typed (a question
    after the document it is about is what long-context models answer best)."""
    blocks = [
        fence(p.name, p.text) if p.inline else library_note(p.name, p.tokens, p.pages)
        for p in parts
    ]
    if user_text.strip():
        blocks.append(user_text.strip("\n"))
    return "\n\n".join(blocks)
