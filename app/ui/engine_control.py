"""The engine, from the window's side: start the host and load a model off the GUI thread.

Loading a 12 GB model takes seconds to minutes; it runs on a QThread and reports back with
signals. The host is only started when a model is first loaded, so the window opens without a
child process. ``reload()`` starts a fresh host after a crash and loads the last model again.
"""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from app.engine.client import EngineClient, EngineError
from app.engine.events import ModelInfo
from app.engine.options import LoadOptions
from app.remote.engine import RemoteEngine


class _Task(QObject):
    done = Signal(object)
    failed = Signal(str, str)  # kind, message

    def __init__(self, fn: Callable[[], Any]) -> None:
        super().__init__()
        self._fn = fn

    @Slot()
    def run(self) -> None:
        try:
            result = self._fn()
        except EngineError as exc:
            self.failed.emit(exc.kind, exc.message)
            return
        except Exception as exc:
            traceback.print_exc()
            self.failed.emit("internal", f"{type(exc).__name__}: {exc}")
            return
        self.done.emit(result)


def backend_name(info: ModelInfo | None) -> str:
    """CPU, CUDA, Metal (or the GPU's name) for the status line."""
    if info is None:
        return ""
    if info.architecture == "remote":  # a server: its connection's name
        servers = [str(d.get("name", "")) for d in info.devices if d.get("name")]
        return f"on {servers[0]} (server)" if servers else "on a server"
    if not info.gpu_offload or info.n_gpu_layers == 0:
        return "CPU"
    names = " ".join(
        str(d.get("name", "")) + " " + str(d.get("description", "")) for d in info.devices
    ).lower()
    for key, label in (("cuda", "CUDA"), ("metal", "Metal"), ("vulkan", "Vulkan"), ("hip", "ROCm")):
        if key in names:
            return label
    return "GPU"


class EngineController(QObject):
    loading = Signal(str)  # model path
    loaded = Signal(object)  # ModelInfo
    failed = Signal(str, str)  # kind, message

    def __init__(self, client_factory: Callable[[], EngineClient] = EngineClient) -> None:
        super().__init__()
        self._factory = client_factory
        self.client: EngineClient | RemoteEngine | None = None
        self.info: ModelInfo | None = None
        self.options: LoadOptions | None = None  # the last model asked for
        self.remote: str | None = None  # or the server connection in use (app.remote)
        self._previous: tuple[LoadOptions | None, ModelInfo | None, str | None] | None = None
        self.attempt_remote: str | None = None  # the last thing asked for was this server
        self.busy = False
        self._thread: QThread | None = None
        self._task: _Task | None = None

    def load(self, options: LoadOptions) -> None:
        if self.busy:
            return
        self.options = options
        self.remote = self.attempt_remote = None
        self._previous = None
        self.busy = True
        self.info = None
        self.loading.emit(options.model_path)
        old = self.client if isinstance(self.client, RemoteEngine) else None
        client = self.client if not isinstance(self.client, RemoteEngine) else None
        if client is None:
            client = self.client = self._factory()

        def work() -> ModelInfo:
            if old is not None:
                old.close()
            if not client.is_alive:
                client.start()
            return client.load(options)

        self._run(work)

    def use_remote(self, name: str) -> None:
        """Chat through the saved server connection ``name`` instead of a local model: the
        local engine host stops (its memory is freed) once the server has answered."""
        if self.busy:
            return
        # What is in use now stays in use if the server cannot be reached.
        self._previous = (self.options, self.info, self.remote)
        self.remote = self.attempt_remote = name
        self.options = None
        self.busy = True
        self.info = None
        self.loading.emit(f"{name} (server)")
        old = self.client

        def work() -> ModelInfo:
            from app.remote.engine import start_remote

            engine = start_remote(name)  # EngineError naming the problem
            if old is not None:
                old.close()
            self.client = engine
            assert engine.model_info is not None
            return engine.model_info

        self._run(work)

    def reload(self) -> None:
        """After the host died (or a failed load): a fresh host, the same model (or the same
        server again)."""
        if self.remote is not None:
            self.use_remote(self.remote)
        elif self.options is not None:
            self.load(self.options)

    def _run(self, fn: Callable[[], Any]) -> None:
        task = _Task(fn)
        thread = QThread()
        thread.setObjectName("hearth-engine-load")
        task.moveToThread(thread)
        thread.started.connect(task.run)
        task.done.connect(self._done)
        task.failed.connect(self._failed)
        # Direct: quit() is thread-safe, and the slots above wait() for the thread to end.
        task.done.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        task.failed.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        self._thread, self._task = thread, task
        thread.start()

    def _finish_thread(self) -> None:
        if self._thread is not None:
            # quit() again here: whatever the order in which the task's quit and the thread's
            # event loop started, wait() can then never block on an idle loop.
            self._thread.quit()
            self._thread.wait()
            self._thread.deleteLater()
            self._task = None
            self._thread = None
        self.busy = False

    @Slot(object)
    def _done(self, info: ModelInfo) -> None:
        self._finish_thread()
        self._previous = None
        self.info = info
        self.loaded.emit(info)

    @Slot(str, str)
    def _failed(self, kind: str, message: str) -> None:
        self._finish_thread()
        previous, self._previous = self._previous, None
        if previous is not None and self.client is not None and self.client.is_alive:
            self.options, self.info, self.remote = previous  # a server that failed: keep on
        else:
            self.info = None
        self.failed.emit(kind, message)

    @property
    def ready(self) -> bool:
        return self.info is not None and self.client is not None and self.client.is_alive

    def close(self) -> None:
        thread, task = self._thread, self._task
        if task is not None:
            # Nobody wants the answer of a load still running at close.
            with contextlib.suppress(RuntimeError, TypeError):
                task.done.disconnect(self._done)
                task.failed.disconnect(self._failed)
        if thread is not None and not thread.wait(2_000):
            # A host that hangs (frozen, swapping) must not keep the app from quitting: stopping
            # it ends the load at once, with an error nobody listens to any more.
            self._close_client(timeout=1.0)
        if thread is not None:
            self._finish_thread()
        self._close_client()

    def _close_client(self, timeout: float = 5.0) -> None:
        if self.client is not None:
            try:
                self.client.close(timeout=timeout)
            except Exception:
                traceback.print_exc()
            self.client = None
