"""Messages as a tree: each edit or regenerate adds a sibling branch, nothing is overwritten.

The conversation's active leaf is what the user sees (root → leaf); each message remembers which
child it last showed, so switching back to a branch returns to where the user left it.
"""

from __future__ import annotations

import itertools
import sqlite3
import time
from collections.abc import Sequence
from typing import Any

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

from app.store.database import Database
from app.store.errors import (
    InvalidRequestError,
    NotFoundError,
)
from app.store.models import (
    ROLES,
    STATUSES,
    Message,
    Siblings,
    dumps,
    loads,
)
from app.store.text import make_title

_UNSET: Any = object()
_MSG_COLS = (
    "id, conversation_id, parent_id, role, content, reasoning, name, tool_calls, model, status,"
    " error, stats, created_at, updated_at, tool_result, attachments"
)
_INSERT_MSG = (
    f"INSERT INTO messages ({_MSG_COLS.replace('id, ', '', 1)})"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


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


class MessageTree(Database):
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
        with self._read() as conn:
            row = conn.execute(
                "SELECT active_leaf_id FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
        if row is None:
            raise NotFoundError(
                f"No conversation with id {conversation_id}.",
                "List them with `hearth history list`.",
            )
        leaf = row[0]
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
