"""Citations in an answer (``【3†L9-L11】``) → the file and lines they point to.

The model cites a page by its cursor and lines of that page. On a document page the lines are
the file's own line numbers; on a search or find page each line stands for a line of some
document (kept in the page's ``line_targets``). ``resolve_citation`` turns either into a path
and a 1-based line range the chat view can open.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.library.index import LibraryIndex
from app.library.pages import BrowserState

CITATION = re.compile(r"【(\d+)†L(\d+)(?:\s*-\s*L?(\d+))?】")


@dataclass(frozen=True)
class Citation:
    start: int  # offsets in the text
    end: int
    cursor: int
    first: int  # page lines as the model wrote them
    last: int

    @property
    def text(self) -> str:
        return f"【{self.cursor}†L{self.first}" + (
            f"-L{self.last}】" if self.last != self.first else "】"
        )


@dataclass(frozen=True)
class CitationTarget:
    path: str  # the file on disk (an attachment: its stored copy)
    name: str  # what to show: "notes/quantum.md"
    first_line: int  # 1-based, inclusive
    last_line: int
    title: str = ""

    @property
    def label(self) -> str:
        """ "quantum.md, lines 9–11" — for a chip or a footnote."""
        short = self.name.rsplit("/", 1)[-1]
        if self.first_line == self.last_line:
            return f"{short}, line {self.first_line}"
        return f"{short}, lines {self.first_line}–{self.last_line}"


CITE_SCHEME = "cite"


def citation_url(cursor: int, first: int, last: int) -> str:
    """The link the chat view gives a citation (``cite:3:9:11``), opened by the app, never by a
    browser."""
    return f"{CITE_SCHEME}:{cursor}:{first}:{last}"


def parse_citation_url(url: str) -> tuple[int, int, int] | None:
    """(cursor, first line, last line) of a ``cite:`` link, or None."""
    parts = url.split(":")
    if len(parts) != 4 or parts[0] != CITE_SCHEME or not all(p.isdigit() for p in parts[1:]):
        return None
    return int(parts[1]), int(parts[2]), int(parts[3])


def footnotes(text: str, index: LibraryIndex, state: BrowserState) -> str:
    """``text`` with each resolvable citation replaced by a Markdown footnote reference and the
    footnotes ("[^1]: notes/quantum.md, lines 9–11") appended: for exports. Citations that do not
    resolve are left as they are."""
    notes: list[str] = []
    numbers: dict[tuple[str, int, int], int] = {}
    out: list[str] = []
    pos = 0
    for c in find_citations(text):
        target = resolve_citation(index, state, c.cursor, c.first, c.last)
        if target is None:
            continue
        key = (target.path, target.first_line, target.last_line)
        if key not in numbers:
            numbers[key] = len(numbers) + 1
            lines = (
                f"line {target.first_line}"
                if target.first_line == target.last_line
                else f"lines {target.first_line}–{target.last_line}"
            )
            notes.append(f"[^{numbers[key]}]: {target.name}, {lines} ({target.path})")
        out.append(text[pos : c.start] + f"[^{numbers[key]}]")
        pos = c.end
    out.append(text[pos:])
    body = "".join(out)
    return body + ("\n\n" + "\n".join(notes) if notes else "")


def find_citations(text: str) -> list[Citation]:
    """Every well-formed citation in ``text``, in order."""
    out = []
    for m in CITATION.finditer(text):
        first = int(m.group(2))
        last = int(m.group(3)) if m.group(3) else first
        out.append(Citation(m.start(), m.end(), int(m.group(1)), first, max(first, last)))
    return out


def resolve_citation(
    index: LibraryIndex, state: BrowserState, cursor: int, first: int, last: int | None = None
) -> CitationTarget | None:
    """The file and lines a citation points to; None when it cannot be resolved (a cursor the
    model made up, a document since removed from the library)."""
    last = first if last is None else max(first, last)
    if not 0 <= cursor < len(state.pages):
        return None
    page = state.pages[cursor]
    if page.kind == "doc":
        key, lo, hi = page.doc_key, max(1, first), max(1, last)
    else:
        targets = [t for t in page.line_targets[first : last + 1] if t is not None and len(t) == 2]
        if not targets:
            return None
        key = str(targets[0][0])
        same = [int(t[1]) for t in targets if t[0] == key]
        lo, hi = min(same), max(same)
    doc = index.doc_by_key(key)
    if doc is None:
        return None
    hi = min(hi, doc.lines)
    lo = min(lo, hi)
    return CitationTarget(doc.path, doc.rel, lo, hi, doc.title)
