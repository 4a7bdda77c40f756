from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.store import MARK_END, MARK_START


def _fill(store):
    a = store.create_conversation("Cooking")
    store.add_message(a.id, "user", "How long should I knead bread dough?")
    store.add_message(
        a.id, "assistant", "Knead for ten minutes.", reasoning="Bread dough needs gluten."
    )
    b = store.create_conversation("Travel")
    store.add_message(b.id, "user", "Best bread in Paris? bread bread bread")
    c = store.create_conversation("Other")
    store.add_message(c.id, "user", "Tell me about café culture")
    return a, b, c


def test_search_finds_content_and_reasoning_with_highlighted_snippets(store):
    a, b, c = _fill(store)
    hits = store.search("bread")
    assert {h.conversation_id for h in hits} == {a.id, b.id}
    assert hits[0].conversation_id == b.id  # bm25: the message that says it four times first
    reasoning_hit = [h for h in hits if h.role == "assistant"]
    assert reasoning_hit and f"{MARK_START}dough{MARK_END}" not in reasoning_hit[0].snippet
    assert f"{MARK_START}Bread{MARK_END}" in reasoning_hit[0].snippet
    assert "<b>bread</b>" in hits[0].snippet_html()
    assert hits[0].conversation_title == "Travel"
    # Accents fold; the last word is a prefix (search as you type).
    assert [h.conversation_id for h in store.search("cafe")] == [c.id]
    assert [h.conversation_id for h in store.search("knea")] == [a.id, a.id]
    assert store.search("knead dough", conversation_id=b.id) == []
    # One or two letters are whole words, not prefixes (a prefix that short matches everything).
    assert store.search("kn") == []


def test_search_follows_edits_deletes_and_trash(store):
    a, b, _ = _fill(store)
    m = store.add_message(a.id, "assistant", "nothing special")
    assert store.search("zanzibar") == []
    store.update_message(m.id, content="now about zanzibar")
    assert [h.message_id for h in store.search("zanzibar")] == [m.id]
    store.update_message(m.id, content="gone again")
    assert store.search("zanzibar") == []
    store.trash(b.id)
    assert {h.conversation_id for h in store.search("bread")} == {a.id}
    store.restore(b.id)
    assert {h.conversation_id for h in store.search("bread")} == {a.id, b.id}


def test_hostile_queries_do_not_raise(store):
    _fill(store)
    for q in [
        '"foo',
        "AND",
        "bread AND",
        "OR OR",
        "NEAR(",
        "*",
        "col:bread",
        "(",
        '"',
        "",
        "  ",
        "-",
    ]:
        store.search(q)
    assert store.search('"bread') != []
    assert store.search("bread)") != []


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(q=st.text(max_size=30))
def test_any_text_is_a_safe_query(store, q):
    store.search(q)


def test_fts_query_quotes_every_word():
    from app.store.text import fts_query

    assert fts_query('bread "AND" NEAR(x') == '"bread" "AND" "NEAR" "x"'
    assert fts_query("sourdo") == '"sourdo"*'
    assert fts_query("?!") == ""
