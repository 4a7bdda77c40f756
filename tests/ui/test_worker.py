"""The generation worker: its own thread, typed events batched in order, every delta accounted
for, tool events at once, stop through the turn's control."""

from __future__ import annotations

import threading
import time
from typing import Any

from PySide6.QtCore import QObject, Slot

from app.chat import TurnControl, TurnOutcome
from app.engine.events import (
    ContentEvent,
    DoneEvent,
    EngineEvent,
    GenerationStats,
    PrefillEvent,
    ReasoningEvent,
    ToolCallEvent,
    ToolResultEvent,
)
from app.ui.worker import GenerationWorker, WorkerThread


class _Sink(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[EngineEvent]] = []
        self.threads: set[int] = set()
        self.outcome: TurnOutcome | None = None

    @Slot(object)
    def progress(self, batch: list[EngineEvent]) -> None:
        self.threads.add(threading.get_ident())
        self.batches.append(batch)

    @Slot(object)
    def finished(self, out: TurnOutcome) -> None:
        self.outcome = out

    def events(self) -> list[EngineEvent]:
        return [e for b in self.batches for e in b]


def _start(job: Any, control: TurnControl | None = None) -> tuple[_Sink, GenerationWorker, Any]:
    sink = _Sink()
    worker = GenerationWorker(job, control or TurnControl())
    holder = WorkerThread(worker)
    worker.progress.connect(sink.progress)
    worker.finished.connect(sink.finished)
    holder.start()
    return sink, worker, holder


def _run(qtbot, job: Any) -> _Sink:  # type: ignore[no-untyped-def]
    sink, _, holder = _start(job)
    qtbot.waitUntil(lambda: sink.outcome is not None, timeout=20_000)
    assert holder.wait(5000) and not holder.is_running()
    return sink


def test_events_are_batched_in_order_on_the_gui_thread_and_nothing_is_lost(qtbot) -> None:  # type: ignore[no-untyped-def]
    pieces = [f"w{i} " for i in range(3000)]
    worker_thread: list[int] = []

    def job(on_event: Any) -> TurnOutcome:
        worker_thread.append(threading.get_ident())
        on_event(ReasoningEvent("hmm "))
        t0 = time.perf_counter()
        for i, p in enumerate(pieces):
            on_event(ContentEvent(p))
            while time.perf_counter() < t0 + (i + 1) / 6000:  # ~6,000 tokens a second
                pass
        stats = GenerationStats(generated_tokens=3000, stop_reason="return")
        on_event(DoneEvent(stats))
        return TurnOutcome(status="done", stats=stats)

    sink = _run(qtbot, job)
    out = sink.outcome
    assert out is not None and out.status == "done" and out.stats is not None
    events = sink.events()
    assert isinstance(events[0], ReasoningEvent) and events[0].text == "hmm "
    assert all(isinstance(e, ContentEvent) for e in events[1:])
    assert "".join(e.text for e in events[1:]) == "".join(pieces)  # type: ignore[attr-defined]
    # Neighbouring deltas are merged: ~0.5 s of tokens at one batch per 25 ms.
    assert 3 <= len(sink.batches) <= 60, len(sink.batches)
    assert all(len(b) <= 2 for b in sink.batches)
    assert sink.threads == {threading.get_ident()}  # rendered on the GUI thread
    assert worker_thread and worker_thread[0] != threading.get_ident()


def test_tool_events_and_progress_go_out_at_once(qtbot) -> None:  # type: ignore[no-untyped-def]
    release = threading.Event()

    def job(on_event: Any) -> TurnOutcome:
        on_event(PrefillEvent(0, 2048))
        on_event(PrefillEvent(512, 2048))
        on_event(ContentEvent("Let me run it."))
        on_event(ToolCallEvent("python", "print(1)"))
        release.wait(10)  # the card must be on screen while the tool runs
        on_event(ToolResultEvent("python", "ok", "1", "1", 0.1))
        return TurnOutcome(status="done")

    sink, _, holder = _start(job)
    qtbot.waitUntil(
        lambda: any(isinstance(e, ToolCallEvent) for e in sink.events()), timeout=10_000
    )
    assert sink.outcome is None  # still running: the call was not held back
    release.set()
    qtbot.waitUntil(lambda: sink.outcome is not None, timeout=10_000)
    assert holder.wait(5000)
    kinds = [type(e).__name__ for e in sink.events()]
    assert kinds == [
        "PrefillEvent",
        "PrefillEvent",
        "ContentEvent",
        "ToolCallEvent",
        "ToolResultEvent",
    ]


def test_stop_goes_through_the_turn_control(qtbot) -> None:  # type: ignore[no-untyped-def]
    control = TurnControl()

    def job(on_event: Any) -> TurnOutcome:
        while not control.stopped:
            on_event(ContentEvent("x"))
            control.stop_event.wait(0.001)
        return TurnOutcome(status="cancelled", content="x")

    sink, worker, holder = _start(job, control)
    qtbot.waitUntil(lambda: bool(sink.batches), timeout=10_000)
    worker.stop()
    qtbot.waitUntil(lambda: sink.outcome is not None, timeout=10_000)
    assert holder.wait(5000)
    assert control.stopped
    assert sink.outcome is not None and sink.outcome.status == "cancelled"


def test_a_failing_job_becomes_an_error_outcome(qtbot) -> None:  # type: ignore[no-untyped-def]
    def job(on_event: Any) -> TurnOutcome:
        on_event(ContentEvent("partial"))
        raise OSError("No space left on device")

    sink = _run(qtbot, job)
    assert sink.outcome is not None and sink.outcome.status == "error"
    assert sink.outcome.error is not None and "No space left" in sink.outcome.error.message
    assert [e.text for e in sink.events()] == ["partial"]  # type: ignore[attr-defined]
