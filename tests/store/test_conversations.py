import pytest

from app.store import (
    UNTITLED,
    InvalidRequestError,
    NotFoundError,
    Store,
    make_title,
)


def test_database_lives_under_hearth_home_with_wal_and_foreign_keys(store, hearth_home):
    assert hearth_home in store.path.parents
    assert store.execute_raw("PRAGMA journal_mode")[0][0] == "wal"
    assert store.execute_raw("PRAGMA foreign_keys")[0][0] == 1
    assert store.execute_raw("PRAGMA synchronous")[0][0] == 1  # NORMAL
    assert store.execute_raw("PRAGMA busy_timeout")[0][0] == 5000


def test_title_comes_from_the_first_user_message_and_can_be_renamed(store):
    c = store.create_conversation()
    assert store.get_conversation(c.id).display_title == UNTITLED
    store.add_message(c.id, "system", "be brief")
    store.add_message(c.id, "user", "## How do   I\nbake sourdough bread at home without a scale?")
    store.add_message(c.id, "user", "second message does not rename")
    title = store.get_conversation(c.id).title
    assert title.startswith("How do I bake sourdough bread")
    assert len(title) <= 60 and "\n" not in title and "#" not in title
    store.rename(c.id, "  Bread  ")
    assert store.get_conversation(c.id).title == "Bread"
    with pytest.raises(InvalidRequestError):
        store.rename(c.id, "   ")
    with pytest.raises(NotFoundError):
        store.rename(999, "x")


def test_make_title_cuts_at_a_word():
    long = "word " * 40
    t = make_title(long)
    assert t.endswith("…") and len(t) <= 60 and not t[:-1].endswith(" ")
    assert make_title("short") == "short"
    assert make_title("   ") == ""
    assert make_title("x" * 100).endswith("…")


def test_list_pinned_first_then_recent_with_counts(store):
    a = store.create_conversation("a")
    b = store.create_conversation("b")
    c = store.create_conversation("c")
    store.add_message(a.id, "user", "hi")
    store.add_message(a.id, "assistant", "hello")
    store.add_message(b.id, "user", "later")  # b is now the most recent
    store.set_pinned(c.id, True)
    listed = store.list_conversations()
    assert [x.title for x in listed] == ["c", "b", "a"]
    assert [x.message_count for x in listed] == [0, 1, 2]
    assert listed[0].pinned
    assert store.latest_conversation().id == b.id
    assert [x.title for x in store.list_conversations(limit=1, offset=1)] == ["b"]


def test_settings_are_per_chat_and_merge(store):
    c = store.create_conversation(settings={"model": "gpt-oss-20b", "effort": "low"})
    out = store.update_settings(
        c.id, {"effort": "high", "instructions": "Be terse.", "sampling": {"temperature": 0.7}}
    )
    assert out == store.get_conversation(c.id).settings
    assert out == {
        "model": "gpt-oss-20b",
        "effort": "high",
        "instructions": "Be terse.",
        "sampling": {"temperature": 0.7},
    }
    store.update_settings(c.id, {"instructions": None})
    assert "instructions" not in store.get_conversation(c.id).settings


def test_delete_goes_to_trash_restore_undoes_and_only_empty_trash_deletes(store, db_path):
    keep = store.create_conversation("keep")
    gone = store.create_conversation("gone")
    store.add_message(gone.id, "user", "unique zebra words")
    store.trash(gone.id)
    assert [c.title for c in store.list_conversations()] == ["keep"]
    assert [c.title for c in store.list_conversations(trashed=True)] == ["gone"]
    assert store.get_conversation(gone.id).trashed
    store.restore(gone.id)
    assert {c.title for c in store.list_conversations()} == {"keep", "gone"}
    store.trash(gone.id)
    store.close()
    # The trash survives a restart: nothing is lost to a misclick.
    with Store.open(db_path) as s2:
        assert [c.title for c in s2.list_conversations(trashed=True)] == ["gone"]
        assert len(s2.empty_trash()) == 1
        assert s2.list_conversations(trashed=True) == []
        assert [c.id for c in s2.list_conversations()] == [keep.id]
        assert s2.execute_raw("SELECT count(*) FROM messages")[0][0] == 0
        assert s2.search("zebra") == []
        with pytest.raises(NotFoundError):
            s2.get_conversation(gone.id)


def test_unknown_role_or_status_is_refused(store):
    c = store.create_conversation()
    with pytest.raises(InvalidRequestError):
        store.add_message(c.id, "robot", "x")
    m = store.add_message(c.id, "assistant", "x")
    with pytest.raises(InvalidRequestError):
        store.update_message(m.id, status="finished")
    with pytest.raises(NotFoundError):
        store.add_message(999, "user", "x")
    with pytest.raises(InvalidRequestError, match="unpaired surrogates"):
        store.add_message(m.conversation_id, "user", "bad \ud800 text")
    assert store.get_conversation(m.conversation_id).message_count == 1
