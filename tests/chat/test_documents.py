"""A chat's documents on the one turn path: attachments stored with the message and read by the
model, a file too long for the context reached through the browser tool in the real tool loop
(the real engine host with scripted replies, the real store, the real library index), the
chat's allowed Library folders, citations resolved after the turn and exported as footnotes."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import chat
from app.attachments import attach, plan
from app.chat.documents import (
    FOLDERS_KEY,
    STATE_KEY,
    attachment_budget,
    chat_browser,
    export_chat_text,
    history_tokens,
)
from app.chat.tools import chat_tools
from app.engine.client import EngineClient
from app.engine.options import LoadOptions
from app.library import BrowserState, LibraryIndex, resolve_citation, sync_folder
from app.store import Store, export_json
from tests.attachments.pdfgen import write_pdf
from tests.helpers.engine import script_hook, start_client

N_CTX = 4096  # the context the attachments are planned for
# The engine's: the tiny model's vocabulary is bytes, so a browser page of ~1,000 gpt-oss tokens
# is ~4,000 of its tokens.
ENGINE_CTX = 32768


@pytest.fixture(scope="module")
def engine(long_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineClient]:
    home = tmp_path_factory.mktemp("documents-engine-home")
    client = start_client(home)
    client.load(LoadOptions(model_path=str(long_model), n_ctx=ENGINE_CTX, n_threads=1))
    yield client
    client.close()


def browser_call(function: str, args: dict[str, object], thinking: str = "Let me look.") -> str:
    return (
        f"<|channel|>analysis<|message|>{thinking}<|end|>"
        f"<|start|>assistant<|channel|>analysis to=browser.{function} code<|message|>"
        f"{json.dumps(args)}<|call|>"
    )


def final(text: str) -> str:
    return f"<|channel|>final<|message|>{text}<|return|>"


def paper_pages(n: int, needle_page: int) -> list[list[str]]:
    line = "The expedition crossed the glacier at dawn and made camp by the ridge."
    pages = [[f"{line} ({p + 1}.{i})" for i in range(45)] for p in range(n)]
    pages[needle_page][20] = "The treasure was buried under the old lighthouse."
    return pages


def test_an_attachment_that_fits_is_read_in_full_and_stored_with_the_message(
    store: Store, engine: EngineClient, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("# Shopping\n\n- flour\n- butter\n", encoding="utf-8")
    a = attach(notes)
    c = store.create_conversation()
    p = plan([a], attachment_budget(N_CTX, history_tokens([])))
    assert p.inline == [a] and not p.warning
    hook = script_hook(final("Flour and butter."))
    turn = chat.prepare_turn(store, c.id, "What do I need?", attachments=[a.ref])
    out = chat.stream_turn(store, engine, turn, before_send=hook)
    assert out.ok and out.content == "Flour and butter."

    user = store.active_path(c.id)[0]
    assert user.content == "What do I need?"  # what the user typed
    assert user.attachments == [a.ref.to_dict()]
    read = hook.sent[0].messages[-1].content  # type: ignore[attr-defined]
    assert read == "```notes.md\n# Shopping\n\n- flour\n- butter\n```\n\nWhat do I need?"
    # The next turn's history reads the same (the text kept beside the stored copy).
    assert chat.harmony_history(store.active_path(c.id))[0].content == read
    # Exported: JSON carries the refs, Markdown lists the file under the message.
    assert export_json(store, c.id)["messages"][0]["attachments"][0]["sha256"] == a.ref.sha256
    md = export_chat_text(store, c.id, "md")
    assert "What do I need?\n\n*Attached: notes.md (" in md


def test_a_file_only_message_is_sent_and_names_the_chat(
    store: Store, engine: EngineClient, tmp_path: Path
) -> None:
    (tmp_path / "todo.txt").write_text("buy milk\n")
    a = attach(tmp_path / "todo.txt")
    c = store.create_conversation()
    turn = chat.prepare_turn(store, c.id, "", attachments=[a.ref])
    out = chat.stream_turn(store, engine, turn, before_send=script_hook(final("Noted.")))
    assert out.ok
    assert store.get_conversation(c.id).title == "todo.txt"
    with pytest.raises(chat.turn.InvalidRequestError):
        chat.prepare_turn(store, c.id, "  ")


def test_a_20_mb_pdf_too_long_for_the_context_is_read_through_the_browser(
    store: Store, engine: EngineClient, tmp_path: Path
) -> None:
    pdf = write_pdf(tmp_path / "expedition.pdf", paper_pages(60, 41), image_bytes=20 * 1024 * 1024)
    assert pdf.stat().st_size > 20 * 1024 * 1024
    a = attach(pdf)
    assert a.ref.pages == 60 and a.ref.tokens > N_CTX
    c = store.create_conversation()
    p = plan([a], attachment_budget(N_CTX, history_tokens([])))
    assert p.library == [a] and "does not fit in the context" in p.warning
    assert a.ref.inline is False

    turn = chat.prepare_turn(store, c.id, "Where was the treasure?", attachments=[a.ref])
    index = LibraryIndex()
    browser = chat_browser(store, c.id, index, texts={a.ref.sha256: a.text})
    assert browser is not None and browser.attachments == [a.ref.sha256]
    tools, problems = chat_tools(c.id, threading.Event(), None, browser=browser)
    assert tools is not None and not problems

    hook = script_hook(
        browser_call("search", {"query": "where was the treasure buried"}),
        browser_call("open", {"id": 0}, "The first result is the PDF."),
        final("Under the old lighthouse 【1†L2-L3】."),
    )
    out = chat.stream_turn(store, engine, turn, tools=tools, before_send=hook)
    assert out.ok and out.content == "Under the old lighthouse 【1†L2-L3】.", out.error
    sent = hook.sent  # type: ignore[attr-defined]
    # The model was told of the browser and of the file it must search, not given its text.
    assert [ns.name for ns in sent[0].settings.builtin_tools] == ["browser"]
    asked = next(m for m in sent[0].messages if m.role == "user").content
    assert "lighthouse" not in asked and '{"id": "expedition.pdf"}' in asked
    search, opened = out.tool_results
    assert search.ok and "【0†expedition.pdf†expedition.pdf】" in search.text
    assert opened.ok and "The treasure was buried under the old lighthouse." in opened.text
    assert [m.name for m in sent[-1].messages if m.role == "tool"] == [
        "browser.search",
        "browser.open",
    ]

    # The pages are kept with the chat: the citation resolves after the turn (and a restart).
    saved = store.get_conversation(c.id).settings[STATE_KEY]
    state = BrowserState.from_dict(saved)
    lines = opened.text.split("\n")
    needle = next(x for x in lines if "lighthouse" in x)
    line_no = int(needle.split(":", 1)[0][1:])
    target = resolve_citation(index, state, 1, line_no, line_no)
    assert target is not None and target.path == str(a.ref.path)
    assert (
        "lighthouse"
        in index.text_lines(index.doc_by_key("attachment:" + a.ref.sha256).id)[line_no - 1]
    )  # type: ignore[union-attr]

    # The next turn offers the browser again (the same pages), without the texts in memory.
    again = chat_browser(store, c.id, index)
    assert again is not None and len(again.state.pages) == 2

    # Markdown export: the citation becomes a footnote naming the file and lines.
    md = export_chat_text(store, c.id, "md", index)
    assert "Under the old lighthouse [^1]." in md
    assert "[^1]: expedition.pdf, lines 2–3" in md


def test_library_folders_are_browsed_only_where_the_chat_allows(
    store: Store, engine: EngineClient, tmp_path: Path
) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "boiler.md").write_text("# Boiler\n\nThe boiler pressure should be 1.5 bar.\n")
    (notes / "garden.md").write_text("# Garden\n\nPlant tulips in October.\n")
    index = LibraryIndex()
    sync_folder(index, notes)
    c = store.create_conversation()
    assert chat_browser(store, c.id, index) is None  # no folder allowed: no browser offered
    tools, _ = chat_tools(c.id, threading.Event(), None)
    assert tools is None

    store.update_settings(c.id, {FOLDERS_KEY: [str(notes)]})
    turn = chat.prepare_turn(store, c.id, "What pressure should the boiler have?")
    browser = chat_browser(store, c.id, index)
    assert browser is not None and browser.folders == [str(notes)]
    tools, _ = chat_tools(c.id, threading.Event(), None, browser=browser)
    hook = script_hook(
        browser_call("search", {"query": "boiler pressure"}),
        final("1.5 bar 【0†L2】."),
    )
    out = chat.stream_turn(store, engine, turn, tools=tools, before_send=hook)
    assert out.ok
    (search,) = out.tool_results
    assert "【0†Boiler†notes/boiler.md】" in search.text and "tulips" not in search.text
    state = BrowserState.from_dict(store.get_conversation(c.id).settings[STATE_KEY])
    target = resolve_citation(index, state, 0, 2)
    assert target is not None and target.path == str(notes / "boiler.md")
    assert target.first_line == 3  # the search page's line 2 is the hit on the file's line 3


def test_deleting_chats_for_good_removes_their_files_and_index_entries(
    store: Store, tmp_path: Path
) -> None:
    from app.attachments.storage import attachments_root
    from app.chat.documents import attachments_in_use, ensure_indexed, forget_attachments

    (tmp_path / "kept.txt").write_text("kept\n")
    (tmp_path / "gone.txt").write_text("gone\n")
    kept, gone = attach(tmp_path / "kept.txt"), attach(tmp_path / "gone.txt")
    for a in (kept, gone):
        a.ref.inline = False
    index = LibraryIndex()
    ensure_indexed(index, [kept.ref, gone.ref], {kept.ref.sha256: "kept", gone.ref.sha256: "gone"})
    c1, c2 = store.create_conversation(), store.create_conversation()
    store.add_message(c1.id, "user", "a", attachments=[kept.ref.to_dict()])
    store.add_message(c2.id, "user", "b", attachments=[gone.ref.to_dict()])
    store.trash(c2.id)
    assert attachments_in_use(store) == {kept.ref.sha256, gone.ref.sha256}  # the trash counts
    store.empty_trash()
    # Stored just now: a file attached in a window but not sent yet looks the same, and stays.
    assert forget_attachments(store, index) == 0 and gone.ref.path.exists()
    for p in (gone.ref.path, gone.ref.path.parent / ".text", gone.ref.path.parent):
        os.utime(p, (1, 1))
    assert forget_attachments(store, index) == 1
    assert not gone.ref.path.exists() and kept.ref.path.exists()
    assert index.doc_by_key("attachment:" + gone.ref.sha256) is None
    assert index.doc_by_key("attachment:" + kept.ref.sha256) is not None
    assert {p.name for p in attachments_root().glob("*/*")} == {kept.ref.sha256}
