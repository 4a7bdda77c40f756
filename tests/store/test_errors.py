import hashlib
import sqlite3
import textwrap

import pytest

from app.store import (
    DatabaseCorruptError,
    DatabaseLockedError,
    DiskFullError,
    NotFoundError,
    ReadOnlyError,
    Store,
)
from tests.helpers.privileges import run_python_unprivileged


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _filled(db_path, n=300):
    with Store.open(db_path) as s:
        c = s.create_conversation("kept")
        for i in range(n):
            s.add_message(c.id, "user" if i % 2 == 0 else "assistant", f"message {i} " * 40)
    return c.id


def test_garbage_file_is_reported_and_never_modified(db_path):
    db_path.write_bytes(b"this is not a database, just some text\n" * 200)
    before = _digest(db_path)
    for kwargs in ({}, {"readonly_fallback": True}):
        with pytest.raises(DatabaseCorruptError) as info:
            Store.open(db_path, **kwargs)
        assert "damaged or not a database" in str(info.value)
        assert "Move it aside" in info.value.hint
    assert _digest(db_path) == before
    assert sorted(p.name for p in db_path.parent.iterdir()) == [db_path.name]


def test_truncated_database_is_reported_and_can_be_moved_aside_on_request(db_path):
    _filled(db_path)
    data = db_path.read_bytes()
    db_path.write_bytes(data[: len(data) // 3])
    before = _digest(db_path)
    with pytest.raises(DatabaseCorruptError):
        s = Store.open(db_path)
        try:  # damage may only show once the missing pages are read
            for conv in s.list_conversations():
                s.active_path(conv.id)
            s.search("message")
        finally:
            s.close()
    assert _digest(db_path) == before
    moved = Store.move_aside(db_path)
    assert moved.name.startswith("hearth.sqlite3.broken-") and _digest(moved) == before
    assert not db_path.exists()
    with Store.open(db_path) as fresh:  # a fresh start, the damaged file kept beside it
        assert fresh.list_conversations() == []
    assert moved.exists()


def test_locked_database_gives_a_specific_error_and_readonly_fallback(db_path):
    cid = _filled(db_path, 4)
    with Store.open(db_path) as s:
        a = s.add_message(cid, "assistant", "x", status="streaming")
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another program holds the write lock
    holder.execute("UPDATE conversations SET pinned = 1")
    try:
        with pytest.raises(DatabaseLockedError) as info:
            Store.open(db_path, busy_timeout=0.05)
        assert "locked by another program" in str(info.value)
        with Store.open(db_path, busy_timeout=0.05, readonly_fallback=True) as ro:
            assert ro.readonly and isinstance(ro.readonly_reason, DatabaseLockedError)
            assert ro.get_conversation(cid).message_count == 5
            with pytest.raises(ReadOnlyError):
                ro.rename(cid, "nope")
        with Store.open(db_path, busy_timeout=0.05, readonly=True) as ro:
            assert ro.list_conversations()[0].title == "kept"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with Store.open(db_path) as s:
        assert s.get_message(a.id).status == "interrupted"


def test_write_while_locked_then_succeeds_after(db_path):
    cid = _filled(db_path, 2)
    with Store.open(db_path, busy_timeout=0.05) as s:
        holder = sqlite3.connect(db_path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(DatabaseLockedError):
            s.add_message(cid, "user", "while locked")
        holder.execute("ROLLBACK")
        holder.close()
        s.add_message(cid, "user", "after")
        assert [m.content for m in s.active_path(cid)][-1] == "after"
        assert s.get_conversation(cid).message_count == 3


def test_disk_full_is_specific_and_loses_nothing(store):
    c = store.create_conversation()
    store.add_message(c.id, "user", "saved before the disk filled")
    pages = store.execute_raw("PRAGMA page_count")[0][0]
    store.execute_raw(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(DiskFullError) as info:
        store.add_message(c.id, "assistant", "y" * 500_000)
    assert "disk is full" in str(info.value).lower() and "Free some disk space" in str(info.value)
    assert [m.content for m in store.active_path(c.id)] == ["saved before the disk filled"]
    assert store.get_conversation(c.id).message_count == 1  # no half-written message
    assert store.execute_raw("PRAGMA integrity_check")[0][0] == "ok"


def test_missing_ids_are_not_found(store):
    for call in (
        lambda: store.get_conversation(7),
        lambda: store.get_message(7),
        lambda: store.siblings(7),
        lambda: store.switch_to(7),
        lambda: store.trash(7),
        lambda: store.update_message(7, content="x"),
    ):
        with pytest.raises(NotFoundError):
            call()


_PERMISSION_PROBE = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from app.store import Store, StoreError
    db = Path(sys.argv[1])
    out = {}
    try:
        Store.open(db).close()
        out["open"] = "ok"
    except StoreError as e:
        out["open"] = type(e).__name__ + ": " + str(e)
    try:
        with Store.open(db, readonly_fallback=True) as s:
            out["fallback_readonly"] = s.readonly
            out["titles"] = [c.title for c in s.list_conversations()]
            try:
                s.create_conversation("x")
                out["write"] = "ok"
            except StoreError as e:
                out["write"] = type(e).__name__
    except StoreError as e:
        out["fallback"] = type(e).__name__ + ": " + str(e)
    print(json.dumps(out))
    """
)


def _probe(db_path):
    import json

    res = run_python_unprivileged(_PERMISSION_PROBE, str(db_path))
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_read_only_file_opens_read_only_with_a_clear_reason(db_path):
    _filled(db_path, 2)
    before = _digest(db_path)
    db_path.chmod(0o444)
    try:
        out = _probe(db_path)
    finally:
        db_path.chmod(0o644)
    assert out["open"].startswith("ReadOnlyError") and "read-only" in out["open"]
    assert out["fallback_readonly"] is True and out["titles"] == ["kept"]
    assert out["write"] == "ReadOnlyError"
    assert _digest(db_path) == before


def test_read_only_folder_opens_read_only(db_path):
    _filled(db_path, 2)
    folder = db_path.parent
    folder.chmod(0o555)
    try:
        out = _probe(db_path)
    finally:
        folder.chmod(0o755)
    assert out["open"].startswith("ReadOnlyError")
    assert out["fallback_readonly"] is True and out["titles"] == ["kept"]
    assert out["write"] == "ReadOnlyError"


def test_read_only_folder_without_a_database_still_starts_empty(db_path):
    folder = db_path.parent
    folder.chmod(0o555)
    try:
        out = _probe(db_path)
    finally:
        folder.chmod(0o755)
    assert out["open"].startswith("ReadOnlyError") and "HEARTH_HOME" in out["open"]
    assert out["fallback_readonly"] is True and out["titles"] == []
    assert not db_path.exists()
