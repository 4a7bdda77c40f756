"""What the user does to chats from the window: start a new one, open one (or a search hit),
rename, pin, delete (with Undo), export; send, edit and resend, regenerate, switch a message's
branch; change a chat's settings. The replies themselves run in ``app.ui.turns``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QFileDialog, QInputDialog, QLineEdit

from app import APP_NAME
from app.chat.documents import export_chat
from app.store import Message as StoredMessage
from app.store import Store, StoreError
from app.ui.message import MessageData, ToolStep

if TYPE_CHECKING:
    from app.ui.window import MainWindow

UNDO_SECONDS = 10


class ConversationActions(QObject):
    """The open chat (``window.conversation_id``) and what can be done to it and to the others."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.win = window
        self.pending_settings: dict[str, Any] = {}  # a new chat's settings until its first send
        self.pending_tools: dict[str, str] = {}  # a new chat's tool modes until its first send
        self._last_deleted: int | None = None
        self._reopen_after_undo = False  # the deleted chat was the open one

    # -- opening and showing -----------------------------------------------------------------

    def new_chat(self) -> None:
        win = self.win
        if win.busy:
            win.note("Stop the reply first (Esc), then start a new chat.")
            return
        win.conversation_id = None
        self.pending_settings = win.prefs.new_chat_settings()  # Settings → General's defaults
        self.pending_tools = {}
        win.settings.load(self.pending_settings)
        win.settings.load_tool_mode(_tool_mode("python", None))
        win.folders_button.show_for({})
        win.chat.clear()
        win.sidebar.select(None)
        win.title_label.setText("New chat")
        win.setWindowTitle(APP_NAME)
        win.last_stats = {}
        win.refresh_status()
        win.update_stack()
        win.composer.attachments.refresh()
        win.composer.focus()

    def open(self, conversation_id: int, reveal: int | None = None) -> bool:
        win = self.win
        if win.store is None:
            return False
        if win.busy:
            # The streaming reply's widget must stay: no switching, no rebuilding.
            if conversation_id != win.conversation_id:
                win.note("A reply is still being written. Stop it (Esc) to switch chats.")
            win.sidebar.select(win.conversation_id)
            return conversation_id == win.conversation_id
        try:
            conv = win.store.get_conversation(conversation_id)
        except StoreError as exc:
            win.show_store_error(exc)
            return False
        win.conversation_id = conversation_id
        win.settings.load(conv.settings)
        win.settings.load_tool_mode(_tool_mode("python", conversation_id))
        win.folders_button.show_for(conv.settings)
        win.title_label.setText(conv.display_title)
        win.setWindowTitle(f"{conv.display_title} — {APP_NAME}")
        self.render()
        win.sidebar.select(conversation_id)
        if reveal is not None:
            win.chat.reveal(reveal)
        win.prefs.last_conversation = conversation_id
        win.composer.attachments.refresh()  # the room left in this chat's context
        return True

    def render(self) -> None:
        """(Re)build the chat view from the store's active path."""
        win = self.win
        if win.store is None or win.conversation_id is None:
            win.chat.clear()
            win.update_stack()
            return
        path = win.store.active_path(win.conversation_id)
        branches = win.store.path_branches(win.conversation_id, path)
        win.chat.set_messages(view_messages(path, branches))
        # The status line shows the speed of this chat's last reply.
        last = next((m for m in reversed(path) if m.role == "assistant" and m.stats), None)
        if not win.busy:
            win.last_stats = dict(last.stats or {}) if last is not None else {}
            win.refresh_status()
        win.update_stack()

    def write(self, change: Callable[[Store], object]) -> bool:
        """Make ``change`` to the store; a store error is shown in the window (False)."""
        win = self.win
        if win.store is None:
            return False
        try:
            change(win.store)
        except StoreError as exc:
            win.show_store_error(exc)
            return False
        return True

    def open_search_hit(self, conversation_id: int, message_id: int) -> None:
        win = self.win
        # (the hit may be on another branch)
        if win.busy or not self.write(lambda store: store.switch_to(message_id)):
            return
        self.open(conversation_id, reveal=message_id)

    def ensure_saved(self) -> int:
        """The open chat's id; a new chat is created now, on its first send, with the settings
        chosen so far. Raises StoreError."""
        win = self.win
        assert win.store is not None
        if win.conversation_id is None:
            conv = win.store.create_conversation(settings=dict(self.pending_settings))
            win.conversation_id = conv.id
            self.pending_settings = {}
            for key, mode in self.pending_tools.items():
                self.tool_mode_changed(key, mode)
            self.pending_tools = {}
        return win.conversation_id

    # -- rename, pin, delete, export ---------------------------------------------------------

    def ask_rename(self, conversation_id: int) -> None:
        win = self.win
        if win.store is None:
            return
        conv = win.store.get_conversation(conversation_id)
        dialog = QInputDialog(win)
        dialog.setWindowTitle("Rename chat")
        dialog.setLabelText("New title for this chat:")
        dialog.setOkButtonText("Rename")
        dialog.setTextValue(conv.display_title)
        # Wide enough for a usual title: the default box showed only its last few words. (The
        # dialog's layout overrides its own minimum width; its line edit's is kept.)
        edit = dialog.findChild(QLineEdit)
        if edit is not None:
            edit.setMinimumWidth(420)
        title = dialog.textValue() if dialog.exec() else ""
        if title.strip():
            self.rename(conversation_id, title)

    def rename(self, conversation_id: int, title: str) -> None:
        win = self.win
        if not self.write(lambda store: store.rename(conversation_id, title)):
            return
        win.sidebar.reload(select=win.conversation_id)
        if conversation_id == win.conversation_id and win.store is not None:
            win.title_label.setText(win.store.get_conversation(conversation_id).display_title)

    def set_pinned(self, conversation_id: int, pinned: bool) -> None:
        if not self.write(lambda store: store.set_pinned(conversation_id, pinned)):
            return
        self.win.sidebar.reload(select=self.win.conversation_id)

    def delete(self, conversation_id: int) -> None:
        """Move to the trash, with an Undo in the window for a few seconds."""
        win = self.win
        if win.store is None:
            return
        if win.busy and conversation_id == win.conversation_id:
            win.note("Stop the reply first (Esc), then delete the chat.")
            return
        try:
            title = win.store.get_conversation(conversation_id).display_title
            win.store.trash(conversation_id)
        except StoreError as exc:
            win.show_store_error(exc)
            return
        from app.tools.workspace import release_chat

        release_chat(conversation_id)
        self._last_deleted = conversation_id
        # Undo reopens the chat only if it was the open one; otherwise the user stays where
        # they are (Undo used to switch them to the restored chat).
        self._reopen_after_undo = conversation_id == win.conversation_id
        if conversation_id == win.conversation_id:
            self.new_chat()
        win.sidebar.reload(select=win.conversation_id)
        win.info_bar.show_message(f"Deleted “{title}”.", [("Undo", self.undo_delete)])
        QTimer.singleShot(UNDO_SECONDS * 1000, self, self._expire_undo(conversation_id))

    def _expire_undo(self, conversation_id: int) -> Callable[[], None]:
        def expire() -> None:
            if self._last_deleted == conversation_id:
                self._last_deleted = None
                self.win.info_bar.hide()

        return expire

    def undo_delete(self) -> None:
        win = self.win
        cid, self._last_deleted = self._last_deleted, None
        win.info_bar.hide()
        if cid is None or not self.write(lambda store: store.restore(cid)):
            return
        if self._reopen_after_undo:
            win.sidebar.reload()
            self.open(cid)
        else:
            win.sidebar.reload(select=win.conversation_id)

    def ask_export(self, conversation_id: int, fmt: str) -> None:
        win = self.win
        if win.store is None:
            return
        # A shortened title ends in "…": left out, not turned into "running_.md".
        title = win.store.get_conversation(conversation_id).display_title.replace("…", "")
        safe = "".join(ch if ch.isalnum() or ch in " -_" else "_" for ch in title)
        safe = safe.strip(" _") or "chat"
        ext = "md" if fmt == "md" else "json"
        filt = "Markdown (*.md)" if fmt == "md" else "JSON (*.json)"
        path, _ = QFileDialog.getSaveFileName(
            win, "Export chat", str(Path.home() / f"{safe}.{ext}"), filt
        )
        if path:
            self.export(conversation_id, Path(path), fmt)

    def export(self, conversation_id: int, path: Path, fmt: str) -> bool:
        win = self.win
        if win.store is None:
            return False
        try:
            # Markdown: citations become footnotes naming the files (app.chat.documents).
            export_chat(win.store, conversation_id, path, fmt, win.library.index(create=False))
        except (StoreError, OSError) as exc:
            win.banner.show_message(
                f"Could not export to {path}: {exc}. Choose another folder and try again."
            )
            return False
        win.note(f"Exported to {path}.")
        return True

    # -- messages: send, edit, regenerate, branches ------------------------------------------

    def send(self, text: str) -> None:
        """Send what the composer holds: its text and the files attached under it (kept there
        if the reply cannot start)."""
        bar = self.win.composer.attachments
        files = bar.attachments()
        if self.win.turns.start(text=text, attachments=files) and files:
            bar.clear()

    def regenerate(self, message_id: int) -> None:
        self.win.turns.start(regenerate=message_id)

    def edit_and_resend(self, message_id: int, text: str) -> None:
        if self.win.turns.start(text=text, edit=message_id):
            widget = self.win.chat.widget_for(message_id)
            if widget is not None:
                widget.cancel_edit()

    def switch_branch(self, message_id: int, step: int) -> None:
        win = self.win
        if win.busy:
            win.note("A reply is still being written: stop it (Esc) first.")
            return
        if self.write(lambda store: store.switch_sibling(message_id, step)):
            self.render()

    # -- chat settings -----------------------------------------------------------------------

    def tool_mode(self, key: str) -> str:
        """A tool's mode in the open chat (a new chat's pending choice first)."""
        if self.win.conversation_id is None and key in self.pending_tools:
            return self.pending_tools[key]
        return _tool_mode(key, self.win.conversation_id)

    def tool_mode_changed(self, key: str, mode: str) -> None:
        """A tool's mode for the open chat (a new chat's is kept until it is saved)."""
        win = self.win
        if win.conversation_id is None:
            self.pending_tools[key] = mode
            return
        from app.tools.settings import ToolSettings

        try:
            settings = ToolSettings.load()
            settings.set_mode(key, mode, win.conversation_id)  # type: ignore[arg-type]
            settings.save()
        except OSError as exc:
            win.note(f"Could not save the tool setting: {exc.strerror}.")

    def settings_changed(self, values: dict[str, Any]) -> None:
        win = self.win
        if win.conversation_id is None or win.store is None:
            self.pending_settings.update(values)
            return
        cid = win.conversation_id
        self.write(lambda store: store.update_settings(cid, values))


