"""What can go wrong with the conversation database, in words a user can act on.

Every error names the problem and the way out. ``translate`` turns a raw ``sqlite3`` error into
the right subclass so callers (CLI, GUI) only ever catch ``StoreError``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


class StoreError(Exception):
    """Base class. ``message`` says what happened, ``hint`` what the user can do about it."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


class DatabaseNewerError(StoreError):
    """The database was written by a newer Hearth; it is left untouched."""


class DatabaseCorruptError(StoreError):
    """Not a database, or a damaged one. Hearth never modifies it; ``Store.move_aside`` can."""

    def __init__(self, message: str, hint: str = "", path: Path | None = None) -> None:
        super().__init__(message, hint)
        self.path = path


class DatabaseLockedError(StoreError):
    """Another program holds the write lock longer than the busy timeout."""


class DiskFullError(StoreError):
    """No space left for the database (or its size limit reached)."""


class ReadOnlyError(StoreError):
    """The database (or its folder) cannot be written, or the store was opened read-only."""


class CannotOpenError(StoreError):
    """The database file or its folder cannot be opened at all."""


class NotFoundError(StoreError):
    """No conversation or message with that id."""


class InvalidRequestError(StoreError):
    """A request that makes no sense for the data (e.g. an empty title)."""


class ImportFormatError(StoreError):
    """A file given to import is not a valid Hearth conversation export."""


def translate(exc: sqlite3.Error, path: Path | str | None) -> StoreError:
    """Map a sqlite3 error to a ``StoreError`` subclass with a user-facing message."""
    where = str(path) if path else "the conversation database"
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    text = str(exc).lower()
    if primary == sqlite3.SQLITE_FULL or "disk is full" in text:
        return DiskFullError(
            f"The disk is full: the conversation database could not be saved ({where}).",
            "Free some disk space; what you have so far is kept.",
        )
    if primary == sqlite3.SQLITE_READONLY or "readonly database" in text:
        return ReadOnlyError(
            f"The conversation database is read-only ({where}).",
            "Check the permissions of the file and its folder; chats cannot be saved until then.",
        )
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "locked" in text:
        return DatabaseLockedError(
            f"The conversation database is locked by another program ({where}).",
            "Close the other Hearth window or program using it and try again.",
        )
    if primary in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT) or (
        "not a database" in text or "malformed" in text
    ):
        return DatabaseCorruptError(
            f"The conversation database is damaged or not a database ({where}).",
            "Hearth left it untouched. Move it aside to start with an empty history, "
            "or restore it from a backup.",
            Path(path) if path else None,
        )
    if primary == sqlite3.SQLITE_CANTOPEN or "unable to open" in text:
        return CannotOpenError(
            f"The conversation database cannot be opened ({where}).",
            "Check that its folder exists and that you may read and write it.",
        )
    if primary == sqlite3.SQLITE_PERM or primary == sqlite3.SQLITE_AUTH:
        return ReadOnlyError(
            f"Permission denied on the conversation database ({where}).",
            "Check the permissions of the file and its folder.",
        )
    if primary == sqlite3.SQLITE_IOERR or "disk i/o error" in text:
        return StoreError(
            f"A disk error occurred while using the conversation database ({where}).",
            "Check the disk; your chats on disk were not changed by Hearth.",
        )
    return StoreError(f"Database error: {exc} ({where}).", "Please report this problem.")
