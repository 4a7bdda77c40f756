"""The host as a process: cancel from another thread, a SIGKILL mid-reply or during load, context
overflow, errors that leave the engine working."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from app.engine.client import EngineClient, EngineError, GenerateRequest
from app.engine.events import (
    ContentEvent,
    DoneEvent,
    ErrorEvent,
    ReasoningEvent,
    TrimmedEvent,
)
from app.engine.options import LoadOptions, SamplingOptions
from app.harmony import Message
from tests.helpers.crash import LoadWatch, slow_load_model, trial_rng, wait_for
from tests.helpers.engine import collect, start_client

LONG_RUN = SamplingOptions(max_tokens=200_000, seed=5)
SCRIPT = "<|channel|>final<|message|>Still here.<|return|>"


def test_cancel_from_another_thread(engine: EngineClient) -> None:
    req = GenerateRequest([Message("user", "go")], sampling=LONG_RUN, suppress_stop=True)
    events = []
    for ev in engine.stream(req):
        events.append(ev)
        if len(events) == 3:
            threading.Thread(target=engine.cancel).start()
    done = events[-1]
    assert isinstance(done, DoneEvent)
    assert done.stats.stop_reason == "cancelled"
    assert done.stats.generated_tokens < 4000  # max_tokens is 200,000 (context 4,096)
    # The engine is ready for the next reply.
    events = collect(engine, GenerateRequest([Message("user", "again")], script=SCRIPT))
    assert "".join(e.text for e in events if isinstance(e, ContentEvent)) == "Still here."


def test_leaving_the_stream_early_cancels(engine: EngineClient) -> None:
    req = GenerateRequest([Message("user", "go")], sampling=LONG_RUN, suppress_stop=True)
    for _ev in engine.stream(req):
        break
    events = collect(engine, GenerateRequest([Message("user", "next")], script=SCRIPT))
    assert isinstance(events[-1], DoneEvent)
    assert events[-1].stats.stop_reason == "return"


def test_prefix_reuse_across_turns(engine: EngineClient) -> None:
    history = [Message("user", "What is the capital of France? " * 10)]
    first = collect(engine, GenerateRequest(history, script=SCRIPT))[-1]
    assert isinstance(first, DoneEvent)
    history += [Message("assistant", "Still here.", channel="final"), Message("user", "Thanks")]
    second = collect(engine, GenerateRequest(history, script=SCRIPT))[-1]
    assert isinstance(second, DoneEvent)
    # Everything up to the previous reply came from the cache.
    assert second.stats.cached_tokens >= first.stats.prompt_tokens
    assert second.stats.prompt_tokens - second.stats.cached_tokens < 30


def test_sigkill_mid_reply_gives_an_error_event_and_a_new_host_works(
    tiny_model: Path, tmp_path: Path
) -> None:
    client = start_client(tmp_path / "home")
    try:
        client.load(LoadOptions(n_threads=1, model_path=str(tiny_model), n_ctx=4096))
        req = GenerateRequest([Message("user", "go")], sampling=LONG_RUN, suppress_stop=True)
        events = []
        for ev in client.stream(req):
            events.append(ev)
            if len(events) == 2:
                os.kill(client.pid or 0, signal.SIGKILL)
        last = events[-1]
        assert isinstance(last, ErrorEvent)
        assert last.kind == "engine_died"
        assert last.message == (  # plain words, not "exit code -9"
            "The engine stopped unexpectedly: the system stopped it, perhaps because the computer "
            "ran out of memory. Reload the model to continue; a smaller context or model needs "
            "less memory."
        )
        assert not client.is_alive
        # Asking a dead engine again answers at once, with the same error.
        again = collect(client, GenerateRequest([Message("user", "hi")], script=SCRIPT))
        assert [type(e) for e in again] == [ErrorEvent]
        # Start again: a fresh host serves the same client.
        client.start()
        client.load(LoadOptions(n_threads=1, model_path=str(tiny_model), n_ctx=4096))
        events = collect(client, GenerateRequest([Message("user", "hi")], script=SCRIPT))
        assert isinstance(events[-1], DoneEvent)
    finally:
        client.close()


def test_sigkill_during_load(
    tiny_model: Path,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Killed while llama.cpp is loading (a model with gpt-oss's full vocabulary takes about a
    second): the load ends with engine_died, and the host's own logs show the load had begun and
    had not finished. A fresh host then loads."""
    seed, rng = trial_rng("engine host SIGKILL during a load (engine client)", 1)
    slow = slow_load_model(tmp_path_factory.getbasetemp())
    monkeypatch.delenv("HEARTH_DEBUG", raising=False)  # llama.cpp's log must go to llama.log
    home = tmp_path / "home"
    client = start_client(home)
    try:
        pid = client.pid or 0
        watch = LoadWatch(home / "logs")
        result: dict[str, BaseException] = {}

        def load() -> None:
            try:
                client.load(LoadOptions(n_threads=1, model_path=str(slow)))
            except BaseException as e:
                result["error"] = e

        t = threading.Thread(target=load)
        t.start()
        wait_for(watch.begun)
        # Setting up the vocabulary alone takes far longer than this on any machine.
        threading.Event().wait(rng.uniform(0, 0.1))
        os.kill(pid, signal.SIGKILL)
        t.join(30)
        assert not t.is_alive()
        assert not watch.finished(), f"seed {seed}: the kill came after the load was done"
        err = result.get("error")
        assert isinstance(err, EngineError) and err.kind == "engine_died", err
        assert "ran out of memory" in err.message and "-9" not in err.message
        client.start()
        watch = LoadWatch(home / "logs")
        info = client.load(LoadOptions(n_threads=1, model_path=str(tiny_model)))
        assert info.architecture == "gpt-oss"
        assert watch.finished(), "engine.log no longer says 'loaded': the proof above needs it"
    finally:
        client.close()


