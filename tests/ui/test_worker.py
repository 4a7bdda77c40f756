"""The generation worker: its own thread, batched updates, every delta accounted for, stop."""

from __future__ import annotations

import threading
import time
from typing import Any

from PySide6.QtCore import QObject, Slot

from app.ui.worker import Event, GenerationWorker, Outcome, Update, WorkerThread


class _Sink(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.updates: list[Update] = []
        self.threads: set[int] = set()
        self.outcome: Outcome | None = None

    @Slot(object)
    def progress(self, up: Update) -> None:
        self.threads.add(threading.get_ident())
        self.updates.append(up)

    @Slot(object)
    def finished(self, out: Outcome) -> None:
        self.outcome = out


def _run(qtbot, job: Any, cancel: Any = lambda: None) -> tuple[_Sink, GenerationWorker]:  # type: ignore[no-untyped-def]
    sink = _Sink()
    worker = GenerationWorker(job, cancel)
    holder = WorkerThread(worker)
    worker.progress.connect(sink.progress)
    worker.finished.connect(sink.finished)
    holder.start()
    qtbot.waitUntil(lambda: sink.outcome is not None, timeout=20_000)
    assert holder.wait(5000) and not holder.is_running()
    return sink, worker


def test_updates_are_batched_on_the_gui_thread_and_nothing_is_lost(qtbot) -> None:  # type: ignore[no-untyped-def]
    pieces = [f"w{i} " for i in range(3000)]
    worker_thread: list[int] = []

    def job(on_event: Any) -> None:
        worker_thread.append(threading.get_ident())
        on_event(Event("reasoning", "hmm "))
        t0 = time.perf_counter()
        for i, p in enumerate(pieces):
            on_event(Event("content", p))
            while time.perf_counter() < t0 + (i + 1) / 6000:  # ~6,000 tokens a second
                pass
        on_event(Event("done", stats={"generated_tokens": 3000, "stop_reason": "return"}))

    sink, _ = _run(qtbot, job)
    out = sink.outcome
    assert out is not None and out.status == "done" and out.stats["generated_tokens"] == 3000
    assert out.content == "".join(pieces) and out.reasoning == "hmm "
    assert sink.updates[-1].content == "".join(pieces)
    assert "".join(u.reasoning for u in sink.updates) == "hmm "
    # ~0.5 s of tokens at one update per 25 ms: tens of updates, not thousands.
    assert 3 <= len(sink.updates) <= 60, len(sink.updates)
    assert sink.threads == {threading.get_ident()}  # rendered on the GUI thread
    assert worker_thread and worker_thread[0] != threading.get_ident()


def test_stop_cancels_through_the_job(qtbot) -> None:  # type: ignore[no-untyped-def]
    cancelled = threading.Event()

    def job(on_event: Any) -> None:
        while not cancelled.is_set():
            on_event(Event("content", "x"))
            cancelled.wait(0.001)
        on_event(Event("done", stats={"stop_reason": "cancelled"}))

    sink = _Sink()
    worker = GenerationWorker(job, cancelled.set)
    holder = WorkerThread(worker)
    worker.progress.connect(sink.progress)
    worker.finished.connect(sink.finished)
    holder.start()
    qtbot.waitUntil(lambda: bool(sink.updates), timeout=10_000)
    worker.stop()
    qtbot.waitUntil(lambda: sink.outcome is not None, timeout=10_000)
    assert holder.wait(5000)
    assert sink.outcome is not None and sink.outcome.status == "cancelled"
    assert sink.outcome.content.startswith("x")


def test_a_failing_job_becomes_an_error_outcome(qtbot) -> None:  # type: ignore[no-untyped-def]
    def job(on_event: Any) -> None:
        on_event(Event("content", "partial"))
        raise OSError("No space left on device")

    sink, _ = _run(qtbot, job)
    assert sink.outcome is not None
    assert sink.outcome.status == "error" and "No space left" in sink.outcome.error
    assert sink.outcome.content == "partial"
