"""The library index: the user's Library folders and long attachments in SQLite FTS5 (no Qt).

One database file beside the chat store (``library.sqlite3`` in the data folder), never inside
it: it is a cache of files the user owns, can be deleted and rebuilt, and grows with their
folders, not their chats.

A document is split into chunks of consecutive lines (up to 30 lines or ~2,000 characters), each
one FTS5 row whose rowid is ``chunks.id``; ``chunks`` records the document and the first line, so a
hit is a (file, line range). The chunks of a document are consecutive lines, so its full text is
its chunks joined in order: the text is stored once, in FTS5's own content table.

Connections are per thread (the indexer runs on a worker thread while the tool loop searches);
WAL lets readers go on while a folder is being indexed.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from app import paths

SCHEMA_VERSION = 1
CHUNK_LINES = 30
CHUNK_CHARS = 2000
ATTACHMENT_PREFIX = "attachment:"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS folders (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    added REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS docs (
    id INTEGER PRIMARY KEY,
    folder_id INTEGER REFERENCES folders(id) ON DELETE CASCADE,  -- NULL: an attachment
    key TEXT NOT NULL UNIQUE,     -- the absolute path, or "attachment:<sha256>"
    path TEXT NOT NULL,           -- the file on disk (an attachment: its stored copy)
    rel TEXT NOT NULL,            -- what the model sees: "notes/physics/quantum.md"
    title TEXT NOT NULL,
    mtime_ns INTEGER NOT NULL DEFAULT 0,
    size INTEGER NOT NULL DEFAULT 0,
    sha256 TEXT NOT NULL DEFAULT '',
    lines INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS docs_folder ON docs(folder_id);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    doc_id INTEGER NOT NULL,
    start_line INTEGER NOT NULL   -- 1-based line of the chunk's first line
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id, start_line);
CREATE TABLE IF NOT EXISTS skipped (  -- files that are not text: not read again until they change
    key TEXT PRIMARY KEY,
    folder_id INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    size INTEGER NOT NULL,
    reason TEXT NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    text, title, tokenize = 'porter unicode61 remove_diacritics 2'
);
"""


def default_path() -> Path:
    return paths.data_dir() / "library.sqlite3"


class LibraryError(Exception):
    """A library problem, worded for the user."""


@dataclass(frozen=True)
class Folder:
    id: int
    path: str
    files: int = 0
    bytes: int = 0


@dataclass(frozen=True)
class Doc:
    id: int
    key: str
    path: str
    rel: str
    title: str
    folder_id: int | None
    lines: int
    sha256: str = ""

    @property
    def is_attachment(self) -> bool:
        return self.key.startswith(ATTACHMENT_PREFIX)


_DOC_COLS = "id, key, path, rel, title, folder_id, lines, sha256"


def doc_from_row(row: Sequence[object]) -> Doc:
    return Doc(
        int(row[0]),  # type: ignore[call-overload]
        str(row[1]),
        str(row[2]),
        str(row[3]),
        str(row[4]),
        None if row[5] is None else int(row[5]),  # type: ignore[call-overload]
        int(row[6]),  # type: ignore[call-overload]
        str(row[7]),
    )


def chunk_lines(lines: Sequence[str]) -> Iterator[tuple[int, str]]:
    """(1-based first line, text) of consecutive chunks covering every line exactly once."""
    start = 0
    n = len(lines)
    while start < n:
        end = start
        chars = 0
        while end < n and end - start < CHUNK_LINES:
            if end > start and chars + len(lines[end]) > CHUNK_CHARS:
                break
            chars += len(lines[end]) + 1
            end += 1
        yield start + 1, "\n".join(lines[start:end])
        start = end


def title_of(text: str, fallback: str) -> str:
    """A Markdown document's first heading, else the file name."""
    for line in text.split("\n", 40)[:40]:
        s = line.strip()
        if s.startswith("# ") and len(s) > 2:
            return s[2:].strip()[:200]
    return fallback


