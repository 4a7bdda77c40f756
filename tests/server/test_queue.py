"""QueuedEngine in front of a real engine host: arrival order, one reply at a time, and a cancel
that only ever stops the request it belongs to."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.chat import TurnControl, stream_reply
from app.engine.client import EngineClient
from app.engine.events import EngineEvent
from app.engine.options import LoadOptions, SamplingOptions
from app.engine.protocol import GenerateRequest
from app.engine.queue import QueuedEngine, QueueState
from app.harmony import Message
from tests.helpers.engine import start_client
from tests.helpers.serve import reply


@pytest.fixture(scope="module")
def engine(long_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineClient]:
    home = tmp_path_factory.mktemp("queue-home")
    client = start_client(home)
    client.load(LoadOptions(model_path=str(long_model), n_ctx=32768, n_threads=1))
    yield client
    client.close()


def request(text: str) -> GenerateRequest:
    sampling = SamplingOptions(max_tokens=len(text) + 100)
    return GenerateRequest([Message("user", "hi")], sampling=sampling, script=reply(text))


class Watcher:
    """Waits on the queue's state changes (no sleeps)."""

    def __init__(self, queue: QueuedEngine) -> None:
        self.cond = threading.Condition()
        self.state = queue.state()
        queue.add_listener(self._changed)

    def _changed(self, state: QueueState) -> None:
        with self.cond:
            self.state = state
            self.cond.notify_all()

    def wait(self, pred, timeout: float = 30.0) -> bool:  # type: ignore[no-untyped-def]
        with self.cond:
            return self.cond.wait_for(lambda: pred(self.state), timeout)


def test_one_at_a_time_in_arrival_order(engine: EngineClient) -> None:
    queue = QueuedEngine(engine)
    watch = Watcher(queue)
    started = threading.Event()
    order: list[str] = []
    outcomes: dict[str, str] = {}

    def run(name: str, text: str) -> None:
        def seen(ev: EngineEvent) -> None:
            if name == "first":
                started.set()

        out = stream_reply(queue, request(text), on_event=seen)
        order.append(name)
        outcomes[name] = out.content

    first = threading.Thread(target=run, args=("first", "x" * 3000))
    first.start()
    assert started.wait(30)
    threads = [first]
    for i, name in enumerate(["second", "third", "fourth"]):
        t = threading.Thread(target=run, args=(name, name))
        t.start()
        threads.append(t)
        assert watch.wait(lambda s, n=i + 1: s.waiting == n)  # queued behind the others
    for t in threads:
        t.join(60)
    assert order == ["first", "second", "third", "fourth"]
    assert outcomes == {
        "first": "x" * 3000,
        "second": "second",
        "third": "third",
        "fourth": "fourth",
    }
    assert queue.state() == QueueState(busy=False, waiting=0, served=4)


def test_cancel_stops_only_its_own_request(engine: EngineClient) -> None:
    queue = QueuedEngine(engine)
    watch = Watcher(queue)
    started = threading.Event()
    results: dict[str, str] = {}
    long_control, waiter_control = TurnControl(), TurnControl()

    def long_run() -> None:
        out = stream_reply(
            queue, request("y" * 20000), control=long_control, on_event=lambda ev: started.set()
        )
        results["long"] = out.status

    def waiting_run() -> None:
        out = stream_reply(queue, request("never"), control=waiter_control)
        results["waiter"] = out.status
        results["waiter_text"] = out.content

    a = threading.Thread(target=long_run)
    a.start()
    assert started.wait(30)
    b = threading.Thread(target=waiting_run)
    b.start()
    assert watch.wait(lambda s: s.waiting == 1)
    waiter_control.stop()  # leaves the queue; the long reply goes on
    b.join(30)
    assert results["waiter"] == "cancelled" and results["waiter_text"] == ""
    assert queue.state().busy and "long" not in results
    long_control.stop()
    a.join(30)
    assert results["long"] == "cancelled"
    assert queue.state() == QueueState(busy=False, waiting=0, served=1)
