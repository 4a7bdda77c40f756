"""The window's Local server switch: the loaded model served to editors and scripts.

One copy of the model: the server serves the window's own engine, through the same fair queue
the window's replies go through (``QueuedEngine``), so a reply in the window and a client's
request take turns and never run at once on the one context. The switch is a button on the
status line; on, it shows the URL and how many requests the server has had.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Generator
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QPushButton

from app.engine.events import EngineEvent, ErrorEvent, ModelInfo
from app.engine.protocol import GenerateRequest
from app.engine.queue import QueuedEngine

if TYPE_CHECKING:
    from app.server.runner import ServerThread
    from app.ui.engine_control import EngineController
    from app.ui.window import MainWindow

log = logging.getLogger("hearth.ui.server")

DEFAULT_PORT = 8321


class _WindowEngine:
    """The window's current engine client as an ``Engine`` (it is replaced after a crash)."""

    def __init__(self, controller: EngineController) -> None:
        self.controller = controller

    @property
    def model_info(self) -> ModelInfo | None:
        client = self.controller.client
        return self.controller.info if client is not None and client.is_alive else None

    def stream(
        self, request: GenerateRequest, *, cancel: threading.Event | None = None
    ) -> Generator[EngineEvent, None, None]:
        client = self.controller.client
        if client is None or self.controller.info is None:
            yield ErrorEvent("not_loaded", "No model is loaded in Hearth. Load one and try again.")
            return
        yield from client.stream(request, cancel=cancel)

    def cancel(self) -> None:
        client = self.controller.client
        if client is not None:
            client.cancel()

    def answer_now(self) -> None:
        client = self.controller.client
        answer = getattr(client, "answer_now", None)
        if answer is not None:
            answer()


class LocalServer(QObject):
    """The switch (``button``), the queue every reply goes through (``engine``), the server."""

    requestsChanged = Signal(int)

    def __init__(self, win: MainWindow, port: int = DEFAULT_PORT) -> None:
        super().__init__(win)
        self.win = win
        self.port = port
        self.queue = QueuedEngine(_WindowEngine(win.engine))
        self.engine = self.queue.view("window")  # the window's replies (Stop, Answer now)
        self.serving: ServerThread | None = None
        self.requests = 0
        self.button = QPushButton()
        self.button.setFlat(True)
        self.button.setCheckable(True)
        self.button.toggled.connect(self._toggled)
        self.requestsChanged.connect(self._count)
        self._show()

    @property
    def running(self) -> bool:
        return self.serving is not None and self.serving.running

    @property
    def url(self) -> str | None:
        return self.serving.url if self.serving is not None else None

    def start(self) -> bool:
        """Serve on 127.0.0.1; False (and a note saying why) when the port is taken."""
        from app.server.runner import BindError, ServerThread
        from app.server.state import ServerConfig, scripts_allowed

        if self.running:
            return True
        try:
            config = ServerConfig(port=self.port, allow_scripts=scripts_allowed())
            thread = ServerThread(self.queue.view("api"), config)
            thread.state.add_listener(self.requestsChanged.emit)
            thread.start()
        except BindError as e:
            self.win.note(f"The local server could not start: {e}")
            self._set_checked(False)
            return False
        self.serving = thread
        self.requests = 0
        log.info("local server on %s", thread.url)
        self._set_checked(True)
        self._show()
        return True

    def stop(self) -> None:
        serving, self.serving = self.serving, None
        if serving is not None:
            serving.stop()
        self._set_checked(False)
        self._show()

    def _set_checked(self, on: bool) -> None:
        if self.button.isChecked() != on:
            self.button.blockSignals(True)
            self.button.setChecked(on)
            self.button.blockSignals(False)

    @Slot(bool)
    def _toggled(self, on: bool) -> None:
        if on:
            self.start()
        else:
            self.stop()

    @Slot(int)
    def _count(self, n: int) -> None:
        self.requests = n
        self._show()

    def _show(self) -> None:
        if self.running and self.url:
            n = self.requests
            self.button.setText(f"Server: {self.url} · {n} request{'' if n == 1 else 's'}")
            self.button.setToolTip(
                "Editors and scripts on this computer can use the loaded model at this URL "
                "(OpenAI-compatible). Click to stop the local server."
            )
        else:
            self.button.setText("Local server: off")
            self.button.setToolTip(
                "Serve the loaded model to editors and scripts on this computer "
                f"(OpenAI-compatible API on 127.0.0.1:{self.port})."
            )
