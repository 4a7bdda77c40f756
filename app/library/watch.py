"""Keeping a Library folder current between full syncs (no Qt): what changed in one directory.

A file watcher (Qt's QFileSystemWatcher in the window) says *that* a directory changed (a file
created, deleted, renamed or saved by an editor that replaces the file), not which file. This
compares the directory's entries with the index, so only the files that differ are read again
(``sync_file`` each); a new sub-folder's files are all new. Edits made in place (the directory
itself unchanged) are caught by the periodic ``sync_folder``, which compares every file's size
and time without reading it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from app.library.index import LibraryIndex
from app.library.sync import SKIP_DIRS, sync_file, walk


@dataclass
class DirChanges:
    changed: list[str] = field(default_factory=list)  # files to sync_file
    new_dirs: list[str] = field(default_factory=list)  # sub-folders to watch too
    added: int = 0
    updated: int = 0
    removed: int = 0


def folder_dirs(root: str | Path, limit: int = 5000) -> list[str]:
    """The directories a watcher should watch under a Library folder (the same ones ``walk``
    reads: no hidden or skipped folders), at most ``limit`` (inotify's watches are a per-user
    budget; a larger tree is kept current by the periodic sync alone)."""
    out = [str(root)]
    stack = [str(root)]
    while stack and len(out) < limit:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for e in entries:
            try:
                if (
                    not e.name.startswith(".")
                    and e.name not in SKIP_DIRS
                    and e.is_dir(follow_symlinks=False)
                ):
                    out.append(e.path)
                    stack.append(e.path)
            except OSError:
                continue
    return out[:limit]


def dir_changes(index: LibraryIndex, directory: str | Path) -> DirChanges:
    """The files of ``directory`` (and of sub-folders that appeared or vanished) whose index
    entry is missing, stale or orphaned."""
    d = str(Path(directory))
    out = DirChanges()
    folder = next((f for f in index.folder_list() if Path(d).is_relative_to(f.path)), None)
    if folder is None:
        return out
    prefix = d.rstrip(os.sep) + os.sep
    con = index.connection()
    # Everything indexed (or skipped as not text) under the directory: a key range, not LIKE.
    known: dict[str, tuple[int, int]] = {}
    for table in ("docs", "skipped"):
        for key, mtime, size in con.execute(
            f"SELECT key, mtime_ns, size FROM {table} WHERE folder_id = ? AND key >= ? AND key < ?",
            (folder.id, prefix, prefix + "\U0010ffff"),
        ):
            known[str(key)] = (int(mtime), int(size))
    try:
        entries = list(os.scandir(d))
    except OSError:
        entries = []  # the directory itself is gone: everything under it goes
    for e in entries:
        if e.name.startswith("."):
            continue
        try:
            if e.is_file(follow_symlinks=False):
                st = e.stat(follow_symlinks=False)
                if known.get(e.path) != (st.st_mtime_ns, st.st_size):
                    out.changed.append(e.path)
            elif e.is_dir(follow_symlinks=False) and e.name not in SKIP_DIRS:
                below = e.path + os.sep
                if not any(k.startswith(below) for k in known):
                    out.new_dirs.append(e.path)  # new (or moved in): all of it is new
                    out.changed.extend(path for path, _ in walk(Path(e.path)))
        except OSError:
            continue
    out.changed.extend(k for k in known if not os.path.exists(k))
    return out


def sync_dir(index: LibraryIndex, directory: str | Path) -> DirChanges:
    """Bring one directory's files up to date in the index (what a watcher calls)."""
    changes = dir_changes(index, directory)
    for path in dict.fromkeys(changes.changed):
        try:
            report = sync_file(index, path)
        except ValueError:  # no longer in a Library folder (removed meanwhile)
            continue
        changes.added += report.added
        changes.updated += report.updated
        changes.removed += report.removed
    return changes
