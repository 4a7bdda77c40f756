"""The conversation database: one SQLite connection, its transactions, opening and closing.

Threads: the GUI calls the store from its GUI thread and from the generation worker thread. A
store owns one connection (``check_same_thread=False``) guarded by a re-entrant lock; every
public method takes the lock, and every write is one short ``BEGIN IMMEDIATE`` transaction. Calls
are short (a streaming save is one UPDATE), so sharing one connection costs nothing noticeable and
rules out two of our own connections waiting on each other's locks. Other processes (a second
Hearth, the CLI) wait up to ``busy_timeout`` for the write lock; WAL lets them read meanwhile.

Durability: WAL with ``synchronous=NORMAL``: a committed transaction survives the process being
killed (SIGKILL, crash); only a power cut may lose the last moments. Opening turns any message
left ``streaming`` by a killed process into ``interrupted``, text kept.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

from app import paths
from app.store import migrations
from app.store.errors import (
    CannotOpenError,
    DatabaseCorruptError,
    DatabaseLockedError,
    DatabaseNewerError,
    DiskFullError,
    InvalidRequestError,
    ReadOnlyError,
    StoreError,
    translate,
)


def _take_instance_lock(db: Path) -> tuple[int | None, bool]:
    """Hold a shared lock on ``NAME.lock`` while this store is open; report whether this process
    is the only one (an exclusive lock could be had first). Where locks are unavailable (no
    fcntl, read-only folder), assume alone: recovering too eagerly beats never recovering."""
    if fcntl is None:
        return None, True
    try:
        fd = os.open(db.with_name(db.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return None, True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        alone = True
    except OSError:
        alone = False
    fcntl.flock(fd, fcntl.LOCK_SH)  # converts the exclusive lock, or waits out another's
    return fd, alone


def _release_instance_lock(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)  # closing releases the flock


class Database:
    """The connection, its lock and transactions, opening (creating, upgrading, recovering)
    and closing. ``Store`` adds conversations and messages on top."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path | None,
        *,
        readonly_reason: StoreError | None = None,
        recovered: int = 0,
        instance_lock: int | None = None,
    ) -> None:
        self._conn = conn
        self._instance_lock = instance_lock
        self._lock = threading.RLock()
        self.path = path
        # Why the store is read-only (None: writable). The GUI shows it as a banner.
        self.readonly_reason = readonly_reason
        self.recovered = recovered  # messages turned from streaming to interrupted at open

    # ----------------------------------------------------------------------------- opening
    @classmethod
    def open(
        cls,
        path: Path | str | None = None,
        *,
        readonly: bool = False,
        readonly_fallback: bool = False,
        busy_timeout: float = 5.0,
    ) -> Self:
        """Open (creating or upgrading) the database at ``path`` (default: ``database_path()``).

        Raises ``DatabaseNewerError`` or ``DatabaseCorruptError`` (never touching the file),
        ``ReadOnlyError``, ``DatabaseLockedError``, ``DiskFullError`` or ``CannotOpenError``.
        With ``readonly_fallback`` the last four instead give a read-only store whose
        ``readonly_reason`` says why, so the app still starts and shows the history.
        """
        db = Path(path) if path is not None else paths.database_path()
        if readonly:
            return cls._open_readonly(db, busy_timeout, None)
        try:
            return cls._open_writable(db, busy_timeout)
        except (ReadOnlyError, DatabaseLockedError, DiskFullError, CannotOpenError) as exc:
            if not readonly_fallback:
                raise
            return cls._open_readonly(db, busy_timeout, exc)

    @classmethod
    def _open_writable(cls, db: Path, busy_timeout: float) -> Self:
        if not db.parent.is_dir():
            try:
                db.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise CannotOpenError(
                    f"The folder for the conversation database cannot be created ({db.parent}): "
                    f"{exc.strerror}.",
                    "Check the permissions of its parent folder or set HEARTH_HOME elsewhere.",
                ) from exc
        if not os.access(db.parent, os.W_OK):
            # SQLite needs the folder too: for the database itself and its -wal/-shm files.
            what = "saved" if db.exists() else "created"
            raise ReadOnlyError(
                f"The data folder is read-only, so conversations cannot be {what} ({db.parent}).",
                "Make the folder writable or set HEARTH_HOME to a writable folder.",
            )
        conn = cls._connect(str(db), uri=False, busy_timeout=busy_timeout, path=db)
        try:
            cls._check_version(conn, db)
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            conn.execute("PRAGMA foreign_keys = ON")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal" and db.exists() and not os.access(db, os.W_OK):
                raise ReadOnlyError(
                    f"The conversation database file is read-only ({db}).",
                    "Make the file writable; until then Hearth can only show your chats.",
                )
            conn.execute("PRAGMA synchronous = NORMAL")
            migrations.apply(conn)
            lock_fd, alone = _take_instance_lock(db)
            try:
                # Only when no other Hearth process has the database open: a 'streaming' row
                # may belong to a live one (the GUI while `hearth history` runs).
                recovered = cls._recover(conn) if alone else 0
            except BaseException:
                _release_instance_lock(lock_fd)
                raise
        except sqlite3.Error as exc:
            conn.close()
            raise translate(exc, db) from exc
        except BaseException:
            conn.close()
            raise
        return cls(conn, db, recovered=recovered, instance_lock=lock_fd)

    @classmethod
    def _open_readonly(cls, db: Path, busy_timeout: float, reason: StoreError | None) -> Self:
        """A store that reads ``db`` (never writes it). If the file is missing or at an older
        schema, an in-memory copy brought up to date is used, so reading code sees one schema."""
        reason = reason or ReadOnlyError(
            "The conversation history was opened read-only.", "Chats cannot be saved."
        )
        memory = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        if not db.exists():
            migrations.apply(memory)
            memory.execute("PRAGMA query_only = ON")
            return cls(memory, db, readonly_reason=reason)
        uri = db.resolve().as_uri() + "?mode=ro"
        conn = cls._connect(uri, uri=True, busy_timeout=busy_timeout, path=db)
        try:
            try:
                version = cls._check_version(conn, db)
            except sqlite3.OperationalError:
                # A WAL database in a read-only folder without its -shm file: nobody can be
                # writing it, so reading it as immutable is safe.
                conn.close()
                conn = cls._connect(uri + "&immutable=1", uri=True, busy_timeout=0, path=db)
                version = cls._check_version(conn, db)
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            if version == migrations.SCHEMA_VERSION:
                conn.execute("PRAGMA query_only = ON")
                memory.close()
                return cls(conn, db, readonly_reason=reason)
            conn.backup(memory)
            conn.close()
            migrations.apply(memory)
            memory.execute("PRAGMA query_only = ON")
            return cls(memory, db, readonly_reason=reason)
        except sqlite3.Error as exc:
            conn.close()
            memory.close()
            raise translate(exc, db) from exc
        except BaseException:
            conn.close()
            memory.close()
            raise

    @staticmethod
    def _connect(target: str, *, uri: bool, busy_timeout: float, path: Path) -> sqlite3.Connection:
        try:
            return sqlite3.connect(
                target,
                uri=uri,
                timeout=busy_timeout,
                isolation_level=None,  # autocommit; we BEGIN/COMMIT explicitly
                check_same_thread=False,  # shared by the GUI and worker threads, see module doc
            )
        except sqlite3.Error as exc:
            raise translate(exc, path) from exc

    @staticmethod
    def _check_version(conn: sqlite3.Connection, db: Path) -> int:
        """Read-only checks before anything is written: ours, and not from a newer Hearth."""
        version = migrations.user_version(conn)
        if version > migrations.SCHEMA_VERSION:
            conn.close()
            raise DatabaseNewerError(
                f"The conversation database was written by a newer version of Hearth "
                f"(schema {version}; this version knows up to {migrations.SCHEMA_VERSION}).",
                "Update Hearth to open it. The file was not modified.",
            )
        if version == 0:
            foreign = conn.execute(
                "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
            ).fetchone()[0]
            if foreign:
                conn.close()
                raise DatabaseCorruptError(
                    f"{db} is an SQLite database, but not a Hearth conversation database.",
                    "Hearth left it untouched. Move it aside or set HEARTH_HOME elsewhere.",
                    db,
                )
        return version

    @staticmethod
    def _recover(conn: sqlite3.Connection) -> int:
        """Replies left 'streaming' by a process that died are 'interrupted', text kept."""
        cur = conn.execute("UPDATE messages SET status = 'interrupted' WHERE status = 'streaming'")
        return cur.rowcount

    @staticmethod
    def move_aside(path: Path | str | None = None) -> Path:
        """Rename a damaged database (and its -wal/-shm) to ``NAME.broken-YYYYmmdd-HHMMSS`` so a
        fresh one can be created. Only on the user's explicit request; nothing is deleted."""
        db = Path(path) if path is not None else paths.database_path()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = db.with_name(f"{db.name}.broken-{stamp}")
        n = 1
        while target.exists():
            n += 1
            target = db.with_name(f"{db.name}.broken-{stamp}-{n}")
        try:
            for suffix in ("-wal", "-shm"):
                side = db.with_name(db.name + suffix)
                if side.exists():
                    side.rename(target.with_name(target.name + suffix))
            if db.exists():
                db.rename(target)
        except OSError as exc:
            raise CannotOpenError(
                f"The damaged database could not be moved aside ({db}): {exc.strerror}.",
                "Check the permissions of the data folder.",
            ) from exc
        return target

    # ----------------------------------------------------------------------------- plumbing
    @property
    def readonly(self) -> bool:
        return self.readonly_reason is not None

    @property
    def schema_version(self) -> int:
        with self._read() as conn:
            return migrations.user_version(conn)

    def close(self) -> None:
        with self._lock:
            try:
                if not self.readonly:
                    self._conn.execute("PRAGMA optimize")
            except sqlite3.Error:
                pass  # closing must not fail on a full or locked disk
            self._conn.close()
            _release_instance_lock(self._instance_lock)
            self._instance_lock = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise translate(exc, self.path) from exc

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction; any sqlite error becomes a StoreError, nothing half-done."""
        if self.readonly_reason is not None:
            raise ReadOnlyError(self.readonly_reason.message, self.readonly_reason.hint)
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise translate(exc, self.path) from exc
            except UnicodeEncodeError as exc:  # a lone surrogate cannot be stored as UTF-8
                raise InvalidRequestError(
                    "The text contains characters that cannot be saved (unpaired surrogates).",
                    "Remove them and try again.",
                ) from exc

    def execute_raw(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run SQL on the store's connection (maintenance, PRAGMAs, tests, benchmarks)."""
        with self._read() as conn:
            return conn.execute(sql, params).fetchall()
