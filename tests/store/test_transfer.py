import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.store import ImportFormatError, export_json, export_markdown, import_file
from app.store.transfer import import_json_text


def _chat(store):
    c = store.create_conversation(settings={"model": "gpt-oss-20b", "effort": "high"})
    store.update_settings(c.id, {"instructions": "Answer in French."})
    u = store.add_message(
        c.id,
        "user",
        "Weather in Paris?",
        attachments=[{"name": "notes.md", "sha256": "ab" * 32, "size": 12, "tokens": 4}],
    )
    store.add_message(
        c.id,
        "assistant",
        "Let me check.",
        reasoning="Need the weather tool.",
        tool_calls=[
            {"name": "functions.get_weather", "arguments": '{"city": "Paris"}', "result": "sunny"}
        ],
        model="gpt-oss-20b",
        stats={"prompt_tokens": 42, "generation_tps": 30.5},
    )
    store.add_message(
        c.id,
        "tool",
        '{"sky": "sunny"}',
        name="functions.get_weather",
        tool_result={"status": "ok", "output": '{"sky": "sunny"}', "duration_s": 0.4},
    )
    store.add_message(c.id, "assistant", "Il fait beau. ```code``` inside", status="done")
    store.edit_message(u.id, "Weather in Lyon?")
    store.add_message(c.id, "assistant", "Partial…", status="interrupted")
    store.switch_sibling(u.id, 0)  # back to the Paris branch
    return c


def test_markdown_shows_the_active_branch_with_collapsible_reasoning_and_tools(store):
    c = _chat(store)
    md = export_markdown(store, c.id)
    assert md.startswith("# Weather in Paris?\n")
    assert "model gpt-oss-20b" in md and "reasoning effort high" in md
    assert "<details>\n<summary>Instructions</summary>\n\nAnswer in French." in md
    assert "<details>\n<summary>Reasoning</summary>\n\nNeed the weather tool.\n\n</details>" in md
    assert "<summary>Tool call: functions.get_weather</summary>" in md
    assert '```json\n{"city": "Paris"}\n```' in md
    assert "<summary>Tool result: functions.get_weather</summary>" in md
    assert "Il fait beau." in md and "Lyon" not in md  # only the active branch
    assert md.index("## You") < md.index("## Assistant (gpt-oss-20b)")


def test_json_round_trip_is_lossless_including_branches(store):
    c = _chat(store)
    data = export_json(store, c.id)
    assert data["format"] == "hearth.conversation" and data["schema_version"] >= 3
    new_id = import_json_text(store, json.dumps(data))
    assert new_id != c.id
    again = export_json(store, new_id)

    def strip(d):
        ids = {m["id"]: i for i, m in enumerate(d["messages"])}
        msgs = [m | {"id": ids[m["id"]], "parent": ids.get(m["parent"])} for m in d["messages"]]
        conv = d["conversation"] | {
            "id": None,
            "active_leaf": ids[d["conversation"]["active_leaf"]],
        }
        return conv, msgs

    assert strip(again) == strip(data)
    # Branch switching works in the imported copy.
    path = store.active_path(new_id)
    assert path[0].content == "Weather in Paris?"
    assert store.siblings(path[0].id).count == 2


def test_import_file_and_its_specific_errors(store, tmp_path):
    c = _chat(store)
    good = tmp_path / "chat.json"
    good.write_text(json.dumps(export_json(store, c.id)))
    assert store.get_conversation(import_file(store, good)).title == "Weather in Paris?"

    def bad(content, match):
        f = tmp_path / "bad.json"
        if isinstance(content, bytes):
            f.write_bytes(content)
        else:
            f.write_text(content if isinstance(content, str) else json.dumps(content))
        before = len(store.list_conversations())
        with pytest.raises(ImportFormatError, match=match):
            import_file(store, f)
        assert len(store.list_conversations()) == before  # nothing half-imported

    data = export_json(store, c.id)
    bad("{not json", r"not valid JSON \(line 1")
    bad(b"\xff\xfe\x00garbage", "not a text file")
    bad({"hello": 1}, "not a Hearth conversation file")
    bad(data | {"version": 99}, "newer Hearth")
    bad(data | {"messages": "nope"}, "missing 'messages' list")
    msgs = [dict(m) for m in data["messages"]]
    msgs[1]["parent"] = 123456
    bad(data | {"messages": msgs}, "refers to parent 123456")
    msgs = [dict(m) for m in data["messages"]]
    msgs[0]["role"] = "wizard"
    bad(data | {"messages": msgs}, "unknown role 'wizard'")
    msgs = [dict(m) for m in data["messages"]]
    msgs[0]["content"] = 5
    bad(data | {"messages": msgs}, "'content' must be text")
    msgs = [dict(m) for m in data["messages"]]
    msgs[2]["id"] = msgs[1]["id"]
    bad(data | {"messages": msgs}, "repeated id")
    bad(json.dumps(data).replace('"Weather in Paris?"', '"\\ud800"', 1), "unpaired surrogates")
    with pytest.raises(ImportFormatError, match="No such file"):
        import_file(store, tmp_path / "missing.json")
    with pytest.raises(ImportFormatError, match="is a folder"):
        import_file(store, tmp_path)


def test_imported_streaming_message_is_not_left_streaming(store):
    c = store.create_conversation()
    store.add_message(c.id, "assistant", "half", status="streaming")
    new_id = import_json_text(store, json.dumps(export_json(store, c.id)))
    assert store.active_path(new_id)[0].status == "interrupted"


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    conv=st.dictionaries(
        st.sampled_from(["title", "settings", "pinned", "created_at", "active_leaf"]), _json
    ),
    msgs=st.lists(
        st.dictionaries(
            st.sampled_from(["id", "parent", "role", "content", "status", "tool_calls", "stats"]),
            _json | st.sampled_from(["user", "assistant", "done", 1, 2]),
        ),
        max_size=4,
    ),
)
def test_hostile_imports_only_raise_import_errors(store, conv, msgs):
    doc = {"format": "hearth.conversation", "version": 1, "conversation": conv, "messages": msgs}
    try:
        cid = import_json_text(store, json.dumps(doc))
    except ImportFormatError:
        return
    assert len(store.messages(cid)) == len(msgs)


def test_a_tool_call_that_is_not_an_object_is_refused_on_import(store):
    c = store.create_conversation()
    store.add_message(c.id, "user", "q")
    data = export_json(store, c.id)
    data["messages"][0]["tool_calls"] = ["not a call"]
    # Imported, it crashed every later turn of the chat and its Markdown export (AttributeError).
    with pytest.raises(ImportFormatError, match="tool call that is not a JSON object"):
        import_json_text(store, json.dumps(data))
    assert len(store.list_conversations()) == 1
