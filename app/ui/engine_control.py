"""The engine, from the window's side: start the host and load a model off the GUI thread.

Loading a 12 GB model takes seconds to minutes; it runs on a QThread and reports back with
signals. The host is only started when a model is first loaded, so the window opens without a
child process. ``reload()`` starts a fresh host after a crash and loads the last model again.
"""

from __future__ import annotations

import contextlib
import os
import threading
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


GiB = 1024**3
KV_BYTES_PER_TOKEN = 48 * 1024  # gpt-oss-20b with a full-size sliding-window cache (DESIGN §3)


def room_beside(new: LoadOptions, current: LoadOptions | None) -> bool:
    """Whether ``new`` can load in a second engine host while ``current`` stays loaded.

    Only for loads on the CPU: the free memory of a GPU is not measured here (asking would start
    its driver in the window's process), so a load that uses one replaces the loaded model. The
    loaded model's file is counted as taken even where its pages could be reclaimed."""
    if new.n_gpu_layers != 0 or (current is not None and current.n_gpu_layers != 0):
        return False
    from app.hub.hardware import memory

    def size(path: str) -> int:
        try:
            return os.path.getsize(path)
        except OSError:
            return 0

    _total, available = memory()
    taken = size(current.model_path) if current is not None else 0
    need = size(new.model_path) + new.n_ctx * KV_BYTES_PER_TOKEN + GiB
    return available > 0 and available - taken >= need


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
        self.attempt: LoadOptions | None = None  # or this model (kept for "Try again")
        self.fallback: LoadOptions | None = None  # unloaded for a load that failed: offer it
        self._pending: EngineClient | None = None  # a host loading beside the one in use
        self._closing: list[threading.Thread] = []
        self.busy = False
        self._thread: QThread | None = None
        self._task: _Task | None = None

    def load(self, options: LoadOptions) -> None:
        """Load a model. The model (or server) in use stays in use until the new one has loaded,
        in a second engine host, when memory allows; otherwise it is unloaded first and, if the
        new one fails, ``fallback`` names it so the window can offer it back."""
        if self.busy:
            return
        current = self.client if self.ready else None
        beside = current is not None and (
            isinstance(current, RemoteEngine) or room_beside(options, self.options)
        )
        self._previous = (self.options, self.info, self.remote) if beside else None
        self.fallback = None
        if not beside and self.info is not None and self.remote is None:
            self.fallback = self.options
        self.attempt = options
        self.options = options
        self.remote = self.attempt_remote = None
        self.busy = True
        if not beside:
            self.info = None
        self.loading.emit(options.model_path)
        if beside:
            new = self._pending = self._factory()

            def load_beside() -> ModelInfo:
                try:
                    new.start()
                    return new.load(options)
                except BaseException:
                    with contextlib.suppress(Exception):
                        new.close(timeout=2.0)
                    raise

            self._run(load_beside)
            return
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
        self.fallback = None
        if self._pending is not None:  # loaded beside the old one: it goes now
            old, self.client, self._pending = self.client, self._pending, None
            if old is not None:
                self._close_later(old)
        self.info = info
        self.loaded.emit(info)

    @Slot(str, str)
    def _failed(self, kind: str, message: str) -> None:
        self._finish_thread()
        self._pending = None  # (closed by the load that failed)
        previous, self._previous = self._previous, None
        if previous is not None and self.client is not None and self.client.is_alive:
            self.options, self.info, self.remote = previous  # what was in use stays in use
        else:
            self.info = None
        self.failed.emit(kind, message)

    def _close_later(self, client: EngineClient | RemoteEngine) -> None:
        """Stop a host (or a connection) no longer in use without holding up the window."""

        def close() -> None:
            try:
                client.close()
            except Exception:
                traceback.print_exc()

        thread = threading.Thread(target=close, name="hearth-engine-close", daemon=True)
        self._closing = [t for t in self._closing if t.is_alive()] + [thread]
        thread.start()

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
            self._close_pending(timeout=1.0)
        if thread is not None:
            self._finish_thread()
        self._close_pending()
        self._close_client()
        for t in self._closing:
            t.join(10.0)
        self._closing = []

    def _close_pending(self, timeout: float = 5.0) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            try:
                pending.close(timeout=timeout)
            except Exception:
                traceback.print_exc()

    def _close_client(self, timeout: float = 5.0) -> None:
        if self.client is not None:
            try:
                self.client.close(timeout=timeout)
            except Exception:
                traceback.print_exc()
            self.client = None
