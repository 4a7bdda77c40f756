"""The Library in the window: Settings → Library adds a folder and shows the indexing; a folder
edited while it is being indexed ends up indexed as it is on disk; the file watcher keeps it
current; the chat header says which folders the model may search; a question answered from one
note through the real tool loop, its citation opened in the viewer at the cited lines."""

from __future__ import annotations

from pathlib import Path

from app.chat.documents import FOLDERS_KEY
from app.library.citations import citation_url
from app.ui.markdown_view import RichLabel
from app.ui.settings.dialog import SettingsDialog
from app.ui.settings.library_page import LibraryPage
from tests.helpers.gui import harmony_reply, script_next, wait_reply
from tests.library.corpus import write_corpus


def _page(qtbot, win) -> tuple[SettingsDialog, LibraryPage]:  # type: ignore[no-untyped-def]
    dialog = SettingsDialog(win, "Library")
    qtbot.addWidget(dialog)
    dialog.show()
    page = dialog.page("Library")
    assert isinstance(page, LibraryPage)
    return dialog, page


def _indexed(win) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Every indexed file's path -> its indexed text."""
    index = win.library.index()
    rows = index.connection().execute("SELECT id, key FROM docs WHERE folder_id IS NOT NULL")
    return {key: "\n".join(index.text_lines(doc_id)) for doc_id, key in rows}


def _on_disk(root: Path) -> dict[str, str]:
    return {str(p): p.read_text() for p in root.rglob("*.md")}


def test_a_folder_edited_while_it_is_indexed_ends_up_as_it_is_on_disk(
    qtbot, window, tmp_path: Path
) -> None:
    win = window
    root = tmp_path / "notes"
    files = write_corpus(root, 1500, bytes_per_file=1500)
    dialog, page = _page(qtbot, win)
    edits: list[bool] = []
    gone: list[Path] = []
    created = root / "late" / "late.md"

    first: list[str] = []

    def edit_while_indexing(folder: str, done: int, total: int, rel: str) -> None:
        first.append(rel)
        if edits or done < 300 or done >= total:
            return
        # In the middle of the first read: the first file it read changed in place (no
        # directory event for the watcher), a file gone and a new one in other folders.
        just_read = root / first[0]
        just_read.write_text("# Changed\n\nThe kettle is descaled with vinegar.\n")
        gone.append(next(f for f in reversed(files) if f.parent != just_read.parent))
        gone[0].unlink()
        created.parent.mkdir()
        created.write_text("# Late\n\nThe ferry leaves at noon.\n")
        edits.append(win.library.busy)

    win.library.progress.connect(edit_while_indexing)
    qtbot.waitUntil(win.library.timer.isActive, timeout=10_000)  # the window's start-up check
    assert page.add_folder(str(root))
    qtbot.waitUntil(lambda: page.progress.isVisible(), timeout=10_000)
    qtbot.waitUntil(lambda: bool(edits), timeout=60_000)
    assert edits == [True]  # the edits happened while the folder was being read
    assert "Indexing notes:" in page.progress_label.text() or not win.library.busy
    qtbot.waitUntil(lambda: not win.library.busy, timeout=180_000)
    assert page.progress_label.text() == "Up to date." and not page.progress.isVisible()
    assert _indexed(win) == _on_disk(root)
    assert str(gone[0]) not in _indexed(win) and "ferry" in _indexed(win)[str(created)]
    assert sum("kettle" in text for text in _indexed(win).values()) == 1
    item = page.tree.topLevelItem(0)
    assert item is not None and item.text(0) == str(root) and item.text(1) == "1,500"
    assert page.size_label.text().startswith("Index: ") and "1,500 files" in page.size_label.text()

    # The watcher: a new file, and a new sub-folder with a file, are indexed without a re-read.
    (root / "topic01" / "new.md").write_text("# New\n\nThe owl hunts at night.\n")
    (root / "fresh").mkdir()
    (root / "fresh" / "one.md").write_text("# One\n\nThe lark sings at dawn.\n")
    qtbot.waitUntil(lambda: _indexed(win) == _on_disk(root), timeout=60_000)
    (root / "fresh" / "two.md").write_text("# Two\n\nThe wren nests in ivy.\n")  # now watched
    qtbot.waitUntil(lambda: _indexed(win) == _on_disk(root), timeout=60_000)

    # Removed while being read: the read stops and nothing of it stays.
    other = tmp_path / "other"
    write_corpus(other, 800, seed=3)
    started: list[int] = []
    win.library.progress.connect(lambda f, d, t, r: f == str(other) and started.append(d))
    page.add_folder(str(other))
    qtbot.waitUntil(lambda: bool(started), timeout=60_000)
    page.tree.topLevelItem(1).setSelected(True)  # ("notes" sorts before "other")
    assert page.selected() == str(other)
    page.remove_selected()
    qtbot.waitUntil(lambda: not win.library.busy, timeout=120_000)
    assert [f.path for f in win.library.folders()] == [str(root)]
    assert all(k.startswith(str(root)) for k in _indexed(win))
    dialog.close()


