"""The model, from the window: choose one (the model manager, or a GGUF file), load it, follow the
engine controller's loading / loaded / failed, and notice an engine host that died while idle.
Each failure is said in the window's banner with its ways out (Reload, another model)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QFileDialog

from app.engine.events import ModelInfo
from app.engine.options import LoadOptions
from app.hub.recent import remember_model

if TYPE_CHECKING:
    from app.ui.window import MainWindow

WATCHDOG_MS = 2000


class ModelActions(QObject):
    """Loading a model and what the window shows of the engine's state."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)  # a QObject on the GUI thread: the engine's signals land here
        self.win = window
        engine = window.engine
        engine.loading.connect(self._on_loading)
        engine.loaded.connect(self._on_loaded)
        engine.failed.connect(self._on_load_failed)
        self._watchdog = QTimer(self)
        self._watchdog.setInterval(WATCHDOG_MS)
        self._watchdog.timeout.connect(self.check_engine)
        self._watchdog.start()
        self._loaded_path = ""  # the model the status line's figures came from

    def choose(self) -> None:
        self.open_manager()

    def open_manager(self) -> None:
        from app.ui.models import open_model_manager

        engine = self.win.engine  # the model in use now is marked (and selected) in the dialog
        loaded = engine.options.model_path if engine.ready and engine.options else None
        opts = open_model_manager(self.win, self.win.prefs, loaded)
        if isinstance(opts, str):  # "Connect to a server…"
            self.use_remote(opts)
        elif opts is not None:
            self.load(opts)

    def open_gguf(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.win, "Open a GGUF model", str(Path.home()), "GGUF models (*.gguf);;All files (*)"
        )
        if path:
            self.load(LoadOptions(model_path=path))

    def load(self, options: LoadOptions) -> None:
        if self.win.busy:
            self.win.note("Stop the reply first (Esc), then load another model.")
            return
        self.win.banner.hide()
        self.win.engine.load(options)

    def use_remote(self, name: str) -> None:
        """Chat through the saved server connection ``name`` (``app.remote``)."""
        if self.win.busy:
            self.win.note("Stop the reply first (Esc), then choose another model.")
            return
        self.win.banner.hide()
        self.win.engine.use_remote(name)

    def refresh(self) -> None:
        """Whether the composer can send, the status line and the empty chat's panel."""
        win = self.win
        info = win.engine.info
        if win.engine.busy:
            remote = win.engine.attempt_remote
            options = win.engine.options
            what = Path(options.model_path).name if options is not None else "the model"
            win.composer.set_can_send(
                False, f"Connecting to {remote}…" if remote else f"Loading {what}…"
            )
        elif info is None:
            win.composer.set_can_send(False, "Load a model to start chatting")
        else:
            win.composer.set_can_send(True)
        win.refresh_status()
        win.update_stack()

    # -- the engine host's state -------------------------------------------------------------

    def check_engine(self) -> None:
        """Notice a host that died while idle (killed, out of memory) before the next send."""
        win = self.win
        client = win.engine.client
        if win.busy or win.engine.busy or win.engine.info is None or client is None:
            return
        if not client.is_alive:
            self.engine_lost()

    def engine_lost(
        self,
        message: str = "The engine stopped unexpectedly. Reload it to continue; your chats "
        "are saved.",
    ) -> None:
        """The engine host is gone (killed, crashed): say so, with Reload and another model."""
        win = self.win
        win.engine.info = None
        self.refresh()
        win.banner.show_message(
            message,
            [
                ("Reload engine", win.engine.reload),
                ("Choose another model", self.choose),
            ],
        )

    def _on_loading(self, path: str) -> None:
        self.win.status_model.setText(f"Loading {Path(path).name}…")
        self.refresh()

    def _on_loaded(self, info: ModelInfo) -> None:
        win = self.win
        if self._loaded_path != info.path:  # another model: the figures were the last one's
            win.last_stats = {}
        self._loaded_path = info.path
        if win.engine.options is not None:
            win.prefs.last_model = win.engine.options.to_dict()
            remember_model(win.engine.options.model_path)  # `hearth chat` without --model
        win.prefs.extra["last_remote"] = win.engine.remote  # the server in use, or None
        win.save_prefs()
        win.banner.hide()
        self.refresh()

    def _on_load_failed(self, kind: str, message: str) -> None:
        win = self.win
        remote = win.engine.attempt_remote
        if remote is not None:  # what was in use before stays in use
            self.refresh()
            win.banner.show_message(
                f"Couldn't use the server: {message}",
                [
                    ("Try again", lambda: self.use_remote(remote)),
                    ("Choose another model", self.choose),
                ],
            )
            return
        engine = win.engine
        attempt = engine.attempt
        name = Path(attempt.model_path).name if attempt is not None else "the model"
        self.refresh()
        retry = ("Try again", lambda: self.load(attempt) if attempt is not None else None)
        if engine.ready and engine.info is not None:  # the model in use stays loaded
            kept = engine.info.name or Path(engine.info.path).stem
            win.banner.show_message(
                f"Couldn't load {name}: {message} {kept} is still loaded.",
                [("Choose another model", self.choose), retry],
            )
            return
        actions = [("Choose another model", self.choose), retry]
        fallback = engine.fallback
        if fallback is not None:  # unloaded for this load: one click brings it back
            back = Path(fallback.model_path).name
            actions.insert(0, (f"Load {back} again", lambda: self.load(fallback)))
        win.banner.show_message(f"Couldn't load {name}: {message}", actions)
