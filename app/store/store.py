"""The conversation store: one SQLite database with branching messages, search and a trash.

Threads: the GUI calls the store from its GUI thread and from the generation worker thread. A
``Store`` owns one connection (``check_same_thread=False``) guarded by a re-entrant lock; every
public method takes the lock, and every write is one short ``BEGIN IMMEDIATE`` transaction. Calls
are short (a streaming save is one UPDATE), so sharing one connection costs nothing noticeable and
rules out two of our own connections waiting on each other's locks. Other processes (a second
Hearth, the CLI) wait up to ``busy_timeout`` for the write lock; WAL lets them read meanwhile.

Durability: WAL with ``synchronous=NORMAL``: a committed transaction survives the process being
killed (SIGKILL, crash); only a power cut may lose the last moments. ``Store.open`` turns any
message left ``streaming`` by a killed process into ``interrupted``, text kept.
"""

from __future__ import annotations

import itertools
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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
    NotFoundError,
    ReadOnlyError,
    StoreError,
    translate,
)
from app.store.models import (
    MARK_END,
    MARK_START,
    ROLES,
    STATUSES,
    Conversation,
    Message,
    SearchHit,
    Siblings,
    dumps,
    loads,
)

_UNSET: Any = object()
_MSG_COLS = (
    "id, conversation_id, parent_id, role, content, reasoning, name, tool_calls, model, status,"
    " error, stats, created_at, updated_at, tool_result, attachments"
)
_INSERT_MSG = (
    f"INSERT INTO messages ({_MSG_COLS.replace('id, ', '', 1)})"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_CONV_COLS = "id, title, created_at, updated_at, pinned, settings, active_leaf_id, deleted_at"
TITLE_MAX = 60
PREFIX_MIN = 3


def make_title(text: str, limit: int = TITLE_MAX) -> str:
    """A chat title from the first user message: one line, no Markdown marks, cut at a word."""
    line = " ".join(text.split())
    line = re.sub(r"^(?:[#>*\-+`\s]|\d+\.\s)+", "", line).strip()
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-") + "…"


def fts_query(text: str) -> str:
    """User text -> a safe FTS5 query: every word quoted (so ``AND``, ``"`` or ``*`` are just
    text), all words required, the last one as a prefix (search as you type) once it has
    PREFIX_MIN characters: "t*" would match nearly every message and rank them all. "" if no
    words."""
    words = re.findall(r"\w+", text)
    if not words:
        return ""
    quoted = [f'"{w}"' for w in words]
    if len(words[-1]) >= PREFIX_MIN:
        quoted[-1] += "*"
    return " ".join(quoted)


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


def _message(row: Sequence[Any]) -> Message:
    return Message(
        id=row[0],
        conversation_id=row[1],
        parent_id=row[2],
        role=row[3],
        content=row[4],
        reasoning=row[5],
        name=row[6],
        tool_calls=loads(row[7]),
        model=row[8],
        status=row[9],
        error=row[10],
        stats=loads(row[11]),
        created_at=row[12],
        updated_at=row[13],
        tool_result=loads(row[14]),
        attachments=loads(row[15]),
    )


def _conversation(row: Sequence[Any], count: int = 0) -> Conversation:
    return Conversation(
        id=row[0],
        title=row[1],
        created_at=row[2],
        updated_at=row[3],
        pinned=bool(row[4]),
        settings=loads(row[5]) or {},
        active_leaf_id=row[6],
        deleted_at=row[7],
        message_count=count,
    )


class Store:
    """Open with ``Store.open()``; use as a context manager or call ``close()``."""

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
    ) -> Store:
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
    def _open_writable(cls, db: Path, busy_timeout: float) -> Store:
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
    def _open_readonly(cls, db: Path, busy_timeout: float, reason: StoreError | None) -> Store:
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

    def __enter__(self) -> Store:
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

    # ----------------------------------------------------------------------------- conversations
    def create_conversation(
        self, title: str = "", settings: dict[str, Any] | None = None, *, pinned: bool = False
    ) -> Conversation:
        now = time.time()
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT INTO conversations (title, created_at, updated_at, pinned, settings)"
                " VALUES (?, ?, ?, ?, ?)",
                (title.strip(), now, now, int(pinned), dumps(settings or {})),
            )
            cid = int(cur.lastrowid or 0)
        return self.get_conversation(cid)

    def get_conversation(self, conversation_id: int) -> Conversation:
        """Any conversation, trashed or not. Raises NotFoundError."""
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {_CONV_COLS} FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
            if row is None:
                raise NotFoundError(
                    f"No conversation with id {conversation_id}.",
                    "List them with `hearth history list`.",
                )
            count = conn.execute(
                "SELECT count(*) FROM messages WHERE conversation_id = ?", (conversation_id,)
            ).fetchone()[0]
        return _conversation(row, count)

    def list_conversations(
        self, *, trashed: bool = False, limit: int | None = None, offset: int = 0
    ) -> list[Conversation]:
        """Pinned first, then most recently updated; with message counts. ``trashed=True`` lists
        the trash instead (most recently deleted first)."""
        where = "deleted_at IS NOT NULL" if trashed else "deleted_at IS NULL"
        order = "deleted_at DESC" if trashed else "pinned DESC, updated_at DESC, id DESC"
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {_CONV_COLS}, (SELECT count(*) FROM messages m"
                f" WHERE m.conversation_id = c.id) FROM conversations c WHERE {where}"
                f" ORDER BY {order} LIMIT ? OFFSET ?",
                (-1 if limit is None else limit, offset),
            ).fetchall()
        return [_conversation(r, r[8]) for r in rows]

    def latest_conversation(self) -> Conversation | None:
        """The most recently updated conversation not in the trash (for ``--continue``)."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT id FROM conversations WHERE deleted_at IS NULL"
                " ORDER BY updated_at DESC, id DESC LIMIT 1"
            ).fetchone()
        return None if row is None else self.get_conversation(row[0])

    def rename(self, conversation_id: int, title: str) -> None:
        title = " ".join(title.split())
        if not title:
            raise InvalidRequestError("A chat title cannot be empty.", "Give it a name.")
        self._update_conversation(conversation_id, "title = ?", (title,))

    def set_pinned(self, conversation_id: int, pinned: bool) -> None:
        self._update_conversation(conversation_id, "pinned = ?", (int(pinned),))

    def update_settings(self, conversation_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        """Merge ``changes`` into the chat's settings (a None value removes the key)."""
        with self._tx() as conn:
            row = conn.execute(
                "SELECT settings FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
            if row is None:
                raise NotFoundError(f"No conversation with id {conversation_id}.")
            settings = loads(row[0]) or {}
            for key, value in changes.items():
                if value is None:
                    settings.pop(key, None)
                else:
                    settings[key] = value
            conn.execute(
                "UPDATE conversations SET settings = ? WHERE id = ?",
                (dumps(settings), conversation_id),
            )
        return settings

    def trash(self, conversation_id: int) -> None:
        """Move to the trash (``restore`` undoes it; only ``empty_trash`` deletes)."""
        self._update_conversation(conversation_id, "deleted_at = ?", (time.time(),))

    def restore(self, conversation_id: int) -> None:
        self._update_conversation(conversation_id, "deleted_at = NULL", ())

    def empty_trash(self) -> int:
        """Delete every trashed conversation for good. Returns how many."""
        with self._tx() as conn:
            ids = [
                r[0]
                for r in conn.execute("SELECT id FROM conversations WHERE deleted_at IS NOT NULL")
            ]
            for cid in ids:
                # Children first, so the parent_id cascade never walks a deep tree recursively.
                conn.execute(
                    "UPDATE messages SET parent_id = NULL WHERE conversation_id = ?", (cid,)
                )
                conn.execute("DELETE FROM messages WHERE conversation_id = ?", (cid,))
                conn.execute("DELETE FROM conversations WHERE id = ?", (cid,))
        return len(ids)

    def _update_conversation(self, cid: int, assignment: str, params: tuple[Any, ...]) -> None:
        with self._tx() as conn:
            cur = conn.execute(
                f"UPDATE conversations SET {assignment} WHERE id = ?", (*params, cid)
            )
            if cur.rowcount == 0:
                raise NotFoundError(
                    f"No conversation with id {cid}.", "List them with `hearth history list`."
                )

    # ----------------------------------------------------------------------------- messages
    def add_message(
        self,
        conversation_id: int,
        role: str,
        content: str = "",
        *,
        parent_id: int | None = _UNSET,
        reasoning: str = "",
        name: str | None = None,
        tool_calls: list[dict[str, Any]] | None = None,
        model: str | None = None,
        status: str = "done",
        error: str | None = None,
        stats: dict[str, Any] | None = None,
        tool_result: dict[str, Any] | None = None,
        attachments: list[dict[str, Any]] | None = None,
    ) -> Message:
        """Append a message under ``parent_id`` (default: the active leaf; None: a new root) and
        make it the active leaf. The first user message names an untitled chat."""
        if role not in ROLES:
            raise InvalidRequestError(f"Unknown message role {role!r}.")
        if status not in STATUSES:
            raise InvalidRequestError(f"Unknown message status {status!r}.")
        now = time.time()
        with self._tx() as conn:
            conv = conn.execute(
                "SELECT title, active_leaf_id FROM conversations WHERE id = ?",
                (conversation_id,),
            ).fetchone()
            if conv is None:
                raise NotFoundError(f"No conversation with id {conversation_id}.")
            parent = conv[1] if parent_id is _UNSET else parent_id
            if parent is not None:
                owner = conn.execute(
                    "SELECT conversation_id FROM messages WHERE id = ?", (parent,)
                ).fetchone()
                if owner is None or owner[0] != conversation_id:
                    raise NotFoundError(
                        f"Message {parent} is not part of conversation {conversation_id}."
                    )
            cur = conn.execute(
                _INSERT_MSG,
                (
                    conversation_id,
                    parent,
                    role,
                    content,
                    reasoning,
                    name,
                    dumps(tool_calls),
                    model,
                    status,
                    error,
                    dumps(stats),
                    now,
                    now,
                    dumps(tool_result),
                    dumps(attachments),
                ),
            )
            mid = int(cur.lastrowid or 0)
            self._activate(conn, conversation_id, mid, previous_leaf=conv[1], parent=parent)
            title = conv[0]
            if not title and role == "user":
                title = make_title(content)
            conn.execute(
                "UPDATE conversations SET updated_at = ?, title = ? WHERE id = ?",
                (now, title, conversation_id),
            )
        return self.get_message(mid)

    def edit_message(self, message_id: int, content: str) -> Message:
        """Editing never overwrites: the new text becomes a sibling branch (same parent, same
        role), which becomes active. The original stays reachable with ‹ 1/2 ›."""
        old = self.get_message(message_id)
        return self.add_message(
            old.conversation_id, old.role, content, parent_id=old.parent_id, name=old.name
        )

    def update_message(
        self,
        message_id: int,
        *,
        content: str = _UNSET,
        reasoning: str = _UNSET,
        tool_calls: list[dict[str, Any]] | None = _UNSET,
        model: str | None = _UNSET,
        status: str = _UNSET,
        error: str | None = _UNSET,
        stats: dict[str, Any] | None = _UNSET,
        tool_result: dict[str, Any] | None = _UNSET,
        touch_conversation: bool = False,
    ) -> None:
        """Change fields of a message in one short transaction (the streaming save)."""
        fields: list[str] = []
        params: list[Any] = []
        for column, value, encode in (
            ("content", content, False),
            ("reasoning", reasoning, False),
            ("tool_calls", tool_calls, True),
            ("model", model, False),
            ("status", status, False),
            ("error", error, False),
            ("stats", stats, True),
            ("tool_result", tool_result, True),
        ):
            if value is not _UNSET:
                fields.append(f"{column} = ?")
                params.append(dumps(value) if encode else value)
        if status is not _UNSET and status not in STATUSES:
            raise InvalidRequestError(f"Unknown message status {status!r}.")
        now = time.time()
        fields.append("updated_at = ?")
        params.append(now)
        with self._tx() as conn:
            cur = conn.execute(
                f"UPDATE messages SET {', '.join(fields)} WHERE id = ?", (*params, message_id)
            )
            if cur.rowcount == 0:
                raise NotFoundError(f"No message with id {message_id}.")
            if touch_conversation:
                conn.execute(
                    "UPDATE conversations SET updated_at = ? WHERE id ="
                    " (SELECT conversation_id FROM messages WHERE id = ?)",
                    (now, message_id),
                )

    def get_message(self, message_id: int) -> Message:
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {_MSG_COLS} FROM messages WHERE id = ?", (message_id,)
            ).fetchone()
        if row is None:
            raise NotFoundError(f"No message with id {message_id}.")
        return _message(row)

    def messages(self, conversation_id: int) -> list[Message]:
        """Every message of the conversation (all branches), parents before children."""
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {_MSG_COLS} FROM messages WHERE conversation_id = ? ORDER BY id",
                (conversation_id,),
            ).fetchall()
        return [_message(r) for r in rows]

    def active_path(self, conversation_id: int) -> list[Message]:
        """The visible conversation: root → active leaf."""
        conv = self.get_conversation(conversation_id)
        leaf = conv.active_leaf_id
        if leaf is None:
            with self._read() as conn:
                root = conn.execute(
                    "SELECT max(id) FROM messages WHERE conversation_id = ? AND parent_id IS NULL",
                    (conversation_id,),
                ).fetchone()[0]
                if root is None:
                    return []
                leaf = self._descend(conn, root)
        return self.path_to(leaf)

    def path_to(self, message_id: int) -> list[Message]:
        """Root → ``message_id`` (whatever branch is active): the history a reply to it sees.
        Empty if there is no such message."""
        with self._read() as conn:
            rows = conn.execute(
                "WITH RECURSIVE path(id, depth) AS ("
                " SELECT ?, 0 UNION ALL"
                " SELECT m.parent_id, p.depth + 1 FROM messages m JOIN path p ON m.id = p.id"
                " WHERE m.parent_id IS NOT NULL)"
                f" SELECT {', '.join('m.' + c.strip() for c in _MSG_COLS.split(','))}"
                " FROM path JOIN messages m ON m.id = path.id ORDER BY path.depth DESC",
                (message_id,),
            ).fetchall()
        return [_message(r) for r in rows]

    def siblings(self, message_id: int) -> Siblings:
        """The message among its siblings (oldest first), for the ‹ 2/3 › switcher."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT conversation_id, parent_id FROM messages WHERE id = ?", (message_id,)
            ).fetchone()
            if row is None:
                raise NotFoundError(f"No message with id {message_id}.")
            if row[1] is None:
                ids = conn.execute(
                    "SELECT id FROM messages WHERE conversation_id = ? AND parent_id IS NULL"
                    " ORDER BY id",
                    (row[0],),
                ).fetchall()
            else:
                ids = conn.execute(
                    "SELECT id FROM messages WHERE parent_id = ? ORDER BY id", (row[1],)
                ).fetchall()
        flat = tuple(r[0] for r in ids)
        return Siblings(flat, flat.index(message_id))

    def path_branches(
        self, conversation_id: int, path: list[Message] | None = None
    ) -> dict[int, tuple[int, int]]:
        """For each message on the active path: (position, count) among its siblings, in one
        query, so a chat view can draw every ‹ 2/3 › switcher without a query per message.
        Pass ``path`` if you already have ``active_path()``."""
        if path is None:
            path = self.active_path(conversation_id)
        if not path:
            return {}
        with self._read() as conn:
            rows = conn.execute(
                "SELECT parent_id, id FROM messages WHERE conversation_id = ?"
                " AND (parent_id IS NULL OR parent_id IN"
                " (SELECT value FROM json_each(?))) ORDER BY id",
                (conversation_id, dumps([m.id for m in path])),
            ).fetchall()
        by_parent: dict[int | None, list[int]] = {}
        for parent, mid in rows:
            by_parent.setdefault(parent, []).append(mid)
        out: dict[int, tuple[int, int]] = {}
        for m in path:
            ids = by_parent.get(m.parent_id, [m.id])
            out[m.id] = (ids.index(m.id) + 1, len(ids))
        return out

    def children(self, message_id: int) -> list[int]:
        with self._read() as conn:
            return [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM messages WHERE parent_id = ? ORDER BY id", (message_id,)
                )
            ]

    def switch_to(self, message_id: int) -> int:
        """Show the branch through ``message_id``: the active leaf becomes the descendant the
        user last looked at (or the newest). Returns the new active leaf id."""
        with self._tx() as conn:
            row = conn.execute(
                "SELECT conversation_id FROM messages WHERE id = ?", (message_id,)
            ).fetchone()
            if row is None:
                raise NotFoundError(f"No message with id {message_id}.")
            leaf = self._descend(conn, message_id)
            self._activate(conn, row[0], leaf)
        return leaf

    def switch_sibling(self, message_id: int, step: int) -> int:
        """Move ``step`` siblings left (-1) or right (+1) from ``message_id`` (clamped) and
        show that branch. Returns the new active leaf id."""
        sib = self.siblings(message_id)
        target = sib.ids[max(0, min(sib.count - 1, sib.index + step))]
        return self.switch_to(target)

    @staticmethod
    def _descend(conn: sqlite3.Connection, start: int) -> int:
        current = start
        while True:
            row = conn.execute(
                "SELECT coalesce("
                " (SELECT c.id FROM messages c WHERE c.id = m.selected_child_id"
                "  AND c.parent_id = m.id),"
                " (SELECT max(c.id) FROM messages c WHERE c.parent_id = m.id))"
                " FROM messages m WHERE m.id = ?",
                (current,),
            ).fetchone()
            if row is None or row[0] is None:
                return current
            current = int(row[0])

    @staticmethod
    def _activate(
        conn: sqlite3.Connection,
        cid: int,
        leaf: int,
        *,
        previous_leaf: int | None = None,
        parent: int | None = None,
    ) -> None:
        """Make ``leaf`` the active leaf and remember, on each ancestor, which child leads to
        it (so ‹ › switching later returns to this branch)."""
        if parent is not None and parent == previous_leaf:
            pairs = [(leaf, parent)]  # appending to the visible branch: only the parent changes
        else:
            chain = [
                r[0]
                for r in conn.execute(
                    "WITH RECURSIVE up(id) AS (SELECT ? UNION ALL"
                    " SELECT m.parent_id FROM messages m JOIN up ON m.id = up.id"
                    " WHERE m.parent_id IS NOT NULL) SELECT id FROM up",
                    (leaf,),
                )
            ]
            pairs = list(itertools.pairwise(chain))
        conn.executemany(
            "UPDATE messages SET selected_child_id = ? WHERE id = ? AND selected_child_id IS NOT ?",
            [(child, par, child) for child, par in pairs],
        )
        conn.execute("UPDATE conversations SET active_leaf_id = ? WHERE id = ?", (leaf, cid))

    # ----------------------------------------------------------------------------- search
    def search(
        self, query: str, *, limit: int = 50, conversation_id: int | None = None
    ) -> list[SearchHit]:
        """Full-text search over message text and reasoning, best match first; trashed chats are
        left out. Any user text is safe (no FTS syntax errors)."""
        match = fts_query(query)
        if not match:
            return []
        extra = "" if conversation_id is None else " AND m.conversation_id = ?"
        params: tuple[Any, ...] = (match,) + (() if conversation_id is None else (conversation_id,))
        with self._read() as conn:
            rows = conn.execute(
                "SELECT m.conversation_id, c.title, m.id, m.role,"
                f" snippet(messages_fts, -1, '{MARK_START}', '{MARK_END}', '…', 16),"
                " messages_fts.rank, c.updated_at"
                " FROM messages_fts"
                " JOIN messages m ON m.id = messages_fts.rowid"
                " JOIN conversations c ON c.id = m.conversation_id"
                # Ordering by FTS5's own rank column lets it sort inside the index and compute
                # snippets only for the rows returned; reasoning counts half as much as the answer.
                " WHERE messages_fts MATCH ? AND messages_fts.rank MATCH 'bm25(1.0, 0.5)'"
                f" AND c.deleted_at IS NULL{extra}"
                " ORDER BY messages_fts.rank LIMIT ?",
                (*params, limit),
            ).fetchall()
        return [SearchHit(r[0], r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows]

    # ----------------------------------------------------------------------------- import
    def insert_tree(
        self,
        *,
        title: str,
        settings: dict[str, Any],
        pinned: bool,
        created_at: float,
        updated_at: float,
        messages: list[dict[str, Any]],
        active_leaf: Any,
    ) -> int:
        """Insert a whole validated conversation (``app.store.transfer`` checks it first) in one
        transaction. ``messages`` are in parent-before-child order; their ``id``/``parent`` are
        the file's ids, mapped to new ones. Returns the new conversation id."""
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT INTO conversations (title, created_at, updated_at, pinned, settings)"
                " VALUES (?, ?, ?, ?, ?)",
                (title, created_at, updated_at, int(pinned), dumps(settings)),
            )
            cid = int(cur.lastrowid or 0)
            new_ids: dict[Any, int] = {}
            for m in messages:
                cur = conn.execute(
                    _INSERT_MSG,
                    (
                        cid,
                        None if m["parent"] is None else new_ids[m["parent"]],
                        m["role"],
                        m["content"],
                        m["reasoning"],
                        m["name"],
                        dumps(m["tool_calls"]),
                        m["model"],
                        m["status"],
                        m["error"],
                        dumps(m["stats"]),
                        m["created_at"],
                        m["updated_at"],
                        dumps(m.get("tool_result")),
                        dumps(m.get("attachments")),
                    ),
                )
                new_ids[m["id"]] = int(cur.lastrowid or 0)
            if messages:
                leaf = (
                    new_ids[active_leaf] if active_leaf in new_ids else new_ids[messages[-1]["id"]]
                )
                self._activate(conn, cid, leaf)
        return cid
