"""Attachments in the window, as a user brings them: the paperclip's files, a drop, a paste; chips
with size and tokens; a binary refused with its reason; sent with the message (the model reads
them; the bubble shows them and re-opens them); a 20 MB PDF too long for the context searched
through the browser tool in the real tool loop, its citation opened at the cited lines. The real
window offscreen, the real engine (scripted replies), store, files and library index."""

from __future__ import annotations

import json
from pathlib import Path

import docx
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import QApplication

from app.library.citations import citation_url
from app.ui.attachments_bar import AttachmentChip
from app.ui.markdown_view import RichLabel
from tests.attachments.pdfgen import write_pdf
from tests.helpers.gui import harmony_reply, load, script_next, wait_reply


def _mime(*paths: Path) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


def _drop(widget, *paths: Path) -> bool:  # type: ignore[no-untyped-def]
    mime = _mime(*paths)
    action = Qt.DropAction.CopyAction
    enter = QDragEnterEvent(
        QPoint(5, 5), action, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(widget, enter)
    drop = QDropEvent(
        QPointF(5, 5), action, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(widget, drop)
    return enter.isAccepted() and drop.isAccepted()


def _chips(win) -> list[AttachmentChip]:  # type: ignore[no-untyped-def]
    return win.composer.attachments.chips


def _wait_read(qtbot, win, n: int) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(
        lambda: len(_chips(win)) == n and not win.composer.attachments.reading, timeout=60_000
    )


def _files(tmp_path: Path) -> dict[str, Path]:
    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\n\nThe boiler needs 1.5 bar.\n")
    code = tmp_path / "legacy.py"
    code.write_bytes("# Café crème: prix en €\nprint('ok')\n".encode("cp1252"))
    pdf = write_pdf(tmp_path / "paper.pdf", [["Attention is all you need."], ["Page two."]])
    word = docx.Document()
    word.add_heading("Minutes", 1)
    word.add_paragraph("We agreed to paint the shed green.")
    word.save(str(tmp_path / "minutes.docx"))
    return {"md": notes, "py": code, "pdf": pdf, "docx": tmp_path / "minutes.docx"}


def test_each_kind_by_paperclip_drop_and_paste_goes_with_the_message(
    qtbot, ready_window, store, tmp_path: Path
) -> None:
    win = ready_window
    files = _files(tmp_path)
    bar = win.composer.attachments
    bar.add_paths([str(files["md"])])  # what the paperclip's file dialog hands over
    assert _drop(win.composer.edit.viewport(), files["py"])  # dropped on the message box
    assert _drop(win.empty if win.stack.currentWidget() is win.empty else win.chat.viewport(),
                 files["pdf"])  # dropped on the chat  # fmt: skip
    QGuiApplication.clipboard().setMimeData(_mime(files["docx"]))
    win.composer.edit.setFocus()
    qtbot.keyClick(win.composer.edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    _wait_read(qtbot, win, 4)
    labels = [c.label.text() for c in _chips(win)]
    assert labels[0].startswith("notes.md · 35 bytes · ≈ ") and labels[0].endswith(" tokens")
    assert labels[1].startswith("legacy.py · ")
    assert labels[2].startswith("paper.pdf · ") and " · 2 pages · ≈ " in labels[2]
    assert labels[3].startswith("minutes.docx · ")
    assert win.composer.edit.toPlainText() == ""  # the paste attached; it typed nothing
    assert not bar.warning.isVisible() and win.composer.send_button.isEnabled()

    sent = script_next(win, harmony_reply("Four files read."))
    win.composer.set_text("Summarise these")
    win.composer.submit()
    wait_reply(qtbot, win)
    assert _chips(win) == [] and not bar.isVisible()  # sent: the composer is empty again
    read = next(m for m in sent[0].messages if m.role == "user").content
    assert "```notes.md\n# Notes\n\nThe boiler needs 1.5 bar.\n```" in read
    assert "```legacy.py\n# Café crème: prix en €\nprint('ok')\n```" in read  # cp1252 read
    assert "Attention is all you need." in read and "We agreed to paint the shed green." in read
    assert read.endswith("Summarise these")

    user = win.chat.widgets[0]
    assert user.bubble is not None and user.bubble.text() == "Summarise these"
    assert user.files is not None
    assert [b.text().split(" · ")[0] for b in user.files.buttons] == [
        "notes.md", "legacy.py", "paper.pdf", "minutes.docx",
    ]  # fmt: skip
    user.files.buttons[2].click()  # re-open: the text the model read, and the stored file
    viewer = user.files.viewer
    assert viewer is not None and "Attention is all you need." in viewer.text_box.toPlainText()
    assert Path(viewer.path).read_bytes() == files["pdf"].read_bytes()
    viewer.close()

    # Reopened from the store, the bubble still has its files.
    cid = win.conversation_id
    win.conversations.new_chat()
    win.conversations.open(cid)
    reopened = win.chat.widgets[0].files
    assert reopened is not None and reopened.buttons[0].text().startswith("notes.md · ")


def test_a_binary_file_is_refused_with_its_reason_and_not_sent(
    qtbot, ready_window, tmp_path: Path
) -> None:
    win = ready_window
    (tmp_path / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    (tmp_path / "ok.txt").write_text("fine\n")
    win.composer.attachments.add_paths([str(tmp_path / "photo.png"), str(tmp_path / "ok.txt")])
    _wait_read(qtbot, win, 2)
    bad, good = _chips(win)
    assert bad.error == "photo.png is an image: Hearth can attach text, PDF and Word files."
    assert bad.label.text() == bad.error and bad.objectName() == "attachChipError"
    assert good.attachment is not None
    bad.remove_button.click()
    assert [c.name for c in _chips(win)] == ["ok.txt"]
    # A refused file never blocks the others: only the readable ones go.
    win.composer.attachments.add_paths([str(tmp_path / "photo.png")])
    _wait_read(qtbot, win, 2)
    sent = script_next(win, harmony_reply("Fine."))
    win.composer.set_text("Look")
    win.composer.submit()
    wait_reply(qtbot, win)
    read = next(m for m in sent[0].messages if m.role == "user").content
    assert "```ok.txt\nfine\n```" in read and "photo" not in read


def _pages(n: int, needle: int) -> list[list[str]]:
    line = "The expedition crossed the glacier at dawn and made camp by the ridge."
    pages = [[f"{line} ({p + 1}.{i})" for i in range(45)] for p in range(n)]
    pages[needle][20] = "The treasure was buried under the old lighthouse."
    return pages


def test_a_20_mb_pdf_too_long_goes_to_the_browser_and_its_citation_opens(
    qtbot, make_window, long_model: Path, store, tmp_path: Path
) -> None:
    win = make_window()
    load(qtbot, win, long_model, n_ctx=16384)
    pdf = write_pdf(tmp_path / "expedition.pdf", _pages(60, 41), image_bytes=20 * 1024 * 1024)
    assert pdf.stat().st_size > 20 * 1024 * 1024
    assert _drop(win.composer.edit.viewport(), pdf)
    _wait_read(qtbot, win, 1)
    (chip,) = _chips(win)
    assert " · 60 pages · " in chip.label.text()
    assert chip.label.text().endswith(" · searched with the browser")
    warning = win.composer.attachments.warning
    assert warning.isVisible() and "expedition.pdf does not fit in the context" in warning.text()

    search = (
        "<|channel|>analysis<|message|>Search the PDF.<|end|><|start|>assistant<|channel|>"
        'analysis to=browser.search code<|message|>{"query": "treasure buried"}<|call|>'
    )
    sent = script_next(win, search, harmony_reply("Under the old lighthouse 【0†L2】."))
    win.composer.set_text("Where was the treasure?")
    win.composer.submit()
    wait_reply(qtbot, win, timeout=120_000)
    reply = win.chat.widgets[-1]
    assert reply.data.content == "Under the old lighthouse 【0†L2】."
    (card,) = reply.cards
    assert card.title.startswith("Ran Search (documents)")
    assert card.result is not None and "lighthouse" in card.result["text"]
    asked = next(m for m in sent[0].messages if m.role == "user").content
    assert "lighthouse" not in asked and "Use the browser tool to read it" in asked
    assert json.loads(sent[-1].messages[-2].content)["query"] == "treasure buried"

    # The citation is a link in the answer; clicking it opens the PDF's text at that line.
    labels = [w for w in reply.markdown.blocks() if isinstance(w, RichLabel)]
    url = citation_url(0, 2, 2)
    label = next(w for w in labels if url in w.text())
    label.linkActivated.emit(url)
    viewer = win.library.viewer
    assert viewer is not None and viewer.isVisible()
    (line,) = viewer.highlighted()
    assert viewer.line_text(line) == "The treasure was buried under the old lighthouse."
    assert viewer.where_label.text().startswith(f"Line {line} of ")
    assert viewer.path.endswith("expedition.pdf") and viewer.open_button.text() == "Open file"
    viewer.close()