def test_a_note_answers_the_question_and_its_citation_opens_at_the_lines(
    qtbot, ready_window, store, tmp_path: Path
) -> None:
    win = ready_window
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "boiler.md").write_text(
        "# Boiler\n\nService it every autumn.\nThe boiler pressure should be 1.5 bar.\n"
    )
    (notes / "garden.md").write_text("# Garden\n\nPlant tulips in October.\n")
    win.library.add_folder(notes)
    qtbot.waitUntil(lambda: not win.library.busy, timeout=60_000)

    # A new chat may browse no folder until the user allows one in its header.
    assert win.folders_button.text() == "Library: none"
    win.folders_button._fill()
    actions = [a.text() for a in win.folders_button.menu_.actions()]
    assert str(notes) in actions and "Add or remove Library folders…" in actions
    win.folders_button.set_allowed(str(notes), True)
    assert win.folders_button.text() == "Library: notes"

    search = (
        "<|channel|>analysis<|message|>Search the notes.<|end|><|start|>assistant<|channel|>"
        'analysis to=browser.search code<|message|>{"query": "boiler pressure"}<|call|>'
    )
    sent = script_next(win, search, harmony_reply("It should be 1.5 bar 【0†L2】."))
    win.conversations.send("What pressure should my boiler have?")
    wait_reply(qtbot, win, timeout=60_000)
    cid = win.conversation_id
    assert store.get_conversation(cid).settings[FOLDERS_KEY] == [str(notes)]
    assert [ns.name for ns in sent[0].settings.builtin_tools] == ["browser"]
    reply = win.chat.widgets[-1]
    (card,) = reply.cards
    assert "【0†Boiler†notes/boiler.md】" in card.result["text"]  # type: ignore[index]
    assert "tulips" not in card.result["text"]  # type: ignore[index]

    url = citation_url(0, 2, 2)
    label = next(w for w in reply.markdown.blocks() if isinstance(w, RichLabel) and url in w.text())
    label.linkActivated.emit(url)
    viewer = win.library.viewer
    assert viewer is not None and viewer.path == str(notes / "boiler.md")
    (line,) = viewer.highlighted()
    assert viewer.line_text(line) == "The boiler pressure should be 1.5 bar."
    assert viewer.open_button.text() == "Open in editor" and viewer.open_button.isEnabled()
    viewer.close()

    # Exported from the window: the citation is a footnote naming the file and the line.
    assert win.conversations.export(cid, tmp_path / "chat.md", "md")
    md = (tmp_path / "chat.md").read_text()
    assert "It should be 1.5 bar [^1]." in md
    assert "[^1]: notes/boiler.md, line 4 (" in md

    # Another chat: its own choice (none), and its header says so.
    win.conversations.new_chat()
    assert win.folders_button.text() == "Library: none"
    win.conversations.open(cid)
    assert win.folders_button.text() == "Library: notes"


def test_the_page_works_in_settings_opened_without_the_window(qtbot, tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.md").write_text("# A\n\nalpha\n")
    dialog = SettingsDialog(page="Library")
    qtbot.addWidget(dialog)
    page = dialog.page("Library")
    assert isinstance(page, LibraryPage)
    assert page.add_folder(str(tmp_path / "notes"))
    qtbot.waitUntil(lambda: not page.service.busy, timeout=60_000)
    assert page.tree.topLevelItem(0).text(1) == "1"  # type: ignore[union-attr]
    dialog.reject()  # its own Library stops with it
    assert page.service._thread is None
