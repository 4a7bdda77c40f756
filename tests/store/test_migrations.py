import hashlib
import sqlite3

import pytest

from app.store import SCHEMA_VERSION, DatabaseCorruptError, DatabaseNewerError, Store, migrations


def _at_version(path, version):
    """A database exactly as Hearth left it at schema ``version`` (the steps' SQL is kept)."""
    conn = sqlite3.connect(path, isolation_level=None)
    migrations.apply(conn, upto=version)
    if version >= 1:  # data written by a Hearth at that version: a branched chat
        conn.executescript(
            """
            INSERT INTO conversations (id, title, created_at, updated_at, settings)
                VALUES (1, 'Old chat', 1, 2, '{"effort": "low"}');
            INSERT INTO messages (id, conversation_id, parent_id, role, content, reasoning,
                                  status, created_at, updated_at)
            VALUES (1, 1, NULL, 'user', 'old question about walruses', '', 'done', 1, 1),
                   (2, 1, 1, 'assistant', 'first answer', 'ponder', 'done', 1, 1),
                   (3, 1, 1, 'assistant', 'second answer', '', 'streaming', 2, 2);
            UPDATE conversations SET active_leaf_id = 2 WHERE id = 1;
            """
        )
    conn.close()


def test_migrations_are_named_and_unique():
    names = [m.name for m in migrations.MIGRATIONS]
    assert len(names) == len(set(names)) == SCHEMA_VERSION
    assert names == sorted(names)


@pytest.mark.parametrize("version", range(SCHEMA_VERSION))
def test_upgrade_from_every_older_version(db_path, version):
    _at_version(db_path, version)
    with Store.open(db_path) as store:
        assert store.schema_version == SCHEMA_VERSION
        applied = [r[0] for r in store.execute_raw("SELECT name FROM hearth_migrations")]
        assert sorted(applied) == [m.name for m in migrations.MIGRATIONS]
        assert store.execute_raw("PRAGMA integrity_check")[0][0] == "ok"
        if version == 0:
            assert store.list_conversations() == []
            return
        conv = store.get_conversation(1)
        assert (conv.title, conv.settings, conv.message_count) == ("Old chat", {"effort": "low"}, 3)
        assert [m.content for m in store.active_path(1)] == [
            "old question about walruses",
            "first answer",
        ]
        assert store.get_message(3).status == "interrupted"  # recovered at open
        assert [h.message_id for h in store.search("walrus")] == [1]  # FTS backfilled
        assert [h.message_id for h in store.search("ponder")] == [2]
        assert store.switch_sibling(2, 1) == 3
        # New writes work on the upgraded schema.
        store.add_message(1, "user", "new walrus question")
        assert len(store.search("walrus")) == 2


def test_a_database_from_a_newer_hearth_is_refused_and_untouched(db_path):
    _at_version(db_path, SCHEMA_VERSION)
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = hashlib.sha256(db_path.read_bytes()).hexdigest()
    siblings = sorted(p.name for p in db_path.parent.iterdir())
    for kwargs in ({}, {"readonly_fallback": True}, {"readonly": True}):
        with pytest.raises(DatabaseNewerError) as info:
            Store.open(db_path, **kwargs)
        assert "newer version of Hearth" in str(info.value) and "Update Hearth" in str(info.value)
    assert hashlib.sha256(db_path.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in db_path.parent.iterdir()) == siblings


def test_another_programs_sqlite_file_is_refused(db_path):
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE bookmarks (url TEXT)")
    conn.commit()
    conn.close()
    before = db_path.read_bytes()
    with pytest.raises(DatabaseCorruptError, match="not a Hearth conversation database"):
        Store.open(db_path)
    assert db_path.read_bytes() == before


def test_a_failed_migration_rolls_back_completely(db_path, monkeypatch):
    _at_version(db_path, 1)
    broken = migrations.Migration("999_broken", "CREATE TABLE x (a); SELECT * FROM nope;")
    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS[:1], broken])
    conn = sqlite3.connect(db_path, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError):
        migrations.apply(conn, upto=2)
    assert migrations.user_version(conn) == 1
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'x'").fetchone()[0] == 0
    conn.close()
