"""The Library (no Qt): folders the user adds and attachments too long for the context, indexed
in SQLite FTS5 with line numbers, and the ``browser`` tool gpt-oss was trained with, reading them
offline.

The lead wires: ``LibraryIndex()`` once per app; ``sync_folder(index, path, progress, cancel)`` on
a worker thread when a folder is added and on start; ``index.add_attachment(...)`` for an
attachment that did not fit; ``BrowserTool(index, folders=…, attachments=…)`` per chat into the
turn's toolbox; ``resolve_citation`` / ``find_citations`` in the chat view.
"""

from app.library.browser_tool import BrowserState, BrowserTool
from app.library.citations import (
    Citation,
    CitationTarget,
    citation_url,
    find_citations,
    footnotes,
    parse_citation_url,
    resolve_citation,
)
from app.library.index import Doc, Folder, LibraryError, LibraryIndex
from app.library.query import Hit, search
from app.library.sync import SyncReport, sync_file, sync_folder

__all__ = [
    "BrowserState",
    "BrowserTool",
    "Citation",
    "CitationTarget",
    "Doc",
    "Folder",
    "Hit",
    "LibraryError",
    "LibraryIndex",
    "SyncReport",
    "citation_url",
    "find_citations",
    "footnotes",
    "parse_citation_url",
    "resolve_citation",
    "search",
    "sync_file",
    "sync_folder",
]
