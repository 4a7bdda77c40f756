"""The main window: sidebar, chat, composer, per-chat settings, status line.

The window builds the widgets, holds the store, the engine controller and which chat is open,
and keeps the status line, the empty chat's panel, the shortcuts and its own state. Its three
parts do the rest: ``conversations`` (``app.ui.conversations``: what the user does to chats),
``turns`` (``app.ui.turns``: running a reply on a worker thread) and ``models``
(``app.ui.model_actions``: loading a model, following the engine host).
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, Qt, QTimer, Slot
from PySide6.QtGui import QCloseEvent, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app import APP_NAME
from app.engine.client import EngineClient, GenerateRequest
from app.engine.options import LoadOptions
from app.store import DatabaseCorruptError, Store, StoreError
from app.ui import theme as themes
from app.ui.chat_view import ChatView
from app.ui.chrome import WindowChrome
from app.ui.composer import Composer
from app.ui.conversations import ConversationActions
from app.ui.engine_control import EngineController, backend_name
from app.ui.library_chat import ChatFoldersButton
from app.ui.library_service import LibraryService
from app.ui.model_actions import ModelActions
from app.ui.prefs import UiPrefs
from app.ui.server_control import LocalServer
from app.ui.settings_panel import SettingsPanel
from app.ui.sidebar import Sidebar
from app.ui.store_watch import StoreWatch
from app.ui.turns import TurnController
from app.ui.widgets import Banner, ElidedLabel, EmptyState


class MainWindow(QMainWindow):
    """Hearth's window. Its parts reach the widgets and the shared state through it."""

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
        self.conversation_id: int | None = None  # the open chat (None: a new, unsaved one)
        self.last_stats: dict[str, Any] = {}  # the status line's speed and context figures
        self.conversations = ConversationActions(self)
        self.turns = TurnController(self)
        self.models = ModelActions(self)
        self.server = LocalServer(self)  # every reply goes through its queue, served or not
        self.store_watch = StoreWatch(self)  # chats imported or written by `hearth` meanwhile
        self.library = LibraryService(self)  # Library folders, the index, citations
        # First run (no chats, never a model): the model manager's welcome panel.
        self._offer_first_run = first_run and self.prefs.last_model is None

        self._build()
        self._shortcuts()
        # Follow the system's light/dark switch while running (unless a theme was chosen).
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._system_scheme_changed)
        self._restore_geometry()
        self.sidebar.reload()
        last = self.prefs.last_conversation
        if last is not None and self.sidebar.model.row_of(last) >= 0:
            self.conversations.open(last)
        else:
            self.conversations.new_chat()
        self.models.refresh()
        if self.store_error is not None:
            self.show_store_error(self.store_error)
        elif self.store is not None and self.store.readonly_reason is not None:
            self.banner.show_message(
                f"Chats are read-only: {self.store.readonly_reason}",
            )
        last_remote = self.prefs.extra.get("last_remote")  # a server was in use (app.remote)
        if load_engine and isinstance(last_remote, str):
            self.models.use_remote(last_remote)
        elif load_engine and self.prefs.last_model:
            opts = LoadOptions.from_dict(self.prefs.last_model)
            if Path(opts.model_path).is_file():
                self.models.load(opts)
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
        header.setSpacing(6)  # the header's buttons apart, the title clear of «
        self.title_label = ElidedLabel()
        self.title_label.setObjectName("panelTitle")
        self.settings_button = QPushButton("Chat settings")
        self.settings_button.setToolTip("Reasoning effort, instructions, sampling (Ctrl+,)")
        self.settings_button.clicked.connect(self.toggle_settings)
        header.addWidget(self.title_label, 1)
        self.folders_button = ChatFoldersButton(self)
        header.addWidget(self.folders_button)
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
        self.empty.open_button.clicked.connect(self.models.open_gguf)
        self.empty.choose_button.clicked.connect(self.models.open_manager)
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.chat)
        col.addWidget(self.stack, 1)
        self.composer = Composer()
        col.addWidget(self.composer)
        self.composer.attachments.budget = self.turns.attachment_budget
        for target in (self.chat.viewport(), self.empty):  # files dropped on the chat
            self.composer.attach_input.watch_drops(target)
        row.addWidget(pane, 1)

        self.settings = SettingsPanel()
        self.settings.hide()
        self.settings.defaults = self.prefs.defaults  # what its Reset gives (Settings → General)
        row.addWidget(self.settings)
        self.setCentralWidget(central)
        # The sidebar's toggle (and its folding in a narrow window), the ⋯ menu, Ctrl+B/Q/O.
        self.chrome = WindowChrome(self, header)

        sb = self.statusBar()
        sb.setSizeGripEnabled(False)
        # They shorten with "…" in a small window: "Change model…" beside them stays whole.
        self.status_model = ElidedLabel()
        self.status_backend = ElidedLabel()
        self.status_speed = ElidedLabel()
        self.status_context = QLabel()
        for w in (self.status_model, self.status_backend, self.status_speed):
            sb.addWidget(w)
        sb.addPermanentWidget(self.status_context)
        self.model_button = QPushButton("Load model…")
        self.model_button.setFlat(True)
        self.model_button.clicked.connect(self.models.choose)
        sb.addPermanentWidget(self.model_button)
        sb.addPermanentWidget(self.server.button)

        actions, turns = self.conversations, self.turns
        self.sidebar.newChatRequested.connect(actions.new_chat)
        self.sidebar.conversationActivated.connect(actions.open)
        self.sidebar.searchHitActivated.connect(actions.open_search_hit)
        self.sidebar.renameRequested.connect(actions.ask_rename)
        self.sidebar.deleteRequested.connect(actions.delete)
        self.sidebar.pinRequested.connect(actions.set_pinned)
        self.sidebar.exportRequested.connect(actions.ask_export)
        self.composer.submitted.connect(actions.send)
        self.composer.stopRequested.connect(turns.stop)
        self.composer.answerNowRequested.connect(turns.answer_now)
        self.chat.editSubmitted.connect(actions.edit_and_resend)
        self.chat.regenerateRequested.connect(actions.regenerate)
        self.chat.branchRequested.connect(actions.switch_branch)
        self.settings.changed.connect(actions.settings_changed)
        self.settings.toolModeChanged.connect(actions.tool_mode_changed)
        self.settings.closeRequested.connect(self.toggle_settings)
        self.settings.all_settings_button.clicked.connect(lambda: self.open_settings())
        self.resize(1200, 800)

    def _shortcuts(self) -> None:
        def bind(seq: QKeySequence | str, fn: Callable[[], Any]) -> QShortcut:
            s = QShortcut(QKeySequence(seq), self)
            s.setContext(Qt.ShortcutContext.WindowShortcut)
            s.activated.connect(fn)
            return s

        self.shortcuts = {
            "new": bind("Ctrl+N", self.conversations.new_chat),
            "search": bind("Ctrl+F", self.focus_search),
            "input": bind("Ctrl+L", self.composer.focus),
            "copy": bind("Ctrl+Shift+C", self.turns.copy_last_answer),
            "settings": bind("Ctrl+,", self.toggle_settings),
            "stop": bind("Esc", self.turns.stop),
            "about": bind("F1", self.show_about),
            "all_settings": bind("Ctrl+Shift+,", lambda: self.open_settings()),
        }
        # Esc belongs to the focused widget (cancel an edit, clear a search) unless a reply runs.
        self.shortcuts["stop"].setEnabled(False)

    def show_about(self) -> None:
        from app.ui.about import show_about

        show_about(self)

    def open_settings(self, page: str | None = None) -> None:
        """The app-wide Settings dialog (Tools, MCP servers, …), on ``page`` if given."""
        from app.ui.settings.dialog import open_settings

        open_settings(self, page)
        self.settings.load_tool_mode(self.conversations.tool_mode("python"))

    def _warm_up(self) -> None:
        from app.ui import math_render
        from app.ui.markdown import render_document

        math_render.warm_up()  # ziamath and its font load on the maths thread, not at a formula
        self.library.start()  # changes to Library folders made while Hearth was closed
        render_document("| a |\n|---|\n| 1 |\n\n```python\nx = 1\n```\n", self.theme.markdown)

    @property
    def busy(self) -> bool:
        """A reply is being written."""
        return self.turns.busy

    def load_model(self, options: LoadOptions) -> None:
        """Load a model (``hearth gui --model``, the fault trials and the tests start here)."""
        self.models.load(options)

    def focus_search(self) -> None:
        self.sidebar.search.setFocus()
        self.sidebar.search.selectAll()

    # ------------------------------------------------------------------ settings panel, theme

    def toggle_settings(self) -> None:
        self.settings.setVisible(not self.settings.isVisible())
        if not self.settings.isVisible():
            self.settings.flush()

    def set_theme(self, choice: str) -> None:
        self.prefs.theme = choice
        self.theme = themes.resolve(choice)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            themes.apply(app, self.theme)
        self.chat.colors = self.theme.markdown
        self.sidebar.set_muted(self.theme.muted)
        if not self.busy:
            self.conversations.render()
        self.save_prefs()

    @Slot()
    def _system_scheme_changed(self) -> None:
        if self.prefs.theme == "system":
            self.set_theme("system")

    # ------------------------------------------------------------------ status line, empty chat

    def refresh_status(self) -> None:
        info = self.engine.info
        if info is None:
            if not self.engine.busy:
                self.status_model.setText("No model loaded")
            self.status_backend.setText("")
            self.model_button.setText("Load model…")
        else:
            from app.hub.catalog import title_for  # after a load: not on the start-up path

            # Named as the catalog names it ("gpt-oss 20B"); the file's own name otherwise.
            self.status_model.setText(title_for(info.path) or info.name or Path(info.path).stem)
            self.status_model.setToolTip(info.path)
            self.status_backend.setText(backend_name(info))
            self.model_button.setText("Change model…")
        s = self.last_stats if info is not None else {}  # no model: no figures of one
        if s.get("generation_tps"):
            self.status_speed.setText(
                f"{float(s['generation_tps']):.1f} tok/s · first token "
                f"{float(s.get('ttft_s') or 0):.2f} s"
            )
        else:
            self.status_speed.setText("")
        if s.get("context_size"):
            cached = int(s.get("cached_tokens") or 0)  # not read again: in memory or from disk
            self.status_context.setText(
                f"context {int(s.get('context_used') or 0):,} / {int(s['context_size']):,}"
                + (f" · {cached:,} cached" if cached else "")
            )
        elif info is not None and info.n_ctx:  # (a server may not say its context size)
            self.status_context.setText(f"context 0 / {info.n_ctx:,}")
        else:
            self.status_context.setText("")

    def update_stack(self) -> None:
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
        panel.modelChosen.connect(self.models.load)
        self.empty.set_first_run(panel)

    # ------------------------------------------------------------------ errors and notes

    def note(self, text: str) -> None:
        self.statusBar().showMessage(text, 6000)

    def show_store_error(self, exc: StoreError) -> None:
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
        self.conversations.new_chat()
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

    def save_prefs(self) -> None:
        try:
            self.prefs.save()
        except OSError:
            traceback.print_exc()

    def shutdown(self) -> None:
        """Stop the reply, the threads and the engine; save the window state. Idempotent."""
        self.store_watch.stop()
        self.turns.shutdown()
        self.settings.flush()
        self.prefs.geometry = bytes(self.saveGeometry().toBase64().data()).decode()
        self.prefs.settings_open = self.settings.isVisible()
        self.prefs.last_conversation = self.conversation_id
        self.save_prefs()
        self.server.stop()
        self.library.shutdown()
        self.engine.close()
        if self._own_store and self.store is not None:
            self.store.close()
            self.store = None

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)

    # ------------------------------------------------------------------ kept for older callers
    # tests/faults/test_data_faults.py and bench/app_path.py set the hook here; it is the turn
    # controller's (``turns.request_hook``).

    @property
    def request_hook(self) -> Callable[[GenerateRequest], None] | None:
        return self.turns.request_hook

    @request_hook.setter
    def request_hook(self, hook: Callable[[GenerateRequest], None] | None) -> None:
        self.turns.request_hook = hook