class LibraryIndex:
    """The index database. Safe to use from several threads (a connection each)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        # Every thread's connection, with its thread: the tool loop runs each turn on a new
        # thread, so connections of threads that ended are closed when a new one opens.
        self._all: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()  # one writer at a time; readers never wait
        con = self.connection()
        version = con.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise LibraryError(
                f"The library index {self.path} was written by a newer Hearth. Delete it to "
                "rebuild it with this version (your files are not touched)."
            )
        with self.writing() as w:
            w.executescript(_SCHEMA)
            w.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # -- connections ---------------------------------------------------------------------------

    def connection(self) -> sqlite3.Connection:
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            try:
                con = sqlite3.connect(self.path, check_same_thread=False, timeout=10)
                con.execute("PRAGMA journal_mode=WAL")
                con.execute("PRAGMA synchronous=NORMAL")
                con.execute("PRAGMA foreign_keys=ON")
            except sqlite3.DatabaseError as e:
                raise LibraryError(
                    f"The library index {self.path} cannot be opened ({e}). Delete it to rebuild "
                    "it (your files are not touched)."
                ) from None
            self._local.con = con
            with self._lock:
                for thread, old in [x for x in self._all if not x[0].is_alive()]:
                    old.close()
                    self._all.remove((thread, old))
                self._all.append((threading.current_thread(), con))
        return con

    @contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (committed on success, rolled back on error)."""
        con = self.begin_write()
        try:
            yield con
        except BaseException:
            self.end_write(commit=False)
            raise
        self.end_write()

    def begin_write(self) -> sqlite3.Connection:
        """Start this thread's write transaction (one writer at a time: others wait here, not
        on SQLite's busy timeout). End it with ``end_write``."""
        con = self.connection()
        self._write_lock.acquire()
        try:
            con.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._write_lock.release()
            raise
        return con

    def end_write(self, commit: bool = True) -> None:
        con = self.connection()
        try:
            if commit:
                con.commit()
            else:
                con.rollback()
        finally:
            self._write_lock.release()

    def close(self) -> None:
        with self._lock:
            for _, con in self._all:
                con.close()
            self._all.clear()
        self._local = threading.local()

    # -- folders -------------------------------------------------------------------------------

    def add_folder(self, path: str | Path) -> Folder:
        """Register a Library folder (index it with ``app.library.sync.sync_folder``)."""
        p = Path(path).expanduser().resolve()
        if not p.is_dir():
            raise LibraryError(f"{p} is not a folder: choose a folder to add to the Library.")
        with self.writing() as con:
            con.execute(
                "INSERT OR IGNORE INTO folders(path, added) VALUES (?, ?)", (str(p), time.time())
            )
        folder = self.folder(p)
        assert folder is not None
        return folder

    def remove_folder(self, path: str | Path) -> None:
        """Forget a folder and everything indexed from it (the files are not touched)."""
        folder = self.folder(path)
        if folder is None:
            return
        with self.writing() as con:
            for (doc_id,) in con.execute("SELECT id FROM docs WHERE folder_id = ?", (folder.id,)):
                self._delete_chunks(con, doc_id)
            con.execute("DELETE FROM docs WHERE folder_id = ?", (folder.id,))
            con.execute("DELETE FROM skipped WHERE folder_id = ?", (folder.id,))
            con.execute("DELETE FROM folders WHERE id = ?", (folder.id,))

    def folder(self, path: str | Path) -> Folder | None:
        p = str(Path(path).expanduser().resolve())
        return next((f for f in self.folder_list() if f.path == p), None)

    def folder_list(self) -> list[Folder]:
        """The folders, without their counts (cheap)."""
        rows = self.connection().execute("SELECT id, path FROM folders ORDER BY path")
        return [Folder(int(r[0]), str(r[1])) for r in rows]

    def folders(self) -> list[Folder]:
        """The folders with how many files and bytes are indexed from each (for Settings)."""
        rows = self.connection().execute(
            "SELECT f.id, f.path, COUNT(d.id), COALESCE(SUM(d.size), 0) FROM folders f "
            "LEFT JOIN docs d ON d.folder_id = f.id GROUP BY f.id ORDER BY f.path"
        )
        return [Folder(int(r[0]), str(r[1]), int(r[2]), int(r[3])) for r in rows]

    # -- documents -----------------------------------------------------------------------------

    def put_document(
        self,
        con: sqlite3.Connection,
        *,
        key: str,
        path: str,
        rel: str,
        text: str,
        folder_id: int | None,
        mtime_ns: int = 0,
        size: int = 0,
        sha256: str = "",
    ) -> int:
        """Insert or replace one document and its chunks, inside the caller's transaction."""
        old = con.execute("SELECT id FROM docs WHERE key = ?", (key,)).fetchone()
        if old is not None:
            self._delete_chunks(con, old[0])
            con.execute("DELETE FROM docs WHERE id = ?", (old[0],))
        lines = text.split("\n")
        title = title_of(text, Path(rel).name)
        cur = con.execute(
            "INSERT INTO docs(folder_id, key, path, rel, title, mtime_ns, size, sha256, lines) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (folder_id, key, path, rel, title, mtime_ns, size, sha256, len(lines)),
        )
        doc_id = int(cur.lastrowid or 0)
        # The title column carries the path's words too: a search for "budget 2024" finds
        # notes/budget-2024.md even where its text never says so.
        title_words = f"{title} {rel}"
        for start, body in chunk_lines(lines):
            cid = con.execute(
                "INSERT INTO chunks(doc_id, start_line) VALUES (?, ?)", (doc_id, start)
            ).lastrowid
            con.execute(
                "INSERT INTO chunks_fts(rowid, text, title) VALUES (?, ?, ?)",
                (cid, body, title_words),
            )
        return doc_id

    def delete_document(self, con: sqlite3.Connection, doc_id: int) -> None:
        self._delete_chunks(con, doc_id)
        con.execute("DELETE FROM docs WHERE id = ?", (doc_id,))

    @staticmethod
    def _delete_chunks(con: sqlite3.Connection, doc_id: int) -> None:
        con.execute(
            "DELETE FROM chunks_fts WHERE rowid IN (SELECT id FROM chunks WHERE doc_id = ?)",
            (doc_id,),
        )
        con.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))

    def add_attachment(self, sha256: str, name: str, text: str, stored_path: str | Path) -> Doc:
        """Index an attachment too long for the context (key ``attachment:<sha256>``); the same
        content is indexed once however many chats attach it."""
        key = ATTACHMENT_PREFIX + sha256
        existing = self.doc_by_key(key)
        if existing is not None and existing.sha256 == sha256:
            return existing
        with self.writing() as con:
            self.put_document(
                con,
                key=key,
                path=str(stored_path),
                rel=name,
                text=text,
                folder_id=None,
                sha256=sha256,
                size=len(text.encode("utf-8", "replace")),
            )
        doc = self.doc_by_key(key)
        assert doc is not None
        return doc

    def doc(self, doc_id: int) -> Doc | None:
        row = (
            self.connection()
            .execute(f"SELECT {_DOC_COLS} FROM docs WHERE id = ?", (doc_id,))
            .fetchone()
        )
        return doc_from_row(row) if row else None

    def doc_by_key(self, key: str) -> Doc | None:
        row = (
            self.connection()
            .execute(f"SELECT {_DOC_COLS} FROM docs WHERE key = ?", (key,))
            .fetchone()
        )
        return doc_from_row(row) if row else None

    def docs_named(self, name: str) -> list[Doc]:
        """Documents whose shown path is ``name`` or ends with ``/name``."""
        rows = self.connection().execute(
            f"SELECT {_DOC_COLS} FROM docs WHERE rel = ? OR rel LIKE ? ESCAPE '\\' OR path = ?",
            (name, "%/" + _like_escape(name), name),
        )
        return [doc_from_row(r) for r in rows]

    def text_lines(self, doc_id: int) -> list[str]:
        """The document's lines, as indexed (index 0 is line 1)."""
        rows = self.connection().execute(
            "SELECT f.text FROM chunks c JOIN chunks_fts f ON f.rowid = c.id "
            "WHERE c.doc_id = ? ORDER BY c.start_line",
            (doc_id,),
        )
        return "\n".join(r[0] for r in rows).split("\n")

    def stats(self) -> dict[str, int]:
        con = self.connection()
        docs, size = con.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM docs").fetchone()
        chunks = con.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        return {"docs": docs, "bytes": size, "chunks": chunks, "index_bytes": self.size_bytes()}

    def size_bytes(self) -> int:
        """The index's size on disk (database and write-ahead log), for Settings."""
        total = 0
        for suffix in ("", "-wal", "-shm"):
            p = self.path.with_name(self.path.name + suffix)
            if p.exists():
                total += p.stat().st_size
        return total

    def scope_ids(
        self, folders: Iterable[str | Path] = (), attachments: Iterable[str] = ()
    ) -> tuple[list[int], list[str]]:
        """(folder ids, attachment keys) the caller may read; unknown folders are left out."""
        wanted = {str(Path(f).expanduser().resolve()) for f in folders}
        ids = [f.id for f in self.folder_list() if f.path in wanted]
        return ids, [ATTACHMENT_PREFIX + s for s in attachments]


def _like_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
