"""The conversation store: one SQLite database with branching messages, search and a trash.

``Store`` = the database (``database``: connection, transactions, opening) + the message tree
(``tree``: messages, branches, the active path) + conversations, search and import (here).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

from app.store.errors import (
    InvalidRequestError,
    NotFoundError,
)
from app.store.models import (
    MARK_END,
    MARK_START,
    Conversation,
    SearchHit,
    dumps,
    loads,
)
from app.store.text import fts_query
from app.store.tree import _INSERT_MSG, MessageTree

_CONV_COLS = "id, title, created_at, updated_at, pinned, settings, active_leaf_id, deleted_at"


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


class Store(MessageTree):
    """Open with ``Store.open()``; use as a context manager or call ``close()``."""

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

    def empty_trash(self) -> list[int]:
        """Delete every trashed conversation for good. Returns their ids (so the caller can
        remove what else belonged to them, e.g. their tools' folders)."""
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
        return ids

    def _update_conversation(self, cid: int, assignment: str, params: tuple[Any, ...]) -> None:
        with self._tx() as conn:
            cur = conn.execute(
                f"UPDATE conversations SET {assignment} WHERE id = ?", (*params, cid)
            )
            if cur.rowcount == 0:
                raise NotFoundError(
                    f"No conversation with id {cid}.", "List them with `hearth history list`."
                )

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
