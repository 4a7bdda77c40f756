"""Generation off the GUI thread.

A ``GenerationWorker`` lives on its own QThread. It runs a *job* — ``app.chat.stream_turn`` in
the app, a scripted stream in the benchmark — that reports each engine event to a callback, and
turns the events into coalesced Qt signals: at most one ``progress`` every ``interval_s``
(~40 a second), so the GUI thread renders a batch of tokens at a time instead of one per token.
Stopping is thread-safe: ``stop()`` calls the job's cancel function from the GUI thread; the job
then finishes normally with a cancelled status.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot


@dataclass
class Update:
    """What happened since the previous progress signal."""

    reasoning: str = ""  # new reasoning text (delta)
    content: str = ""  # the whole answer so far
    preamble: str = ""  # new commentary text (delta)
    notes: list[str] = field(default_factory=list)  # e.g. "older messages were trimmed"


@dataclass
class Outcome:
    """How the reply ended."""

    status: str  # done / cancelled / error
    content: str = ""
    reasoning: str = ""
    error: str = ""
    stats: dict[str, Any] = field(default_factory=dict)
    message_id: Any = None  # the stored assistant message, when the job reports it
    error_kind: str = ""  # e.g. "engine_died": the window then offers Reload
    save_error: str = ""  # the reply could not be saved (disk full...): shown, text kept


@dataclass
class Event:
    """A minimal event (benchmarks, tests); engine events have the same ``type`` names."""

    type: str  # reasoning / content / preamble / trimmed / done / error
    text: str = ""
    stats: dict[str, Any] = field(default_factory=dict)


def _stats_dict(stats: Any) -> dict[str, Any]:
    if stats is None:
        return {}
    if isinstance(stats, dict):
        return stats
    to_dict = getattr(stats, "to_dict", None)
    return dict(to_dict()) if to_dict is not None else dict(vars(stats))


# A job runs one reply on the worker thread: it calls ``on_event`` for each engine event (objects
# with a ``type`` name: app.engine.events, or ``Event``) and returns how the reply ended (an
# ``Outcome``, or app.chat's ``TurnOutcome``).
Job = Callable[[Callable[[Any], None]], Any]


class GenerationWorker(QObject):
    """Runs one reply on a worker thread and reports it in batches."""

    progress = Signal(object)  # Update
    finished = Signal(object)  # Outcome

    def __init__(self, job: Job, cancel: Callable[[], None], interval_s: float = 0.025) -> None:
        super().__init__()
        self._job = job
        self._cancel = cancel
        self.interval_s = interval_s
        self.stopped = False
        self._content: list[str] = []
        self._reasoning: list[str] = []
        self._pending = Update()
        self._dirty = False
        self._last = 0.0
        self._first = True
        self._terminal: Outcome | None = None

    def stop(self) -> None:
        """Thread-safe: ask the job to stop; it ends with status "cancelled"."""
        self.stopped = True
        try:
            self._cancel()
        except Exception:  # the engine may already be gone; the job will report that
            traceback.print_exc()

    def _on_event(self, ev: Any) -> None:
        kind = str(getattr(ev, "type", ""))
        text = str(getattr(ev, "text", "") or "")
        if kind == "reasoning":
            self._reasoning.append(text)
            self._pending.reasoning += text
        elif kind in ("content", "preamble"):
            # app.chat stores a preamble as part of the answer text: show it the same way.
            self._content.append(text)
        elif kind == "trimmed":
            self._pending.notes.append(str(getattr(ev, "message", "") or text))
        elif kind == "done":
            stats = _stats_dict(getattr(ev, "stats", None))
            cancelled = self.stopped or stats.get("stop_reason") == "cancelled"
            self._terminal = Outcome("cancelled" if cancelled else "done", stats=stats)
            return
        elif kind == "error":
            msg = str(getattr(ev, "message", "") or text or "The reply failed.")
            self._terminal = Outcome("error", error=msg)
            return
        else:
            return
        self._dirty = True
        now = time.monotonic()
        # The first delta goes out at once (time to first token); then ~40 batches a second.
        if self._first or now - self._last >= self.interval_s:
            self._flush(now)

    def _flush(self, now: float) -> None:
        self._pending.content = "".join(self._content)
        self.progress.emit(self._pending)
        self._pending, self._dirty, self._last, self._first = Update(), False, now, False

    @Slot()
    def run(self) -> None:
        outcome: Outcome
        try:
            result = self._job(self._on_event)
            outcome = self._outcome(result)
        except Exception as exc:  # the engine died, the store failed...: report, never crash
            outcome = Outcome(status="error", error=_describe(exc))
        if self._dirty:
            self._flush(time.monotonic())
        if not outcome.content:
            outcome.content = "".join(self._content)
        if not outcome.reasoning:
            outcome.reasoning = "".join(self._reasoning)
        self.finished.emit(outcome)

    def _outcome(self, result: Any) -> Outcome:
        if isinstance(result, Outcome):
            return result
        if result is None:
            return self._terminal or Outcome(
                "cancelled" if self.stopped else "error",
                error="" if self.stopped else "The reply ended without finishing.",
            )
        # app.chat.TurnOutcome
        error = getattr(result, "error", None)
        save_error = getattr(result, "save_error", None)
        status = str(getattr(result, "status", "error"))
        message = str(getattr(error, "message", "") or "") if error is not None else ""
        out = Outcome(
            status=status,
            content=str(getattr(result, "content", "") or ""),
            reasoning=str(getattr(result, "reasoning", "") or ""),
            error=message,
            stats=_stats_dict(getattr(result, "stats", None)),
            message_id=getattr(result, "assistant_message_id", None),
        )
        if error is not None:
            out.error_kind = str(getattr(error, "kind", "") or "")
        if save_error is not None:
            out.save_error = str(save_error)
        return out


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__


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
