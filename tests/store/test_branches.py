import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.store import Store


def _texts(path):
    return [m.content for m in path]


def test_edit_creates_a_sibling_and_keeps_the_original(store):
    c = store.create_conversation()
    u1 = store.add_message(c.id, "user", "first question")
    a1 = store.add_message(c.id, "assistant", "first answer")
    u2 = store.edit_message(u1.id, "better question")
    assert u2.parent_id == u1.parent_id and u2.id != u1.id
    a2 = store.add_message(c.id, "assistant", "second answer")
    assert _texts(store.active_path(c.id)) == ["better question", "second answer"]
    sib = store.siblings(u2.id)
    assert (sib.position, sib.count, sib.previous_id) == (2, 2, u1.id)
    # Nothing was deleted.
    assert {m.id for m in store.messages(c.id)} == {u1.id, a1.id, u2.id, a2.id}
    assert store.get_message(a1.id).content == "first answer"


def test_regenerate_is_a_sibling_reply(store):
    c = store.create_conversation()
    u = store.add_message(c.id, "user", "q")
    a1 = store.add_message(c.id, "assistant", "answer one")
    a2 = store.add_message(c.id, "assistant", "answer two", parent_id=a1.parent_id)
    assert store.siblings(a2.id).ids == (a1.id, a2.id)
    assert _texts(store.active_path(c.id)) == ["q", "answer two"]
    assert store.switch_sibling(a2.id, -1) == a1.id
    assert _texts(store.active_path(c.id)) == ["q", "answer one"]
    assert store.get_conversation(c.id).active_leaf_id == a1.id
    assert store.switch_sibling(a1.id, -5) == a1.id  # clamped
    assert store.children(u.id) == [a1.id, a2.id]


def test_switching_back_returns_to_the_last_viewed_leaf_of_that_branch(store, db_path):
    c = store.create_conversation()
    u1 = store.add_message(c.id, "user", "A")
    store.add_message(c.id, "assistant", "A1")
    store.add_message(c.id, "user", "A-follow")
    deep_a = store.add_message(c.id, "assistant", "A2")
    # Branch A also gets a regenerated reply at depth 2, then the user goes back to A2's branch.
    a1b = store.add_message(c.id, "assistant", "A1-bis", parent_id=u1.id)
    store.switch_sibling(a1b.id, -1)
    assert store.get_conversation(c.id).active_leaf_id == deep_a.id
    # New branch B at the root.
    u_b = store.edit_message(u1.id, "B")
    store.add_message(c.id, "assistant", "B1")
    assert _texts(store.active_path(c.id)) == ["B", "B1"]
    # Back to A: lands on A2 (last viewed), not on the newest leaf of A (A1-bis).
    leaf = store.switch_sibling(u_b.id, -1)
    assert leaf == deep_a.id
    assert _texts(store.active_path(c.id)) == ["A", "A1", "A-follow", "A2"]
    store.close()
    with Store.open(db_path) as again:  # the choice is remembered across restarts
        assert _texts(again.active_path(c.id)) == ["A", "A1", "A-follow", "A2"]


def test_root_messages_can_branch_too(store):
    c = store.create_conversation()
    r1 = store.add_message(c.id, "user", "one")
    r2 = store.edit_message(r1.id, "two")
    assert r2.parent_id is None
    assert store.siblings(r1.id).count == 2
    store.switch_to(r1.id)
    assert _texts(store.active_path(c.id)) == ["one"]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=st.lists(st.tuples(st.sampled_from("aers"), st.integers(0, 50)), max_size=30))
def test_random_edits_never_lose_messages_and_path_is_a_chain(store, ops):
    c = store.create_conversation()
    made = 0
    for op, k in ops:
        path = store.active_path(c.id)
        if op == "a" or not path:
            role = "user" if not path or path[-1].role == "assistant" else "assistant"
            store.add_message(c.id, role, f"m{made}")
            made += 1
        elif op == "e":
            store.edit_message(path[k % len(path)].id, f"m{made}")
            made += 1
        elif op == "r":
            target = path[k % len(path)]
            store.add_message(c.id, target.role, f"m{made}", parent_id=target.parent_id)
            made += 1
        else:
            store.switch_sibling(path[k % len(path)].id, 1 if k % 2 else -1)
        path = store.active_path(c.id)
        assert path[0].parent_id is None
        for parent, child in itertools.pairwise(path):
            assert child.parent_id == parent.id
        assert path[-1].id == store.get_conversation(c.id).active_leaf_id
        assert store.children(path[-1].id) == []
        assert len(store.messages(c.id)) == made


def test_path_branches_matches_siblings(store):
    c = store.create_conversation()
    u = store.add_message(c.id, "user", "q")
    a = store.add_message(c.id, "assistant", "a1")
    store.add_message(c.id, "assistant", "a2", parent_id=u.id)
    store.edit_message(u.id, "q2")
    store.switch_to(a.id)
    branches = store.path_branches(c.id)
    for m in store.active_path(c.id):
        sib = store.siblings(m.id)
        assert branches[m.id] == (sib.position, sib.count)
    assert branches[u.id] == (1, 2) and branches[a.id] == (1, 2)
    assert store.path_branches(store.create_conversation().id) == {}