@pytest.fixture(scope="module")
def small_engine(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    client = start_client(tmp_path_factory.mktemp("small-home"))
    client.load(LoadOptions(n_threads=1, model_path=str(tiny_model), n_ctx=512))
    yield client
    client.close()


def test_overflow_trims_the_oldest_turns(small_engine: EngineClient) -> None:
    history: list[Message] = []
    for i in range(8):
        history.append(Message("user", f"question {i} " + "blah " * 10))
        history.append(Message("assistant", f"answer {i} " + "yada " * 10, channel="final"))
    history.append(Message("user", "the latest question"))
    req = GenerateRequest(history, sampling=SamplingOptions(max_tokens=64), script=SCRIPT)
    events = collect(small_engine, req)
    trimmed = [e for e in events if isinstance(e, TrimmedEvent)]
    assert len(trimmed) == 1 and trimmed[0].dropped_messages >= 2
    assert trimmed[0].dropped_messages % 2 == 0  # whole turns
    assert "oldest" in trimmed[0].message
    assert isinstance(events[-1], DoneEvent)
    assert events[-1].stats.prompt_tokens <= 512 - 64


def test_a_message_too_long_for_the_context_is_a_clear_error(small_engine: EngineClient) -> None:
    req = GenerateRequest(
        [Message("user", "word " * 2000)], sampling=SamplingOptions(max_tokens=64)
    )
    events = collect(small_engine, req)
    assert len(events) == 1 and isinstance(events[0], ErrorEvent)
    assert events[0].kind == "context_overflow"
    assert "too long for the context" in events[0].message
    # Still serving.
    ok = collect(small_engine, GenerateRequest([Message("user", "hi")], script=SCRIPT))
    assert isinstance(ok[-1], DoneEvent)


def test_generate_without_a_model(tmp_path: Path) -> None:
    client = start_client(tmp_path / "home")
    try:
        events = collect(client, GenerateRequest([Message("user", "hi")]))
        assert len(events) == 1 and isinstance(events[0], ErrorEvent)
        assert events[0].kind == "not_loaded"
    finally:
        client.close()


@pytest.mark.parametrize("case", ["truncated", "vocab_only", "not_gguf"])
def test_bad_files_fail_the_load_with_their_reason(
    engine: EngineClient, tiny_model: Path, tmp_path: Path, case: str
) -> None:
    from tests.helpers.tinymodel import write_tiny_gptoss

    p = tmp_path / "bad.gguf"
    if case == "truncated":
        p.write_bytes(tiny_model.read_bytes()[:200_000])
    elif case == "vocab_only":
        write_tiny_gptoss(p, vocab_only=True)
    else:
        p.write_bytes(b"<html>Not found</html>")
    with pytest.raises(EngineError) as e:
        engine.load(LoadOptions(model_path=str(p)))
    assert e.value.kind == case
    assert engine.is_alive


def test_host_checks_the_file_too(engine: EngineClient, tmp_path: Path) -> None:
    """A file that goes bad between the client's check and the load is reported by the host."""
    from app.engine.client import EngineClient as _C

    p = tmp_path / "gone.gguf"
    assert engine._send({"op": "load", "options": LoadOptions(model_path=str(p)).to_dict()})
    frame = engine._next_frame(30)
    assert frame["type"] == "error" and frame["kind"] == "missing"
    assert isinstance(engine, _C) and engine.is_alive


def test_reply_after_failed_load_reports_no_model(engine: EngineClient, tiny_model: Path) -> None:
    # The failed load above unloaded the old model first; load it back for other tests.
    engine.load(LoadOptions(n_threads=1, model_path=str(tiny_model), n_ctx=4096))
    events = collect(engine, GenerateRequest([Message("user", "hi")], script=SCRIPT))
    assert isinstance(events[-1], DoneEvent)
    assert not any(isinstance(e, ReasoningEvent) for e in events)


def test_host_exits_when_its_parent_goes_away_mid_reply(tiny_model: Path, tmp_path: Path) -> None:
    """The app killed: the host sees its command pipe close, stops generating and exits."""
    client = start_client(tmp_path / "home")
    try:
        client.load(LoadOptions(n_threads=1, model_path=str(tiny_model), n_ctx=4096))
        req = GenerateRequest([Message("user", "go")], sampling=LONG_RUN, suppress_stop=True)
        stream = client.stream(req)
        next(stream)
        proc = client._proc
        assert proc is not None and proc.stdin is not None
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
        assert isinstance(list(stream)[-1], DoneEvent | ErrorEvent)
    finally:
        client.close()


def test_unload_then_load_again(tiny_model: Path, tmp_path: Path) -> None:
    client = start_client(tmp_path / "home")
    try:
        client.load(LoadOptions(n_threads=1, model_path=str(tiny_model), n_ctx=1024))
        client.unload()
        assert client.model_info is None and client.is_alive
        events = collect(client, GenerateRequest([Message("user", "hi")], script=SCRIPT))
        assert [e.kind for e in events if isinstance(e, ErrorEvent)] == ["not_loaded"]
        client.load(LoadOptions(n_threads=1, model_path=str(tiny_model), n_ctx=1024))
        assert isinstance(collect(client, GenerateRequest([Message("user", "hi")]))[-1], DoneEvent)
    finally:
        client.close()
    assert not client.is_alive and client.pid is None
