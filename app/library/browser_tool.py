"""gpt-oss's built-in ``browser`` tool, over the user's own documents, offline.

The model was trained with ``browser.search`` / ``browser.open`` / ``browser.find`` and the
reference implementation's page format (openai/gpt-oss ``gpt_oss/tools/simple_browser``):
``[cursor] title (url)``, a ``**viewing lines [a - b] of n**`` scrollbar, ``L12: …`` numbered
lines, search results as ``【id†title†source】`` links, about 1,000 tokens a view. This tool keeps
that shape exactly and swaps the web for the Library index: only the folders and attachments the
chat was given (``folders``, ``attachments``) can be searched or opened.

Use one BrowserTool per chat and keep ``tool.state.to_dict()`` with the chat (cursors grow across
turns, and citations name them).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from app.harmony.builtin import BROWSER_DESCRIPTION, browser_namespace
from app.harmony.model import ToolNamespace
from app.library.index import Doc, LibraryIndex
from app.library.pages import BrowserState, Page, UsageError, end_of_view, render_view
from app.library.query import search
from app.tools.base import ToolCall, ToolContext, ToolResult, ToolStatus

VIEW_TOKENS = 1024  # the reference tool's view size
MAX_RESULTS = 20
FIND_MAX = 50
FIND_LINES = 4

# harmony's browser description (app.harmony.builtin) told the truth about this one: the pages
# are the user's documents, the source is the library.
DESCRIPTION = BROWSER_DESCRIPTION.replace(
    "Tool for browsing.\n",
    "Tool for browsing.\nThe pages are the user's own documents (their Library folders and files"
    " attached to this chat), searched offline.\n",
).replace("sources=web (default: web)", "sources=library (default: library)")

# The system message's "## browser" section (openai/harmony docs/format.md), with one sentence
# about where pages come from (the same text ``namespace`` renders).
SYSTEM_SECTION = "\n".join(
    [
        "## browser",
        "",
        "// Tool for browsing.",
        "// The pages are the user's own documents (their Library folders and files"
        " attached to this chat), searched offline.",
        "// The `cursor` appears in brackets before each browsing display: `[{cursor}]`.",
        "// Cite information from the tool using the following format:",
        "// `【{cursor}†L{line_start}(-L{line_end})?】`, for example: `【6†L9-L11】`"
        " or `【8†L3】`.",
        "// Do not quote more than 10 words directly from the tool output.",
        "// sources=library (default: library)",
        "namespace browser {",
        "",
        "// Searches for information related to `query` and displays `topn` results.",
        "type search = (_: {",
        "query: string,",
        "topn?: number, // default: 10",
        "source?: string,",
        "}) => any;",
        "",
        "// Opens the link `id` from the page indicated by `cursor` starting at line"
        " number `loc`, showing `num_lines` lines.",
        "// Valid link ids are displayed with the formatting: `【{id}†.*】`.",
        "// If `cursor` is not provided, the most recent page is implied.",
        "// If `id` is a string, it is treated as a fully qualified URL associated with `source`.",
        "// If `loc` is not provided, the viewport will be positioned at the beginning"
        " of the document or centered on the most relevant passage, if available.",
        "// Use this function without `id` to scroll to a new location of an opened page.",
        "type open = (_: {",
        "id?: number | string, // default: -1",
        "cursor?: number, // default: -1",
        "loc?: number, // default: -1",
        "num_lines?: number, // default: -1",
        "view_source?: boolean, // default: false",
        "source?: string,",
        "}) => any;",
        "",
        "// Finds exact matches of `pattern` in the current page, or the page given by `cursor`.",
        "type find = (_: {",
        "pattern: string,",
        "cursor?: number, // default: -1",
        "}) => any;",
        "",
        "} // namespace browser",
    ]
)

NOTHING_ALLOWED = (
    "No documents are available to browse in this chat: the user has not allowed any Library "
    "folders here. Answer without the browser, or ask the user to allow a folder for this chat."
)


def _clean(s: str) -> str:
    # 【 and 】 mark links and citations: the reference tool swaps them out of page text.
    return s.replace("【", "〖").replace("】", "〗")


def doc_url(doc: Doc) -> str:
    if doc.is_attachment:
        return "attachment://" + quote(doc.rel)
    return Path(doc.path).as_uri()


class BrowserTool:
    """The ``browser`` namespace over a LibraryIndex, limited to the chat's folders and
    attachments (sha256s)."""

    def __init__(
        self,
        index: LibraryIndex,
        folders: Sequence[str | Path] = (),
        attachments: Sequence[str] = (),
        *,
        state: BrowserState | None = None,
        view_tokens: int = VIEW_TOKENS,
    ) -> None:
        self.index = index
        self.folders = list(folders)
        self.attachments = list(attachments)
        self.state = state if state is not None else BrowserState()
        self.view_tokens = view_tokens

    @property
    def name(self) -> str:
        return "browser"

    @property
    def system_section(self) -> str:
        return SYSTEM_SECTION

    @property
    def namespace(self) -> ToolNamespace:
        """For ``PromptSettings.builtin_tools``: renders as ``system_section``."""
        return browser_namespace(DESCRIPTION)

    def handles(self, recipient: str) -> bool:
        return recipient.split(".", 1)[0] == "browser"

    def run(self, call: ToolCall, ctx: ToolContext) -> ToolResult:
        t0 = time.perf_counter()
        function = call.recipient.split(".", 1)[1] if "." in call.recipient else ""
        try:
            args = _arguments(call.arguments)
            if function == "search":
                text = self.search(str(args.get("query", "")), _int(args, "topn", 10))
            elif function == "open":
                text = self.open(
                    args.get("id", -1),
                    _int(args, "cursor", -1),
                    _int(args, "loc", -1),
                    _int(args, "num_lines", -1),
                )
            elif function == "find":
                text = self.find(str(args.get("pattern", "")), _int(args, "cursor", -1))
            else:
                raise UsageError(f"Unknown function: {function or call.recipient}")
        except UsageError as e:
            return ToolResult(
                status="error",
                text=str(e),
                output=str(e),
                error=str(e),
                duration_s=time.perf_counter() - t0,
            )
        status: ToolStatus = "unavailable" if text == NOTHING_ALLOWED else "ok"
        return ToolResult(
            status=status, text=text, output=text, duration_s=time.perf_counter() - t0
        )

    # -- the three functions -------------------------------------------------------------------

    def _scope(self) -> tuple[list[int], list[str]]:
        return self.index.scope_ids(self.folders, self.attachments)

    def search(self, query: str, topn: int = 10) -> str:
        if not query.strip():
            raise UsageError("`query` is empty: say what to search for.")
        folder_ids, keys = self._scope()
        if not folder_ids and not keys:
            return NOTHING_ALLOWED
        hits = search(
            self.index,
            query,
            max(1, min(topn, MAX_RESULTS)),
            folder_ids=folder_ids,
            attachment_keys=keys,
        )
        lines = ["# Search Results", ""]
        targets: list[list[Any] | None] = [None, None]
        links: dict[str, list[Any]] = {}
        for i, h in enumerate(hits):
            title, source = _clean(h.doc.title), _clean(h.doc.rel)
            lines.append(f"  * 【{i}†{title}†{source}】 L{h.line}: {_clean(h.snippet)}")
            links[str(i)] = [h.doc.key, h.line]
            targets.append([h.doc.key, h.line])
        if not hits:
            lines.append(f"No results for `{query}`.")
            targets.append(None)
        page = Page("search", query, lines=lines, links=links, line_targets=targets)
        cursor = self.state.push(page)
        return self._show(cursor, page, 0, -1)

    def open(self, id: Any = -1, cursor: int = -1, loc: int = -1, num_lines: int = -1) -> str:
        if isinstance(id, str) and id.strip().lstrip("-").isdigit():
            id = int(id)
        target_line = 0
        if isinstance(id, str):
            doc = self._doc_for(id)
        elif isinstance(id, int) and id >= 0:
            page = self.state.get(cursor)
            link = page.links.get(str(id))
            if link is None:
                raise UsageError(f"Invalid link id `{id}`.")
            doc = self._doc_in_scope(str(link[0]))
            target_line = int(link[1])
        else:  # scroll the page given by cursor (default: the last one)
            page = self.state.get(cursor)
            if page.kind != "doc":
                new = Page(
                    page.kind,
                    page.title,
                    page.url,
                    page.doc_key,
                    0,
                    page.lines,
                    page.links,
                    page.line_targets,
                )
                c = self.state.push(new)
                return self._show(c, new, max(loc, 0), num_lines)
            doc = self._doc_in_scope(page.doc_key)
        if loc < 0:
            loc = target_line - 4 if target_line > 4 else 0
        page = Page("doc", doc.rel, doc_url(doc), doc.key, loc)
        c = self.state.push(page)
        return self._show(c, page, loc, num_lines)

    def find(self, pattern: str, cursor: int = -1) -> str:
        if not pattern:
            raise UsageError("`pattern` is empty: say what text to find.")
        page = self.state.get(cursor)
        if page.kind != "doc":
            raise UsageError("Cannot run `find` on search results page or find results page")
        doc = self._doc_in_scope(page.doc_key)
        doc_lines = self.index.text_lines(doc.id)
        needle = pattern.lower()
        lines: list[str] = []
        targets: list[list[Any] | None] = []
        links: dict[str, list[Any]] = {}
        i = 0
        match = 0
        while i < len(doc_lines) and match < FIND_MAX:
            if needle not in doc_lines[i].lower():
                i += 1
                continue
            if lines:
                lines.append("")
                targets.append(None)
            line_no = i + 1
            lines.append(f"# 【{match}†match at L{line_no}】")
            targets.append([doc.key, line_no])
            links[str(match)] = [doc.key, line_no]
            for j, text in enumerate(doc_lines[i : i + FIND_LINES]):
                lines.append(_clean(_around(text, needle)))
                targets.append([doc.key, line_no + j])
            match += 1
            i += FIND_LINES
        if not lines:
            lines = [f"No `find` results for pattern: `{pattern}`"]
            targets = [None]
        found = Page(
            "find",
            f"Find results for text: `{pattern}` in `{doc.rel}`",
            f"{doc_url(doc)}/find?pattern={quote(pattern)}",
            doc.key,
            lines=lines,
            links=links,
            line_targets=targets,
        )
        c = self.state.push(found)
        return self._show(c, found, 0, -1)

    # -- helpers -------------------------------------------------------------------------------

    def _show(self, cursor: int, page: Page, loc: int, num_lines: int) -> str:
        lines = self.page_lines(page)
        if loc >= len(lines):
            self.state.pages.pop()
            raise UsageError(
                f"Invalid location parameter: `{loc}`. "
                f"Cannot exceed page maximum of {len(lines) - 1}."
            )
        page.loc = loc
        end = end_of_view(lines, loc, num_lines, self.view_tokens)
        return render_view(cursor, page, lines, loc, end)

    def page_lines(self, page: Page) -> list[str]:
        """What a page shows, line by line (a document: its URL line, then its lines)."""
        if page.kind != "doc":
            return page.lines
        doc = self.index.doc_by_key(page.doc_key)
        if doc is None:
            return [f"URL: {page.url}", "(This document is no longer in the library.)"]
        return [f"URL: {page.url}"] + [_clean(x) for x in self.index.text_lines(doc.id)]

    def _doc_in_scope(self, key: str) -> Doc:
        doc = self.index.doc_by_key(key)
        if doc is None:
            raise UsageError("That document is no longer in the library: search again.")
        folder_ids, keys = self._scope()
        if doc.key in keys or (doc.folder_id is not None and doc.folder_id in folder_ids):
            return doc
        raise UsageError(f"`{doc.rel}` is not in the folders this chat may browse.")

    def _doc_for(self, ref: str) -> Doc:
        """A document named by the model: a file URL, an absolute path, its shown path
        ("notes/a.md") or an attachment's name."""
        s = ref.strip()
        if s.startswith("file://"):
            s = unquote(s[len("file://") :])
        elif s.startswith("attachment://"):
            s = unquote(s[len("attachment://") :])
        folder_ids, keys = self._scope()
        candidates = ([d] if (d := self.index.doc_by_key(s)) else []) + self.index.docs_named(s)
        for doc in candidates:
            if doc.key in keys or (doc.folder_id is not None and doc.folder_id in folder_ids):
                return doc
        if candidates:
            raise UsageError(f"`{ref}` is not in the folders this chat may browse.")
        raise UsageError(
            f"No document `{ref}` in the library: use browser.search to find one, then open "
            "its link id."
        )


def _arguments(raw: str) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        args = json.loads(raw)
    except json.JSONDecodeError:
        raise UsageError("Invalid function arguments: send a JSON object.") from None
    if not isinstance(args, dict):
        raise UsageError("Invalid function arguments: send a JSON object.")
    return args


def _int(args: dict[str, Any], key: str, default: int) -> int:
    value = args.get(key, default)
    if value is None:
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise UsageError(f"`{key}` should be an integer, not `{value!r}`") from None


def _around(line: str, needle: str, width: int = 300) -> str:
    """A long line cut to the part around the match."""
    if len(line) <= width:
        return line
    at = max(0, line.lower().find(needle) - width // 3)
    return ("…" if at else "") + line[at : at + width] + "…"
