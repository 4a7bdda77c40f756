"""Keeping a Library folder's index current, incrementally.

A sync walks the folder, compares each file's (mtime, size) with what was indexed, reads and
re-indexes only files that changed (a file whose bytes hash the same is just re-stamped), and
removes files that are gone. Files that are not text (images, archives…) are remembered as
skipped and not read again until they change. Work is committed in batches, so a search during a
long first index already finds what is done, and a crash loses one batch at most.

A file edited while it is being read is stamped as unknown and read again on the next sync, so
the index never keeps a half-old version as current.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from app.attachments.extract import KIND_BY_EXTENSION, MAX_FILE_BYTES, AttachmentError, extract_text
from app.library.index import Folder, LibraryIndex

# Folders no one means as documents: version control, dependencies, build output, caches.
SKIP_DIRS = frozenset(
    """.git .hg .svn node_modules __pycache__ .venv venv .tox .mypy_cache .ruff_cache
    .pytest_cache .idea .vscode build dist target .gradle .cache .Trash""".split()  # noqa: SIM905
)
BATCH_FILES = 200
BATCH_SECONDS = 1.0

Progress = Callable[[int, int, str], None]  # (files done, files found, current file's rel path)


@dataclass
class SyncReport:
    folder: str
    found: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped: int = 0  # not text (kept out of the index), with reasons in ``skipped_reasons``
    changed_while_read: int = 0
    cancelled: bool = False
    seconds: float = 0.0
    skipped_reasons: dict[str, str] = field(default_factory=dict)  # rel path -> sentence (≤ 50)


def walk(root: Path) -> Iterator[tuple[str, os.stat_result]]:
    """Regular files under ``root`` (no hidden files or folders, none of SKIP_DIRS, no links
    out of the folder), as (path, stat). Plain strings: pathlib costs ~10 µs a file here, which
    is most of a 10,000-file walk."""
    stack = [str(root)]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for e in sorted(entries, key=lambda e: e.name):
            if e.name.startswith("."):
                continue
            try:
                if e.is_dir(follow_symlinks=False):
                    if e.name not in SKIP_DIRS:
                        stack.append(e.path)
                elif e.is_file(follow_symlinks=False):
                    yield e.path, e.stat(follow_symlinks=False)
            except OSError:
                continue


def sync_folder(
    index: LibraryIndex,
    folder: Folder | str | Path,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> SyncReport:
    """Bring the index of one Library folder up to date; returns what changed."""
    if not isinstance(folder, Folder):
        found = index.folder(folder)
        folder = found if found is not None else index.add_folder(folder)
    t0 = time.perf_counter()
    root = Path(folder.path)
    report = SyncReport(folder.path)
    con = index.connection()
    known = {
        key: (doc_id, mtime, size, sha)
        for doc_id, key, mtime, size, sha in con.execute(
            "SELECT id, key, mtime_ns, size, sha256 FROM docs WHERE folder_id = ?", (folder.id,)
        )
    }
    skipped = {
        key: (mtime, size)
        for key, mtime, size in con.execute(
            "SELECT key, mtime_ns, size FROM skipped WHERE folder_id = ?", (folder.id,)
        )
    }
    files = list(walk(root)) if root.is_dir() else []
    report.found = len(files)
    seen: set[str] = set()
    batch = _Batch(index)
    try:
        prefix = len(str(root)) + 1
        for done, (key, st) in enumerate(files, start=1):
            if cancel is not None and cancel.is_set():
                report.cancelled = True
                break
            seen.add(key)
            rel = key[prefix:].replace(os.sep, "/")
            if progress is not None:
                progress(done, report.found, rel)
            stamp = (st.st_mtime_ns, st.st_size)
            old = known.get(key)
            if old is not None and (old[1], old[2]) == stamp:
                report.unchanged += 1
                continue
            if skipped.get(key) == stamp:
                report.skipped += 1
                continue
            _index_file(batch, folder, root, Path(key), rel, st, old, report)
            batch.maybe_commit()
        if not report.cancelled:
            gone = [v[0] for k, v in known.items() if k not in seen]
            con_w = batch.begin()
            for doc_id in gone:
                index.delete_document(con_w, doc_id)
            con_w.executemany(
                "DELETE FROM skipped WHERE key = ?", [(k,) for k in skipped if k not in seen]
            )
            report.removed = len(gone)
        batch.commit()
    finally:
        batch.close()
    report.seconds = time.perf_counter() - t0
    return report


def sync_file(index: LibraryIndex, path: str | Path) -> SyncReport:
    """Bring one file of a Library folder up to date (a file watcher saw it change, appear or
    disappear) without walking the folder."""
    t0 = time.perf_counter()
    p = Path(path).expanduser().resolve()
    folder = next((f for f in index.folder_list() if p.is_relative_to(f.path)), None)
    if folder is None:
        raise ValueError(f"{p} is not in a Library folder")
    report = SyncReport(folder.path)
    row = (
        index.connection()
        .execute("SELECT id, mtime_ns, size, sha256 FROM docs WHERE key = ?", (str(p),))
        .fetchone()
    )
    old = (int(row[0]), int(row[1]), int(row[2]), str(row[3])) if row else None
    batch = _Batch(index)
    try:
        try:
            st = p.stat()
        except FileNotFoundError:
            con = batch.begin()
            if old is not None:
                index.delete_document(con, old[0])
                report.removed = 1
            con.execute("DELETE FROM skipped WHERE key = ?", (str(p),))
        else:
            report.found = 1
            if old is not None and (old[1], old[2]) == (st.st_mtime_ns, st.st_size):
                report.unchanged = 1
            else:
                root = Path(folder.path)
                rel = p.relative_to(root).as_posix()
                _index_file(batch, folder, root, p, rel, st, old, report)
        batch.commit()
    finally:
        batch.close()
    report.seconds = time.perf_counter() - t0
    return report


def _index_file(
    batch: _Batch,
    folder: Folder,
    root: Path,
    path: Path,
    rel: str,
    st: os.stat_result,
    old: tuple[int, int, int, str] | None,
    report: SyncReport,
) -> None:
    key = str(path)
    kind = KIND_BY_EXTENSION.get(path.suffix.lower())
    if kind is not None or st.st_size > MAX_FILE_BYTES:
        reason = f"{path.name} is not text ({kind})" if kind else f"{path.name} is too large"
        _skip(batch, folder, report, key, rel, st, reason, old)
        return
    try:
        extracted = extract_text(path)
        digest = _sha256(path)
        after = path.stat()
    except AttachmentError as e:
        if path.exists():  # (a file deleted since the walk is not "skipped": it is gone)
            _skip(batch, folder, report, key, rel, st, str(e), old)
        return
    except OSError:  # gone or unreadable since the walk: the next sync sees the truth
        return
    changed_meanwhile = (after.st_mtime_ns, after.st_size) != (st.st_mtime_ns, st.st_size)
    if changed_meanwhile:
        report.changed_while_read += 1
    # A stamp of 0 makes the next sync read it again (it changed while we read it).
    mtime = 0 if changed_meanwhile else st.st_mtime_ns
    con = batch.begin()
    if old is not None and old[3] == digest and not changed_meanwhile:
        con.execute(
            "UPDATE docs SET mtime_ns = ?, size = ? WHERE id = ?", (mtime, st.st_size, old[0])
        )
        report.unchanged += 1
        return
    batch.index.put_document(
        con,
        key=key,
        path=key,
        rel=f"{root.name}/{rel}",
        text=extracted.text,
        folder_id=folder.id,
        mtime_ns=mtime,
        size=st.st_size,
        sha256=digest,
    )
    con.execute("DELETE FROM skipped WHERE key = ?", (key,))
    batch.pending += 1
    if old is None:
        report.added += 1
    else:
        report.updated += 1


def _skip(
    batch: _Batch,
    folder: Folder,
    report: SyncReport,
    key: str,
    rel: str,
    st: os.stat_result,
    reason: str,
    old: tuple[int, int, int, str] | None,
) -> None:
    con = batch.begin()
    if old is not None:  # it was text before: it is not any more
        batch.index.delete_document(con, old[0])
    con.execute(
        "INSERT OR REPLACE INTO skipped(key, folder_id, mtime_ns, size, reason) "
        "VALUES (?, ?, ?, ?, ?)",
        (key, folder.id, st.st_mtime_ns, st.st_size, reason),
    )
    report.skipped += 1
    if len(report.skipped_reasons) < 50:
        report.skipped_reasons[rel] = reason


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


class _Batch:
    """A write transaction held across many files, committed every BATCH_FILES files or
    BATCH_SECONDS, so readers see progress and the write lock is released now and then."""

    def __init__(self, index: LibraryIndex) -> None:
        self.index = index
        self.open = False
        self.pending = 0
        self.started = 0.0

    def begin(self) -> sqlite3.Connection:
        if not self.open:
            con = self.index.begin_write()
            self.open = True
            self.started = time.monotonic()
            return con
        return self.index.connection()

    def maybe_commit(self) -> None:
        if self.open and (
            self.pending >= BATCH_FILES or time.monotonic() - self.started > BATCH_SECONDS
        ):
            self.commit()

    def commit(self) -> None:
        if self.open:
            self.open = False
            self.pending = 0
            self.index.end_write()

    def close(self) -> None:
        if self.open:
            self.open = False
            self.index.end_write(commit=False)
