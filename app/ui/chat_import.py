"""Import a chat from the window (⋯ → Import a chat…, Ctrl+O): a JSON or Markdown export of
Hearth's, chosen in a file dialog, becomes a new chat and opens."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog

from app.store import StoreError
from app.store.markdown_import import import_chat_file

if TYPE_CHECKING:
    from app.ui.window import MainWindow


def ask_import(win: MainWindow) -> None:
    path, _ = QFileDialog.getOpenFileName(
        win,
        "Import a chat",
        str(Path.home()),
        "Chats exported by Hearth (*.json *.md *.markdown);;All files (*)",
    )
    if path:
        import_chat(win, Path(path))


def import_chat(win: MainWindow, path: Path) -> int | None:
    """Import ``path`` and open it; the banner says what went wrong otherwise."""
    if win.store is None or win.store.readonly:
        reason = win.store.readonly_reason if win.store is not None else None
        win.banner.show_message(
            "Chats can't be saved right now, so nothing can be imported."
            + (f" {reason}" if reason else "")
        )
        return None
    if win.busy:
        win.note("Stop the reply first (Esc), then import the chat.")
        return None
    try:
        cid = import_chat_file(win.store, path)
    except StoreError as exc:
        win.banner.show_message(f"Couldn't import {path.name}: {exc}")
        return None
    win.sidebar.reload()
    win.conversations.open(cid)
    win.note(f"Imported {path.name}.")
    return cid
