"""The browser's pages and their cursors, shaped like openai's reference browser tool.

Every successful call (search, open, scroll, find) pushes a page; its position in the stack is its
*cursor*, shown as ``[cursor]`` at the top of the view and used by the model in ``open``,
``find`` and citations (``【cursor†L9-L11】``). Pages keep what a citation needs to be resolved
later: a document page its document; a search or find page its own lines and, for each line,
the document line it stands for. The state is plain data (``to_dict``/``from_dict``): the chat
keeps it so citations still resolve after a restart.

Line numbers: on a document page, line L0 is ``URL: file:///…`` (the reference tool's pages also
start with their URL) and line Lk is line k of the file, so a citation's numbers are the file's own
line numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.attachments.tokens import estimate_tokens

LINE_CHARS = 1200  # a longer line is cut in the view (find still searches all of it)


@dataclass
class Page:
    kind: str  # "search", "doc" or "find"
    title: str
    url: str = ""
    doc_key: str = ""  # "doc" and "find": the document (LibraryIndex key)
    loc: int = 0  # the first line shown
    lines: list[str] = field(default_factory=list)  # "search"/"find" pages: their text lines
    # "search"/"find": link id -> [doc key, 1-based line]
    links: dict[str, list[Any]] = field(default_factory=dict)
    # "search"/"find": for each page line, [doc key, 1-based line] or None
    line_targets: list[list[Any] | None] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "title": self.title,
            "url": self.url,
            "doc_key": self.doc_key,
            "loc": self.loc,
            "lines": self.lines,
            "links": self.links,
            "line_targets": self.line_targets,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Page:
        return cls(
            kind=str(d.get("kind", "doc")),
            title=str(d.get("title", "")),
            url=str(d.get("url", "")),
            doc_key=str(d.get("doc_key", "")),
            loc=int(d.get("loc", 0) or 0),
            lines=[str(x) for x in d.get("lines") or []],
            links={str(k): list(v) for k, v in (d.get("links") or {}).items()},
            line_targets=[list(t) if t else None for t in d.get("line_targets") or []],
        )


@dataclass
class BrowserState:
    """The page stack of one chat's browser."""

    pages: list[Page] = field(default_factory=list)

    @property
    def cursor(self) -> int:
        return len(self.pages) - 1

    def push(self, page: Page) -> int:
        self.pages.append(page)
        return self.cursor

    def get(self, cursor: int = -1) -> Page:
        if not self.pages:
            raise UsageError("No pages to access! Use browser.search first.")
        if cursor == -1:
            return self.pages[-1]
        if not 0 <= cursor < len(self.pages):
            raise UsageError(
                f"Cursor `{cursor}` is out of range. Available cursor indices: [0 - {self.cursor}]."
            )
        return self.pages[cursor]

    def to_dict(self) -> dict[str, Any]:
        return {"pages": [p.to_dict() for p in self.pages]}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> BrowserState:
        return cls([Page.from_dict(p) for p in (d or {}).get("pages") or [] if isinstance(p, dict)])


class UsageError(Exception):
    """A call the model got wrong; its text goes back to the model."""


def numbered(lines: list[str], offset: int) -> str:
    return "\n".join(f"L{i + offset}: {_cut(line)}" for i, line in enumerate(lines))


def _cut(line: str) -> str:
    if len(line) <= LINE_CHARS:
        return line
    return f"{line[:LINE_CHARS]} … [{len(line) - LINE_CHARS:,} more characters on this line]"


def end_of_view(lines: list[str], loc: int, num_lines: int, view_tokens: int) -> int:
    """The line after the last one shown: ``num_lines`` if given, else as many as fit in
    ``view_tokens`` (at least one)."""
    total = len(lines)
    if num_lines > 0:
        return min(loc + num_lines, total)
    used = 0
    end = loc
    while end < total:
        used += estimate_tokens(f"L{end}: {_cut(lines[end])}\n")
        if used > view_tokens and end > loc:
            break
        end += 1
    return end


def render_view(cursor: int, page: Page, lines: list[str], loc: int, end: int) -> str:
    """The reference tool's display: ``[cursor] title (url)``, the scrollbar, numbered lines."""
    header = page.title + (f" ({page.url})" if page.url else "")
    scrollbar = f"viewing lines [{loc} - {end - 1}] of {len(lines) - 1}"
    return f"[{cursor}] {header}\n**{scrollbar}**\n\n{numbered(lines[loc:end], loc)}"
