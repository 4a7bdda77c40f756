"""The main window: sidebar, chat, composer, per-chat settings, status line.

The window joins the store, the engine controller and ``app.chat``: a turn's rows are created on
the GUI thread (``prepare_turn``), the reply streams on a ``GenerationWorker`` thread
(``stream_turn``), and the window only renders what the worker reports.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QEvent, QSize, Qt, QTimer, Slot
from PySide6.QtGui import QCloseEvent, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app import APP_NAME, chat
from app.engine.client import EngineClient, GenerateRequest
from app.engine.events import ModelInfo
from app.engine.options import LoadOptions
from app.store import (
    DatabaseCorruptError,
    Store,
    StoreError,
    export_to_file,
)
from app.store import Message as StoredMessage
from app.ui import theme as themes
from app.ui.chat_view import ChatView
from app.ui.composer import Composer
from app.ui.engine_control import EngineController, backend_name
from app.ui.message import MessageData, MessageWidget
from app.ui.prefs import UiPrefs
from app.ui.settings_panel import SettingsPanel
from app.ui.sidebar import Sidebar
from app.ui.worker import GenerationWorker, Outcome, Update, WorkerThread

UNDO_SECONDS = 10


class ElidedLabel(QLabel):
    """One line that shortens itself with "…" to the room it has: a plain label would not
    shrink below its text, so a long chat title ran under the Chat settings button."""

    def __init__(self) -> None:
        super().__init__()
        self._full = ""

    def setText(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self._elide()

    def text(self) -> str:
        return self._full

    def minimumSizeHint(self) -> QSize:
        return QSize(0, super().minimumSizeHint().height())

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._elide()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._elide()  # the theme's font is wider or narrower

    def _elide(self) -> None:
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, self.width())
        super().setText(shown)


class Banner(QFrame):
    """A message across the top of the chat with the ways out as buttons."""

    def __init__(self, object_name: str = "banner") -> None:
        super().__init__()
        self.setObjectName(object_name)
        # Text on the first line, the ways out on the right below it: a long message stays
        # readable instead of being squeezed into a narrow column beside the buttons.
        lay = QVBoxLayout(self)
        lay.setContentsMargins(14, 10, 10, 8)
        lay.setSpacing(6)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.label)
        row = QHBoxLayout()
        row.addStretch(1)
        self._buttons = QHBoxLayout()
        row.addLayout(self._buttons)
        lay.addLayout(row)
        self.buttons: dict[str, QPushButton] = {}
        self.hide()

    def show_message(
        self, text: str, actions: list[tuple[str, Callable[[], None]]] | None = None
    ) -> None:
        while self._buttons.count():
            item = self._buttons.takeAt(0)
            if item is not None and (w := item.widget()) is not None:
                w.deleteLater()
        self.buttons = {}
        self.label.setText(text)
        for label, fn in actions or []:
            b = QPushButton(label)
            b.clicked.connect(fn)
            self._buttons.addWidget(b)
            self.buttons[label] = b
        close = QPushButton("Dismiss")
        close.clicked.connect(self.hide)
        self._buttons.addWidget(close)
        self.buttons["Dismiss"] = close
        self.show()


class EmptyState(QWidget):
    """Shown instead of an empty chat: a welcome, or what to do when no model is loaded."""

    def __init__(self) -> None:
        super().__init__()
        lay = QVBoxLayout(self)
        lay.addStretch(2)
        self.title = QLabel()
        self.title.setObjectName("emptyTitle")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text = QLabel()
        self.text.setObjectName("emptyText")
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text.setWordWrap(True)
        lay.addWidget(self.title)
        lay.addWidget(self.text)
        row = QHBoxLayout()
        row.addStretch(1)
        self.choose_button = QPushButton("Choose or download a model…")
        self.choose_button.setObjectName("primary")
        self.open_button = QPushButton("Open GGUF file…")
        row.addWidget(self.choose_button)
        row.addWidget(self.open_button)
        row.addStretch(1)
        self.buttons = QWidget()
        self.buttons.setLayout(row)
        # The model manager's first-run panel (recommendation + one-click download) goes here.
        self.first_run_box = QHBoxLayout()
        lay.addLayout(self.first_run_box)
        self.first_run: QWidget | None = None
        lay.addSpacing(12)
        lay.addWidget(self.buttons)
        lay.addStretch(3)

    def set_first_run(self, widget: QWidget) -> None:
        self.first_run = widget
        widget.setMaximumWidth(720)
        self.first_run_box.addStretch(1)
        self.first_run_box.addWidget(widget, 100)
        self.first_run_box.addStretch(1)

    def set_state(self, state: str, detail: str = "") -> None:
        if self.first_run is not None:
            self.first_run.setVisible(state == "no-model")
        self.title.show()
        self.text.show()
        if state == "ready":
            self.title.setText("How can I help?")
            self.text.setText(detail or "Everything stays on this computer.")
            self.buttons.hide()
        elif state == "loading":
            self.title.setText("Loading the model…")
            self.text.setText(detail)
            self.buttons.hide()
        elif self.first_run is not None:
            # The first-run panel has its own welcome, download and "I have a file" buttons;
            # below it, a quiet way to the full model manager.
            self.title.hide()
            self.text.hide()
            self.buttons.show()
            self.choose_button.setText("Browse all models…")
            self.choose_button.setObjectName("")
            self.choose_button.style().unpolish(self.choose_button)
            self.choose_button.style().polish(self.choose_button)
            self.open_button.hide()
            return
        else:
            self.title.setText("No model loaded")
            self.text.setText(
                detail
                or "Hearth runs gpt-oss-20b on this computer. Choose or download a model, or "
                "open a GGUF file you already have."
            )
            self.buttons.show()
            self.open_button.show()
            self.choose_button.show()


class MainWindow(QMainWindow):
    def __init__(
        self,
        store: Store | None = None,
        *,
        client_factory: Callable[[], EngineClient] = EngineClient,
        load_engine: bool = True,
        prefs: UiPrefs | None = None,
        first_run: bool = True,
    ) -> None:
        super().__init__()
        self.setWindowTitle(APP_NAME)
        self.prefs = prefs or UiPrefs.load()
        self.theme = themes.resolve(self.prefs.theme)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            themes.apply(app, self.theme)
        self.store_error: StoreError | None = None
        self._own_store = store is None
        self.store = store if store is not None else self._open_store()
        self.engine = EngineController(client_factory)
        self.conversation_id: int | None = None
        self.pending_settings: dict[str, Any] = {}  # a new chat's settings until its first send
        self.worker: GenerationWorker | None = None
        self._worker_thread: WorkerThread | None = None
        self._streaming: MessageWidget | None = None
        self._last_deleted: int | None = None
        self._reopen_after_undo = False  # the deleted chat was the open one
        self.last_stats: dict[str, Any] = {}
        # Testing/screenshot aid: called with each GenerateRequest before it is sent (e.g. to
        # set ``script`` for an exact reply, or ``suppress_stop``).
        self.request_hook: Callable[[GenerateRequest], None] | None = None
        # First run (no chats, never a model): the model manager's welcome panel.
        self._offer_first_run = first_run and self.prefs.last_model is None

        self._build()
        self._shortcuts()
        # Follow the system's light/dark switch while running (unless a theme was chosen).
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._system_scheme_changed)
        self._watchdog = QTimer(self)
        self._watchdog.setInterval(2000)
        self._watchdog.timeout.connect(self._check_engine)
        self._watchdog.start()
        self.engine.loading.connect(self._on_loading)
        self.engine.loaded.connect(self._on_loaded)
        self.engine.failed.connect(self._on_load_failed)
        self._restore_geometry()
        self.sidebar.reload()
        last = self.prefs.last_conversation
        if last is not None and self.sidebar.model.row_of(last) >= 0:
            self.open_conversation(last)
        else:
            self.new_chat()
        self._refresh_model_state()
        if self.store_error is not None:
            self._show_store_error(self.store_error)
        elif self.store is not None and self.store.readonly_reason is not None:
            self.banner.show_message(
                f"Chats are read-only: {self.store.readonly_reason}",
            )
        if load_engine and self.prefs.last_model:
            opts = LoadOptions.from_dict(self.prefs.last_model)
            if Path(opts.model_path).is_file():
                self.load_model(opts)
        # Warm the Markdown/pygments path once the window is up, not in the first reply.
        QTimer.singleShot(300, self, self._warm_up)

    # ------------------------------------------------------------------ construction

    def _open_store(self) -> Store | None:
        try:
            return Store.open(readonly_fallback=True)
        except StoreError as exc:
            self.store_error = exc
            return None

    def _build(self) -> None:
        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        self.sidebar = Sidebar(self.store, self.theme.muted)
        self.sidebar.setFixedWidth(270)
        row.addWidget(self.sidebar)

        pane = QWidget()
        pane.setObjectName("chatPane")
        col = QVBoxLayout(pane)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(0)
        header = QHBoxLayout()
        header.setContentsMargins(20, 10, 12, 6)
        self.title_label = ElidedLabel()
        self.title_label.setObjectName("panelTitle")
        self.settings_button = QPushButton("Chat settings")
        self.settings_button.setToolTip("Reasoning effort, instructions, sampling (Ctrl+,)")
        self.settings_button.clicked.connect(self.toggle_settings)
        header.addWidget(self.title_label, 1)
        header.addWidget(self.settings_button)
        col.addLayout(header)
        banners = QVBoxLayout()
        banners.setContentsMargins(20, 0, 20, 4)
        self.banner = Banner("banner")
        self.info_bar = Banner("infoBar")
        banners.addWidget(self.banner)
        banners.addWidget(self.info_bar)
        col.addLayout(banners)
        self.stack = QStackedWidget()
        self.chat = ChatView(self.theme.markdown)
        self.empty = EmptyState()
        self.empty.open_button.clicked.connect(self.open_gguf_dialog)
        self.empty.choose_button.clicked.connect(self.open_model_manager)
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.chat)
        col.addWidget(self.stack, 1)
        self.composer = Composer()
        col.addWidget(self.composer)
        row.addWidget(pane, 1)

        self.settings = SettingsPanel()
        self.settings.hide()
        self.settings.set_theme_choice(self.prefs.theme)
        row.addWidget(self.settings)
        self.setCentralWidget(central)

        sb = self.statusBar()
        sb.setSizeGripEnabled(False)
        self.status_model = QLabel()
        self.status_backend = QLabel()
        self.status_speed = QLabel()
        self.status_context = QLabel()
        for w in (self.status_model, self.status_backend, self.status_speed):
            sb.addWidget(w)
        sb.addPermanentWidget(self.status_context)
        self.model_button = QPushButton("Load model…")
        self.model_button.setFlat(True)
        self.model_button.clicked.connect(self.choose_model)
        sb.addPermanentWidget(self.model_button)

        self.sidebar.newChatRequested.connect(self.new_chat)
        self.sidebar.conversationActivated.connect(self.open_conversation)
        self.sidebar.searchHitActivated.connect(self.open_search_hit)
        self.sidebar.renameRequested.connect(self.ask_rename)
        self.sidebar.deleteRequested.connect(self.delete_conversation)
        self.sidebar.pinRequested.connect(self.set_pinned)
        self.sidebar.exportRequested.connect(self.ask_export)
        self.composer.submitted.connect(self.send)
        self.composer.stopRequested.connect(self.stop)
        self.chat.editSubmitted.connect(self.edit_and_resend)
        self.chat.regenerateRequested.connect(self.regenerate)
        self.chat.branchRequested.connect(self.switch_branch)
        self.settings.changed.connect(self._settings_changed)
        self.settings.themeChanged.connect(self.set_theme)
        self.settings.closeRequested.connect(self.toggle_settings)
        self.settings.about_button.clicked.connect(self.show_about)
        self.resize(1200, 800)

    def _shortcuts(self) -> None:
        def bind(seq: QKeySequence | str, fn: Callable[[], Any]) -> QShortcut:
            s = QShortcut(QKeySequence(seq), self)
            s.setContext(Qt.ShortcutContext.WindowShortcut)
            s.activated.connect(fn)
            return s

        self.shortcuts = {
            "new": bind("Ctrl+N", self.new_chat),
            "search": bind("Ctrl+F", self.focus_search),
            "input": bind("Ctrl+L", self.composer.focus),
            "copy": bind("Ctrl+Shift+C", self.copy_last_answer),
            "settings": bind("Ctrl+,", self.toggle_settings),
            "stop": bind("Esc", self.stop),
            "about": bind("F1", self.show_about),
        }
        # Esc belongs to the focused widget (cancel an edit, clear a search) unless a reply runs.
        self.shortcuts["stop"].setEnabled(False)

    def show_about(self) -> None:
        from app.ui.about import show_about

        show_about(self)

    def _warm_up(self) -> None:
        from app.ui.markdown import render_document

        render_document("| a |\n|---|\n| 1 |\n\n```python\nx = 1\n```\n", self.theme.markdown)

    # ------------------------------------------------------------------ conversations

    @property
    def busy(self) -> bool:
        return self.worker is not None

    def new_chat(self) -> None:
        if self.busy:
            self._note("Stop the reply first (Esc), then start a new chat.")
            return
        self.conversation_id = None
        self.pending_settings = {}
        self.settings.load({})
        self.chat.clear()
        self.sidebar.select(None)
        self.title_label.setText("New chat")
        self.setWindowTitle(APP_NAME)
        self.last_stats = {}
        self._refresh_status()
        self._update_stack()
        self.composer.focus()

    def open_conversation(self, conversation_id: int, reveal: int | None = None) -> bool:
        if self.store is None:
            return False
        if self.busy:
            # The streaming reply's widget must stay: no switching, no rebuilding.
            if conversation_id != self.conversation_id:
                self._note("A reply is still being written. Stop it (Esc) to switch chats.")
            self.sidebar.select(self.conversation_id)
            return conversation_id == self.conversation_id
        try:
            conv = self.store.get_conversation(conversation_id)
        except StoreError as exc:
            self._show_store_error(exc)
            return False
        self.conversation_id = conversation_id
        self.settings.load(conv.settings)
        self.title_label.setText(conv.display_title)
        self.setWindowTitle(f"{conv.display_title} — {APP_NAME}")
        self.render_conversation()
        self.sidebar.select(conversation_id)
        if reveal is not None:
            self.chat.reveal(reveal)
        self.prefs.last_conversation = conversation_id
        return True

    def render_conversation(self) -> None:
        """(Re)build the chat view from the store's active path."""
        if self.store is None or self.conversation_id is None:
            self.chat.clear()
            self._update_stack()
            return
        path = self.store.active_path(self.conversation_id)
        branches = self.store.path_branches(self.conversation_id, path)
        shown = [m for m in path if m.role in ("user", "assistant")]
        self.chat.set_messages([_view_data(m, branches.get(m.id, (1, 1))) for m in shown])
        # The status line shows the speed of this chat's last reply.
        last = next((m for m in reversed(shown) if m.role == "assistant" and m.stats), None)
        if not self.busy:
            self.last_stats = dict(last.stats or {}) if last is not None else {}
            self._refresh_status()
        self._update_stack()

    def open_search_hit(self, conversation_id: int, message_id: int) -> None:
        if self.store is None or self.busy:
            return
        try:
            self.store.switch_to(message_id)  # the hit may be on another branch
        except StoreError as exc:
            self._show_store_error(exc)
            return
        self.open_conversation(conversation_id, reveal=message_id)

    def focus_search(self) -> None:
        self.sidebar.search.setFocus()
        self.sidebar.search.selectAll()

    def ask_rename(self, conversation_id: int) -> None:
        if self.store is None:
            return
        conv = self.store.get_conversation(conversation_id)
        dialog = QInputDialog(self)
        dialog.setWindowTitle("Rename chat")
        dialog.setLabelText("Title:")
        dialog.setTextValue(conv.display_title)
        # Wide enough for a usual title: the default box showed only its last few words. (The
        # dialog's layout overrides its own minimum width; its line edit's is kept.)
        edit = dialog.findChild(QLineEdit)
        if edit is not None:
            edit.setMinimumWidth(420)
        title = dialog.textValue() if dialog.exec() else ""
        if title.strip():
            self.rename_conversation(conversation_id, title)

    def rename_conversation(self, conversation_id: int, title: str) -> None:
        if self.store is None:
            return
        try:
            self.store.rename(conversation_id, title)
        except StoreError as exc:
            self._show_store_error(exc)
            return
        self.sidebar.reload(select=self.conversation_id)
        if conversation_id == self.conversation_id:
            self.title_label.setText(self.store.get_conversation(conversation_id).display_title)

    def set_pinned(self, conversation_id: int, pinned: bool) -> None:
        if self.store is None:
            return
        try:
            self.store.set_pinned(conversation_id, pinned)
        except StoreError as exc:
            self._show_store_error(exc)
            return
        self.sidebar.reload(select=self.conversation_id)

    def delete_conversation(self, conversation_id: int) -> None:
        """Move to the trash, with an Undo in the window for a few seconds."""
        if self.store is None:
            return
        if self.busy and conversation_id == self.conversation_id:
            self._note("Stop the reply first (Esc), then delete the chat.")
            return
        try:
            title = self.store.get_conversation(conversation_id).display_title
            self.store.trash(conversation_id)
        except StoreError as exc:
            self._show_store_error(exc)
            return
        self._last_deleted = conversation_id
        # Undo reopens the chat only if it was the open one; otherwise the user stays where
        # they are (Undo used to switch them to the restored chat).
        self._reopen_after_undo = conversation_id == self.conversation_id
        if conversation_id == self.conversation_id:
            self.new_chat()
        self.sidebar.reload(select=self.conversation_id)
        self.info_bar.show_message(f"Deleted “{title}”.", [("Undo", self.undo_delete)])
        QTimer.singleShot(UNDO_SECONDS * 1000, self, self._expire_undo(conversation_id))

    def _expire_undo(self, conversation_id: int) -> Callable[[], None]:
        def expire() -> None:
            if self._last_deleted == conversation_id:
                self._last_deleted = None
                self.info_bar.hide()

        return expire

    def undo_delete(self) -> None:
        cid, self._last_deleted = self._last_deleted, None
        self.info_bar.hide()
        if cid is None or self.store is None:
            return
        try:
            self.store.restore(cid)
        except StoreError as exc:
            self._show_store_error(exc)
            return
        if self._reopen_after_undo:
            self.sidebar.reload()
            self.open_conversation(cid)
        else:
            self.sidebar.reload(select=self.conversation_id)

    def ask_export(self, conversation_id: int, fmt: str) -> None:
        if self.store is None:
            return
        # A shortened title ends in "…": left out, not turned into "running_.md".
        title = self.store.get_conversation(conversation_id).display_title.replace("…", "")
        safe = "".join(ch if ch.isalnum() or ch in " -_" else "_" for ch in title)
        safe = safe.strip(" _") or "chat"
        ext = "md" if fmt == "md" else "json"
        filt = "Markdown (*.md)" if fmt == "md" else "JSON (*.json)"
        path, _ = QFileDialog.getSaveFileName(
            self, "Export chat", str(Path.home() / f"{safe}.{ext}"), filt
        )
        if path:
            self.export_conversation(conversation_id, Path(path), fmt)

    def export_conversation(self, conversation_id: int, path: Path, fmt: str) -> bool:
        if self.store is None:
            return False
        try:
            export_to_file(self.store, conversation_id, path, fmt)
        except (StoreError, OSError) as exc:
            self.banner.show_message(
                f"Could not export to {path}: {exc}. Choose another folder and try again."
            )
            return False
        self._note(f"Exported to {path}.")
        return True

    # ------------------------------------------------------------------ chat settings

    def toggle_settings(self) -> None:
        self.settings.setVisible(not self.settings.isVisible())
        if not self.settings.isVisible():
            self.settings.flush()

    def _settings_changed(self, values: dict[str, Any]) -> None:
        if self.conversation_id is None or self.store is None:
            self.pending_settings.update(values)
            return
        try:
            self.store.update_settings(self.conversation_id, values)
        except StoreError as exc:
            self._show_store_error(exc)

    def set_theme(self, choice: str) -> None:
        self.prefs.theme = choice
        self.theme = themes.resolve(choice)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            themes.apply(app, self.theme)
        self.chat.colors = self.theme.markdown
        self.sidebar.set_muted(self.theme.muted)
        if not self.busy:
            self.render_conversation()
        self._save_prefs()

    @Slot()
    def _system_scheme_changed(self) -> None:
        if self.prefs.theme == "system":
            self.set_theme("system")

    # ------------------------------------------------------------------ replies

    def send(self, text: str) -> None:
        self._start_turn(text=text)

    def regenerate(self, message_id: int) -> None:
        self._start_turn(regenerate=message_id)

    def edit_and_resend(self, message_id: int, text: str) -> None:
        if self._start_turn(text=text, edit=message_id):
            widget = self.chat.widget_for(message_id)
            if widget is not None:
                widget.cancel_edit()

    def switch_branch(self, message_id: int, step: int) -> None:
        if self.busy:
            self._note("A reply is still being written: stop it (Esc) first.")
            return
        if self.store is None:
            return
        try:
            self.store.switch_sibling(message_id, step)
        except StoreError as exc:
            self._show_store_error(exc)
            return
        self.render_conversation()

    def _start_turn(
        self, text: str | None = None, *, edit: int | None = None, regenerate: int | None = None
    ) -> bool:
        if self.busy:
            self._note("A reply is still being written: stop it (Esc) first.")
            return False
        if self.store is None or self.store.readonly:
            self.banner.show_message(
                "Chats can't be saved right now, so Hearth won't start a reply that would be lost."
                + (
                    f" {self.store.readonly_reason}"
                    if self.store and self.store.readonly_reason
                    else ""
                )
            )
            return False
        client = self.engine.client
        if not self.engine.ready or client is None:
            if self.engine.info is not None:  # loaded once, but the host is gone
                self._engine_lost()
            else:
                self._note("Load a model first: Open GGUF file… or Choose a model… below.")
            if text and edit is None:
                self.composer.set_text(text)
            return False
        self.settings.flush()
        try:
            if self.conversation_id is None:
                conv = self.store.create_conversation(settings=dict(self.pending_settings))
                self.conversation_id = conv.id
                self.pending_settings = {}
            info = self.engine.info
            turn = chat.prepare_turn(
                self.store,
                self.conversation_id,
                text,
                edit=edit,
                regenerate=regenerate,
                model=info.name if info and info.name else None,
            )
        except StoreError as exc:
            self._show_store_error(exc)
            if text and edit is None:
                self.composer.set_text(text)
            return False
        if self.request_hook is not None:
            self.request_hook(turn.request)
        self.render_conversation()
        self.sidebar.reload(select=self.conversation_id)
        self.title_label.setText(self.store.get_conversation(self.conversation_id).display_title)
        self._streaming = self.chat.widget_for(turn.assistant_message.id)
        store = self.store

        def job(on_event: Callable[[Any], None]) -> Any:
            return chat.stream_turn(store, client, turn, on_event=on_event)

        worker = GenerationWorker(job, cancel=client.cancel)
        holder = WorkerThread(worker)
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_finished)
        self.worker, self._worker_thread = worker, holder
        self.composer.set_busy(True)
        self.shortcuts["stop"].setEnabled(True)
        self.chat.streaming = True
        self.chat.scroll_to_bottom()
        holder.start()
        return True

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()

    @Slot(object)
    def _on_progress(self, up: Update) -> None:
        w = self._streaming
        if w is not None:
            w.stream(up.reasoning, up.content)
        for note in up.notes:
            self._note(note)

    @Slot(object)
    def _on_finished(self, out: Outcome) -> None:
        if self._worker_thread is not None:
            self._worker_thread.wait()
        self.worker = None
        self._worker_thread = None
        self.shortcuts["stop"].setEnabled(False)
        w, self._streaming = self._streaming, None
        if w is not None:
            w.data.content = out.content or w.data.content
            w.finish(out.status, out.error, out.stats)
            self._remember_thinking_time(w, out)
        self.chat.end_stream()
        self.composer.set_busy(False)
        if out.stats:
            self.last_stats = out.stats
        self._refresh_status()
        self.sidebar.reload(select=self.conversation_id)
        if out.error_kind == "engine_died" or (
            out.status == "error"
            and self.engine.client is not None
            and not self.engine.client.is_alive
        ):
            self.engine.info = None
            self._refresh_model_state()
            self.banner.show_message(
                f"{out.error or 'The engine stopped unexpectedly.'} Your chat and the partial "
                "reply are saved.",
                [
                    ("Reload engine", self.engine.reload),
                    ("Choose another model", self.choose_model),
                ],
            )
        elif out.status == "error":
            self.banner.show_message(
                f"The reply failed: {out.error}",
                [("Try again", lambda: self.regenerate(int(out.message_id)))]
                if out.message_id is not None
                else [],
            )
        if out.save_error:
            self.banner.show_message(
                f"The reply could not be saved: {out.save_error} The text stays on screen; "
                "free some disk space, then regenerate or copy it."
            )

    def _remember_thinking_time(self, w: MessageWidget, out: Outcome) -> None:
        """Keep "Thought for N s" for later: stored beside the engine's stats."""
        seconds = w.data.thinking_seconds
        if seconds is None or self.store is None or self.store.readonly:
            return
        try:
            self.store.update_message(
                int(w.data.id), stats={**(out.stats or {}), "thinking_s": round(seconds, 1)}
            )
        except (StoreError, ValueError):
            pass  # only a nicety: the reply itself is saved

    def copy_last_answer(self) -> bool:
        w = self.chat.last_assistant()
        if w is None or not w.data.content:
            return False
        QGuiApplication.clipboard().setText(w.data.content)
        self._note("Copied the last answer.")
        return True

    # ------------------------------------------------------------------ models

    def choose_model(self) -> None:
        self.open_model_manager()

    def open_model_manager(self) -> None:
        from app.ui.models import open_model_manager

        opts = open_model_manager(self, self.prefs)
        if opts is not None:
            self.load_model(opts)

    def open_gguf_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a GGUF model", str(Path.home()), "GGUF models (*.gguf);;All files (*)"
        )
        if path:
            self.load_model(LoadOptions(model_path=path))

    def load_model(self, options: LoadOptions) -> None:
        if self.busy:
            self._note("Stop the reply first (Esc), then load another model.")
            return
        self.banner.hide()
        self.engine.load(options)

    def _check_engine(self) -> None:
        """Notice a host that died while idle (killed, out of memory) before the next send."""
        client = self.engine.client
        if self.busy or self.engine.busy or self.engine.info is None or client is None:
            return
        if not client.is_alive:
            self._engine_lost()

    def _engine_lost(self) -> None:
        self.engine.info = None
        self._refresh_model_state()
        self.banner.show_message(
            "The engine stopped unexpectedly. Reload it to continue; your chats are saved.",
            [
                ("Reload engine", self.engine.reload),
                ("Choose another model", self.choose_model),
            ],
        )

    def _on_loading(self, path: str) -> None:
        self.status_model.setText(f"Loading {Path(path).name}…")
        self._refresh_model_state()

    def _on_loaded(self, info: ModelInfo) -> None:
        if self.engine.options is not None:
            self.prefs.last_model = self.engine.options.to_dict()
            self._save_prefs()
        self.banner.hide()
        self._refresh_model_state()

    def _on_load_failed(self, kind: str, message: str) -> None:
        name = Path(self.engine.options.model_path).name if self.engine.options else "the model"
        self._refresh_model_state()
        self.banner.show_message(
            f"Couldn't load {name}: {message}",
            [("Choose another model", self.choose_model), ("Try again", self.engine.reload)],
        )

    def _refresh_model_state(self) -> None:
        info = self.engine.info
        if self.engine.busy:
            self.composer.set_can_send(False, "Loading the model…")
        elif info is None:
            self.composer.set_can_send(False, "Load a model to start chatting")
        else:
            self.composer.set_can_send(True)
        self._refresh_status()
        self._update_stack()

    def _refresh_status(self) -> None:
        info = self.engine.info
        if info is None:
            if not self.engine.busy:
                self.status_model.setText("No model loaded")
            self.status_backend.setText("")
            self.model_button.setText("Load model…")
        else:
            self.status_model.setText(info.name or Path(info.path).stem)
            self.status_backend.setText(backend_name(info))
            self.model_button.setText("Change model…")
        s = self.last_stats
        if s.get("generation_tps"):
            self.status_speed.setText(
                f"{float(s['generation_tps']):.1f} tok/s · first token "
                f"{float(s.get('ttft_s') or 0):.2f} s"
            )
        else:
            self.status_speed.setText("")
        if s.get("context_size"):
            self.status_context.setText(
                f"context {int(s.get('context_used') or 0):,} / {int(s['context_size']):,}"
            )
        elif info is not None:
            self.status_context.setText(f"context 0 / {info.n_ctx:,}")
        else:
            self.status_context.setText("")

    def _update_stack(self) -> None:
        has_messages = bool(self.chat.widgets)
        if has_messages:
            self.stack.setCurrentWidget(self.chat)
            return
        if self.engine.busy:
            name = Path(self.engine.options.model_path).name if self.engine.options else ""
            self.empty.set_state("loading", name)
        elif self.engine.info is None:
            self._maybe_first_run()
            self.empty.set_state("no-model")
        else:
            self.empty.set_state("ready")
        self.stack.setCurrentWidget(self.empty)

    def _maybe_first_run(self) -> None:
        if not self._offer_first_run or self.empty.first_run is not None:
            return
        self._offer_first_run = False
        if self.store is not None and self.store.list_conversations(limit=1):
            return  # not a first run: the plain "No model loaded" with its buttons
        try:
            from app.ui.models import FirstRunWidget

            panel = FirstRunWidget(self.empty)
        except Exception:  # the hub's hardware probe failed: the plain buttons still work
            traceback.print_exc()
            return
        panel.modelChosen.connect(self.load_model)
        self.empty.set_first_run(panel)

    # ------------------------------------------------------------------ errors and notes

    def _note(self, text: str) -> None:
        self.statusBar().showMessage(text, 6000)

    def _show_store_error(self, exc: StoreError) -> None:
        actions: list[tuple[str, Callable[[], None]]] = []
        if isinstance(exc, DatabaseCorruptError) and self.store is None:
            actions.append(("Move it aside and start fresh", self._move_aside_clicked))
        self.banner.show_message(f"Your chats could not be read or saved: {exc}", actions)

    def _move_aside_clicked(self) -> None:
        self.move_database_aside()

    def move_database_aside(self) -> Path | None:
        """On the user's request: rename the damaged database (nothing is deleted) and open a
        fresh one, so Hearth works again; the banner says where the old file went."""
        try:
            moved = Store.move_aside()
            store = Store.open(readonly_fallback=True)
        except StoreError as exc:
            self.banner.show_message(f"Your chats could not be read or saved: {exc}")
            return None
        self.store, self.store_error, self._own_store = store, None, True
        self.sidebar.set_store(store)
        self.new_chat()
        self.info_bar.show_message(
            f"The damaged database was moved to {moved}. New chats are saved in a fresh one."
        )
        self.banner.hide()
        return moved

    # ------------------------------------------------------------------ window state

    def _restore_geometry(self) -> None:
        if self.prefs.geometry:
            self.restoreGeometry(QByteArray.fromBase64(self.prefs.geometry.encode()))
        if self.prefs.settings_open:
            self.settings.show()

    def _save_prefs(self) -> None:
        try:
            self.prefs.save()
        except OSError:
            traceback.print_exc()

    def shutdown(self) -> None:
        """Stop the reply, the threads and the engine; save the window state. Idempotent."""
        if self.worker is not None:
            self.worker.stop()
        if self._worker_thread is not None:
            self._worker_thread.wait(30_000)
            # Deliver the queued finished signal so the reply row is finished in the view too.
            QApplication.sendPostedEvents()
        self.settings.flush()
        self.prefs.geometry = bytes(self.saveGeometry().toBase64().data()).decode()
        self.prefs.settings_open = self.settings.isVisible()
        self.prefs.last_conversation = self.conversation_id
        self._save_prefs()
        self.engine.close()
        if self._own_store and self.store is not None:
            self.store.close()
            self.store = None

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)


def _view_data(m: StoredMessage, branch: tuple[int, int]) -> MessageData:
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
    )