def _tool_mode(key: str, conversation_id: int | None) -> str:
    from app.tools.settings import ToolSettings

    return ToolSettings.load().mode_for(key, conversation_id)


def view_messages(
    path: list[StoredMessage], branches: dict[int, tuple[int, int]]
) -> list[MessageData]:
    """The active path as the view shows it: each user message, and each reply as one message
    whose assistant rows and tool rows (a reply that called tools) become its steps. A reply is
    known by its first row (regenerate and the branch arrows act on it)."""
    out: list[MessageData] = []
    reply: MessageData | None = None
    for m in path:
        if m.role == "user":
            reply = None
            out.append(_data(m, branches.get(m.id, (1, 1))))
        elif m.role == "assistant":
            if reply is None:
                reply = _data(m, branches.get(m.id, (1, 1)))
                out.append(reply)
            else:  # the segment after a tool result
                reply.content, reply.reasoning = m.content, m.reasoning
                reply.status, reply.error = m.status, m.error or ""
                reply.stats = m.stats or {}
            calls = [c for c in m.tool_calls or [] if isinstance(c, dict) and c.get("name")]
            if calls:
                reply.steps.append(
                    ToolStep(
                        calls[-1], m.reasoning, m.content, status="interrupted",
                        thinking_seconds=(m.stats or {}).get("thinking_s"),
                    )
                )  # fmt: skip
                reply.content = reply.reasoning = ""
        elif m.role == "tool" and reply is not None and reply.steps:
            step = reply.steps[-1]
            step.status = m.status
            step.result = m.tool_result or {"status": "ok", "text": m.content}
            if m.status != "done":  # the reply ended while the tool ran
                reply.status = m.status
    if reply is not None and reply.steps and reply.steps[-1].result is None:
        # Its call was saved, its tool row never was (the app was killed in between).
        reply.status = "interrupted" if reply.status == "done" else reply.status
    return out


def _data(m: StoredMessage, branch: tuple[int, int]) -> MessageData:
    stats = m.stats or {}
    return MessageData(
        id=m.id,
        role=m.role,
        content=m.content,
        reasoning=m.reasoning,
        status=m.status,
        error=m.error or "",
        sibling_index=branch[0] - 1,
        sibling_count=branch[1],
        stats=stats,
        thinking_seconds=stats.get("thinking_s"),
        attachments=[a for a in m.attachments or [] if isinstance(a, dict)],
    )
