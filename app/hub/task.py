"""One download (one model, one or more files), with thread-safe controls: start or resume, pause,
cancel. The Hub lookup and the disk check are the manager's; the bytes of each file are a
``FileTransfer``'s; what observers see is the task's ``Meter``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from app.hub.backoff import Retry, Stop
from app.hub.hubapi import DownloadError
from app.hub.progress import DownloadState, Meter, Progress
from app.hub.transfer import Control, FileTransfer, size_of

if TYPE_CHECKING:
    from app.hub.download import DownloadManager, DownloadRequest

Listener = Callable[["DownloadTask"], None]


class DownloadTask:
    def __init__(self, manager: DownloadManager, request: DownloadRequest) -> None:
        self.manager = manager
        self.request = request
        self.error: DownloadError | None = None
        self.paths: list[Path] = []  # the installed files (first one is what llama.cpp loads)
        self.meter = Meter(self, stall_timeout=manager.timeouts.stall)
        self._control = Control()
        self._cancel = False
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    # -- observing -----------------------------------------------------------------------------
    @property
    def state(self) -> DownloadState:
        return self.meter.state

    @property
    def active(self) -> bool:
        return self.state in (DownloadState.QUEUED, DownloadState.RUNNING, DownloadState.VERIFYING)

    @property
    def listening(self) -> bool:
        """Whether anyone listens to this task."""
        return self.meter.listening

    def add_listener(self, fn: Listener) -> None:
        """Called from the download thread on each state change and ~10 times a second."""
        self.meter.add_listener(fn)

    def remove_listener(self, fn: Listener) -> None:
        self.meter.remove_listener(fn)

    def progress(self) -> Progress:
        return self.meter.progress()

    def wait_for(self, predicate: Callable[[Progress], bool], timeout: float) -> bool:
        """Block until ``predicate(progress)`` holds (checked on every chunk and state change)."""
        return self.meter.wait_for(predicate, timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the running attempt ends (done, failed, paused or cancelled)."""
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    # -- controls ------------------------------------------------------------------------------
    def start(self) -> DownloadTask:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                if self.active:
                    return self
                # Paused/failed a moment ago: its thread is only returning; let it finish.
                self._thread.join(10)
            self._reset()
            self._thread = threading.Thread(
                target=self._run_guarded, name=f"download {self.request.title}", daemon=True
            )
            self._thread.start()
        return self

    resume = start

    def pause(self) -> None:
        """Stop transferring and keep the partial file; ``resume()`` continues from there."""
        self._control.abort()

    def cancel(self) -> None:
        """Stop and delete the partial files."""
        self._cancel = True
        self._control.abort()
        thread = self._thread
        if thread is None or not thread.is_alive():
            self._discard()
            self.meter.set_state(DownloadState.CANCELLED)

    def run(self) -> list[Path]:
        """Download in the calling thread (the CLI). Raises DownloadError; Ctrl+C pauses."""
        self._reset()
        try:
            return self._run()
        except KeyboardInterrupt:
            self.meter.set_state(DownloadState.PAUSED)
            raise

    def restored(self, done: int) -> None:
        """Mark a download from an earlier session: paused, ``done`` bytes already on disk."""
        if self.state == DownloadState.QUEUED:
            self.meter.set_done(done)
            self.meter.set_state(DownloadState.PAUSED)

    # -- the work ------------------------------------------------------------------------------
    def _reset(self) -> None:
        self._control.stop.clear()
        self._cancel = False
        self.error = None
        self.meter.state = DownloadState.QUEUED

    def _run_guarded(self) -> None:
        try:
            self._run()
        except (DownloadError, Stop):
            pass

    def _run(self) -> list[Path]:
        mgr, meter = self.manager, self.meter
        meter.set_state(DownloadState.RUNNING, "Looking up the files…")
        try:
            self._control.check()
            specs = mgr.resolve(self.request, self._wait)
            have = {s.filename: size_of(s.part) for s in specs}
            for s in specs:
                if s.final.exists() and size_of(s.final) == s.size:
                    have[s.filename] = s.size
            meter.begin(sum(s.size for s in specs), sum(have.values()))
            mgr.check_disk(specs, have)
            for spec in specs:
                meter.on_file(spec.filename)
                FileTransfer(
                    spec,
                    client=mgr.client,
                    meter=meter,
                    control=self._control,
                    timeouts=mgr.timeouts,
                    backoff=mgr.backoff,
                    wait=self._wait,
                ).run()
            self.paths = [s.installed for s in specs]
        except Stop:
            if self._cancel:
                self._discard()
                meter.set_state(DownloadState.CANCELLED, "Cancelled; the partial file was deleted.")
            else:
                meter.set_state(DownloadState.PAUSED, "Paused. Resume continues where it stopped.")
            raise
        except DownloadError as e:
            self.error = e
            meter.set_state(DownloadState.FAILED, str(e))
            raise
        mgr.installed(self.request, specs)
        meter.set_state(DownloadState.DONE, "Installed and verified.")
        return self.paths

    def _wait(self, reason: Retry, delay: float) -> bool:
        """Between two tries: say so, and sleep unless the user stops (then True)."""
        self.meter.retrying(str(reason), delay, stalled=reason.stalled)
        if self._control.sleep(delay):
            return True
        self.meter.trying_again()
        return False

    def _discard(self) -> None:
        for part in self.manager.journal.parts(self.request.key):
            part.unlink(missing_ok=True)
        self.meter.set_done(0)
        self.manager.journal.forget(self.request.key)
