"""Generation off the GUI thread.

A ``GenerationWorker`` lives on its own QThread. It runs a *job* — ``app.chat.stream_turn`` in
the app, a scripted stream in the benchmark — that reports each typed engine event
(``app.engine.events``) to a callback and returns the turn's ``app.chat.TurnOutcome``. The worker
passes the events on to the GUI thread as they are, only coalesced: neighbouring deltas of one
kind are merged and sent at most every ``interval_s`` (~40 batches a second), so the GUI renders a
batch of tokens at a time instead of one per token; a tool call or result, a note or prompt
progress is sent at once. Stopping is thread-safe: ``stop()`` stops the turn (``TurnControl``)
from the GUI thread; the job then ends normally with a cancelled status.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from app.chat import TurnControl, TurnOutcome
from app.engine.events import (
    ContentEvent,
    DoneEvent,
    EngineEvent,
    ErrorEvent,
    PreambleEvent,
    ReasoningEvent,
)

Delta = ReasoningEvent | ContentEvent | PreambleEvent

# A job runs one turn on the worker thread: it calls ``on_event`` for each engine event and
# returns how the turn ended.
Job = Callable[[Callable[[EngineEvent], None]], TurnOutcome]


class GenerationWorker(QObject):
    """Runs one turn on a worker thread and reports its events in batches."""

    progress = Signal(object)  # list[EngineEvent], in order, deltas merged
    finished = Signal(object)  # TurnOutcome

    def __init__(self, job: Job, control: TurnControl, interval_s: float = 0.025) -> None:
        super().__init__()
        self._job = job
        self.control = control
        self.interval_s = interval_s
        self._pending: list[EngineEvent] = []
        self._last = 0.0
        self._first = True

    def stop(self) -> None:
        """Thread-safe: stop the turn; it ends with status "cancelled"."""
        self.control.stop()

    def _on_event(self, ev: EngineEvent) -> None:
        if isinstance(ev, DoneEvent | ErrorEvent):
            return  # the outcome says how the reply ended
        pending = self._pending
        if isinstance(ev, Delta):
            last = pending[-1] if pending else None
            if type(last) is type(ev):
                last.text += ev.text
            else:
                # A copy: the event belongs to the job's thread, the batch to the GUI's.
                pending.append(type(ev)(ev.text))
        else:
            # A tool card, a note, prompt progress (one per 512-token chunk): show it now.
            pending.append(ev)
            self._flush(time.monotonic())
            return
        now = time.monotonic()
        # The first delta goes out at once (time to first token); then ~40 batches a second.
        if self._first or now - self._last >= self.interval_s:
            self._flush(now)

    def _flush(self, now: float) -> None:
        if self._pending:
            batch, self._pending = self._pending, []
            self.progress.emit(batch)
        self._last, self._first = now, False

    @Slot()
    def run(self) -> None:
        try:
            outcome = self._job(self._on_event)
        except Exception as exc:  # the engine died, the store failed...: report, never crash
            text = str(exc).strip() or type(exc).__name__
            outcome = TurnOutcome(status="error", error=ErrorEvent("internal", text))
        self._flush(time.monotonic())
        self.finished.emit(outcome)


class WorkerThread:
    """Owns one QThread and one worker; cleans both up when the worker finishes."""

    def __init__(self, worker: GenerationWorker) -> None:
        self.worker = worker
        self.thread = QThread()
        self.thread.setObjectName("hearth-generation")
        worker.moveToThread(self.thread)
        self.thread.started.connect(worker.run)
        # Direct: quit() is thread-safe, and the GUI's finished slot wait()s for the thread.
        worker.finished.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)

    def start(self) -> None:
        self.thread.start()

    def wait(self, ms: int = 10_000) -> bool:
        # quit() first: the worker runs from ``started``, before the thread's event loop, so
        # whatever the order of its own quit and exec(), the loop then ends once run() returns.
        # (It never interrupts run(): a running reply is stopped with worker.stop().)
        self.thread.quit()
        return bool(self.thread.wait(ms))

    def is_running(self) -> bool:
        return bool(self.thread.isRunning())
