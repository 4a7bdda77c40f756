"""Finding maths in Markdown: ``$…$``, ``$$…$$``, ``\\(…\\)`` and ``\\[…\\]`` as markdown-it rules.

Being parser rules (not a regex over the text) is what keeps code spans and code blocks out:
the parser reaches a backtick span or a fence first and never looks inside it.

Dollars follow pandoc's rule, so prices stay text: an opening ``$`` must be followed by a
non-space, a closing ``$`` must follow a non-space and must not be followed by a digit
(``$5 and $10`` is text; ``$x$`` and ``$x^2$`` are maths). ``\\$`` is a literal dollar.

Tokens: ``math_inline`` (``meta["display"]`` for ``$$``/``\\[`` inside a paragraph) and
``math_block`` (a display formula on lines of its own), with the TeX in ``content`` and the
source as written in ``meta["source"]`` (shown when a formula cannot be rendered).
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from markdown_it.rules_inline import StateInline

_PAIRS = {"\\(": "\\)", "\\[": "\\]", "$$": "$$"}


def math_plugin(md: MarkdownIt) -> None:
    md.inline.ruler.before("escape", "math_inline", _inline)
    md.block.ruler.before(
        "fence", "math_block", _block, {"alt": ["paragraph", "blockquote", "list"]}
    )


def _closing_dollar(src: str, start: int, end: int) -> int:
    """Index of the ``$`` that closes an inline formula opened just before ``start``, or -1."""
    i = start
    while True:
        i = src.find("$", i, end)
        if i < 0:
            return -1
        if src[i - 1] == "\\":
            i += 1
            continue
        if src[i - 1] not in " \t\n" and not (i + 1 < end and src[i + 1].isdigit()):
            return i
        i += 1


_SHELL = re.compile(r"^[A-Z_]{2,}\w*[/:]")  # $HOME/bin:$PATH: shell variables, not maths
_TEXISH = set("\\^_{}=+-*/<>()|")


def _looks_like_maths(tex: str) -> bool:
    """Guards for prices and shells: never across a code span, never ``$HOME/…:$``; and "$5 and
    $" (a digit first, then words) only when it has something of maths in it ("$2 + 2 = 4$")."""
    if "`" in tex or _SHELL.search(tex):
        return False
    if tex[0].isdigit() and any(c.isspace() for c in tex):
        return any(c in _TEXISH for c in tex)
    return True


def _inline(state: StateInline, silent: bool) -> bool:
    src, pos, end = state.src, state.pos, state.posMax
    opener = src[pos : pos + 2]
    if opener in _PAIRS:
        closer = _PAIRS[opener]
        close = src.find(closer, pos + 2, end)
        if opener == "$$":
            while close > 0 and src[close - 1] == "\\":
                close = src.find(closer, close + 1, end)
        if close < 0 or not src[pos + 2 : close].strip():
            return False
        tex, display, stop = src[pos + 2 : close], opener != "\\(", close + 2
    elif src[pos] == "$":
        if pos + 1 >= end or src[pos + 1] in " \t\n$":
            return False
        close = _closing_dollar(src, pos + 1, end)
        if close < 0:
            return False
        tex, display, stop = src[pos + 1 : close], False, close + 1
        if not _looks_like_maths(tex):
            return False
    else:
        return False
    if not silent:
        token = state.push("math_inline", "math", 0)
        token.content = tex.strip()
        token.markup = opener if opener in _PAIRS else "$"
        token.meta = {"display": display, "source": src[pos:stop]}
    state.pos = stop
    return True


def _block(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    if state.sCount[start] - state.blkIndent >= 4:
        return False  # indented code
    first = state.src[state.bMarks[start] + state.tShift[start] : state.eMarks[start]]
    opener = first[:2]
    if opener not in ("$$", "\\["):
        return False
    closer = _PAIRS[opener]
    rest = first[2:].rstrip()
    line = start
    if rest.endswith(closer) and len(rest) >= len(closer):
        body = rest[: -len(closer)]  # "$$ x $$" on one line
        if closer in body:
            return False  # two formulas on the line: inline maths in a paragraph
    else:
        if rest and closer in rest:
            return False
        parts = [rest]
        while True:
            line += 1
            if line >= end:
                return False  # not closed (yet, while streaming): a paragraph for now
            text = state.src[state.bMarks[line] + state.tShift[line] : state.eMarks[line]]
            if not text.strip() or state.sCount[line] < state.blkIndent:
                return False  # a blank line or a dedent ends the search: not a formula
            stripped = text.rstrip()
            if stripped.endswith(closer):
                parts.append(stripped[: -len(closer)])
                break
            if closer in stripped:
                return False
            parts.append(text)
        body = "\n".join(parts)
    if not body.strip():
        return False
    if silent:
        return True
    token = state.push("math_block", "math", 0)
    token.block = True
    token.content = body.strip()
    token.markup = opener
    token.map = [start, line + 1]
    source_lines = state.src[state.bMarks[start] : state.eMarks[line]]
    token.meta = {"display": True, "source": source_lines.strip()}
    state.line = line + 1
    return True
