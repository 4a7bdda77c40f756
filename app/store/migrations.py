"""The database schema as an append-only list of named migrations.

``PRAGMA user_version`` is the number of migrations applied. Never edit or reorder a step that
has shipped: add a new one. Each step's SQL is kept verbatim so tests can build a database as it
was at any older version and upgrade it (``tests/store/test_migrations.py``).
A database whose version is higher than ``len(MIGRATIONS)`` was written by a newer Hearth and is
refused before anything is written to it.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    name: str
    sql: str


MIGRATIONS: list[Migration] = [
    Migration(
        "001_conversations_and_messages",
        """
        CREATE TABLE conversations (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            pinned INTEGER NOT NULL DEFAULT 0,
            settings TEXT NOT NULL DEFAULT '{}',
            active_leaf_id INTEGER,
            deleted_at REAL
        );
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            conversation_id INTEGER NOT NULL
                REFERENCES conversations(id) ON DELETE CASCADE,
            parent_id INTEGER REFERENCES messages(id) ON DELETE CASCADE,
            role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),
            name TEXT,
            content TEXT NOT NULL DEFAULT '',
            reasoning TEXT NOT NULL DEFAULT '',
            tool_calls TEXT,
            model TEXT,
            status TEXT NOT NULL DEFAULT 'done'
                CHECK (status IN ('streaming', 'done', 'cancelled', 'interrupted', 'error')),
            error TEXT,
            stats TEXT,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE INDEX messages_by_conversation ON messages(conversation_id, id);
        CREATE INDEX messages_by_parent ON messages(parent_id, id);
        CREATE INDEX messages_streaming ON messages(status) WHERE status = 'streaming';
        CREATE INDEX conversations_by_order
            ON conversations(deleted_at, pinned DESC, updated_at DESC);
        """,
    ),
    Migration(
        "002_full_text_search",
        """
        CREATE VIRTUAL TABLE messages_fts USING fts5(
            content, reasoning,
            content='messages', content_rowid='id',
            tokenize='unicode61 remove_diacritics 2'
        );
        CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
            INSERT INTO messages_fts(rowid, content, reasoning)
            VALUES (new.id, new.content, new.reasoning);
        END;
        CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
            INSERT INTO messages_fts(messages_fts, rowid, content, reasoning)
            VALUES ('delete', old.id, old.content, old.reasoning);
        END;
        CREATE TRIGGER messages_fts_update AFTER UPDATE OF content, reasoning ON messages BEGIN
            INSERT INTO messages_fts(messages_fts, rowid, content, reasoning)
            VALUES ('delete', old.id, old.content, old.reasoning);
            INSERT INTO messages_fts(rowid, content, reasoning)
            VALUES (new.id, new.content, new.reasoning);
        END;
        INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
        """,
    ),
    Migration(
        "003_remember_branch_choice",
        # Which child each message last showed, so switching back to a branch returns to where
        # the user left it (NULL: the newest child). Backfilled along every active path.
        """
        ALTER TABLE messages ADD COLUMN selected_child_id INTEGER;
        WITH RECURSIVE path(id, parent_id) AS (
            SELECT m.id, m.parent_id FROM messages m
            JOIN conversations c ON c.active_leaf_id = m.id
            UNION ALL
            SELECT m.id, m.parent_id FROM messages m JOIN path p ON m.id = p.parent_id
        )
        UPDATE messages SET selected_child_id = (
            SELECT p.id FROM path p WHERE p.parent_id = messages.id
        ) WHERE id IN (SELECT parent_id FROM path WHERE parent_id IS NOT NULL);
        """,
    ),
    Migration(
        "004_tool_results_and_attachments",
        # A tool message's whole result (status, full output, images, files, duration: the
        # content column keeps what the model read), and the files attached to a user message.
        """
        ALTER TABLE messages ADD COLUMN tool_result TEXT;
        ALTER TABLE messages ADD COLUMN attachments TEXT;
        """,
    ),
]

SCHEMA_VERSION = len(MIGRATIONS)


def user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def apply(conn: sqlite3.Connection, upto: int = SCHEMA_VERSION) -> list[str]:
    """Apply the missing migrations up to ``upto``, each in its own transaction.

    The connection must be in autocommit mode (``isolation_level=None``). Returns the names applied.
    """
    applied: list[str] = []
    current = user_version(conn)
    for number in range(current + 1, upto + 1):
        step = MIGRATIONS[number - 1]
        try:
            conn.execute("BEGIN IMMEDIATE")
            # executescript would commit our transaction first, so run statement by statement.
            for statement in _statements(step.sql):
                conn.execute(statement)
            conn.execute(
                "CREATE TABLE IF NOT EXISTS hearth_migrations"
                " (name TEXT PRIMARY KEY, applied_at REAL)"
            )
            conn.execute(
                "INSERT OR REPLACE INTO hearth_migrations VALUES (?, ?)", (step.name, time.time())
            )
            conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        applied.append(step.name)
    return applied


def _statements(sql: str) -> list[str]:
    """Split a script into complete statements (triggers contain ';' inside BEGIN…END)."""
    out: list[str] = []
    buf = ""
    for piece in sql.split(";"):
        buf += piece + ";"
        if sqlite3.complete_statement(buf):
            if buf.strip(" \n\t;"):
                out.append(buf.strip())
            buf = ""
    return out
