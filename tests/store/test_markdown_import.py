"""A chat exported as Markdown comes back as a chat (issue 16: import a chat from the window):
its title, instructions, effort, messages, reasoning and a stopped reply's status."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.store import ImportFormatError, Store
from app.store.markdown_import import import_chat_file, parse_markdown_export
from app.store.transfer import export_json_text, export_markdown


def _chat(store: Store) -> int:
    c = store.create_conversation(
        "Round trip", settings={"instructions": "Be brief.\nVery.", "effort": "high"}
    )
    q = "Hello ## there\n\n## Not a heading, just text"
    store.add_message(c.id, "user", q)
    store.add_message(
        c.id,
        "assistant",
        "Hi!\n\n```\n## inside code\n```",
        reasoning="Think.\n\nMore.",
        model="gpt-oss-20b",
    )
    store.add_message(c.id, "user", "Stop")
    store.add_message(c.id, "assistant", "partial", status="cancelled")
    return c.id


def test_a_markdown_export_imports_as_the_same_chat(store: Store, tmp_path: Path) -> None:
    cid = _chat(store)
    md = tmp_path / "chat.md"
    md.write_text(export_markdown(store, cid), encoding="utf-8")
    new = import_chat_file(store, md)
    assert new != cid
    conv = store.get_conversation(new)
    assert conv.title == "Round trip"
    assert conv.settings == {"instructions": "Be brief.\nVery.", "effort": "high"}
    got = [(m.role, m.content, m.reasoning, m.status, m.model) for m in store.active_path(new)]
    want = [(m.role, m.content, m.reasoning, m.status, m.model) for m in store.active_path(cid)]
    assert got == want
    assert export_markdown(store, new) == export_markdown(store, cid)


def test_a_json_export_imports_through_the_same_call(store: Store, tmp_path: Path) -> None:
    cid = _chat(store)
    js = tmp_path / "chat.json"
    js.write_text(export_json_text(store, cid), encoding="utf-8")
    new = import_chat_file(store, js)
    assert [m.content for m in store.active_path(new)] == [
        m.content for m in store.active_path(cid)
    ]


@pytest.mark.parametrize(
    "text", ["Just some notes.\n", "# A title\n\nBut no messages.\n", "## You\n\nno title\n"]
)
def test_other_markdown_is_refused_with_the_way_out(text: str) -> None:
    with pytest.raises(ImportFormatError) as err:
        parse_markdown_export(text)
    assert "Export the chat again" in str(err.value)
