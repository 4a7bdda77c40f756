"""The engine host through its client: load, stream, scripted replies, tool calls, stats."""

from __future__ import annotations

from pathlib import Path

from app.engine.client import EngineClient, GenerateRequest
from app.engine.events import (
    ContentEvent,
    DoneEvent,
    PreambleEvent,
    ReasoningEvent,
    ToolCallEvent,
    event_from_dict,
)
from app.engine.options import SamplingOptions
from app.harmony import Message
from tests.helpers.engine import collect

HELLO = [Message("user", "Hello")]


def texts(events: list, cls: type) -> str:
    return "".join(e.text for e in events if isinstance(e, cls))


def test_load_reports_the_model(engine: EngineClient, tiny_model: Path) -> None:
    info = engine.model_info
    assert info is not None
    assert info.architecture == "gpt-oss"
    assert info.n_ctx == 4096
    assert info.n_layer == 2
    assert info.path == str(tiny_model)
    assert engine.is_alive and engine.pid


def test_free_running_reply_streams_and_ends_with_stats(engine: EngineClient) -> None:
    req = GenerateRequest(HELLO, sampling=SamplingOptions(max_tokens=300, seed=7))
    events = collect(engine, req)
    done = events[-1]
    assert isinstance(done, DoneEvent)
    s = done.stats
    assert s.stop_reason in ("return", "call", "max_tokens")
    assert 1 <= s.generated_tokens <= 300
    assert s.prompt_tokens > 0 and s.context_size == 4096
    assert s.context_used >= s.prompt_tokens
    assert s.ttft_s > 0 and s.prefill_tps > 0
    assert all(e.to_dict()["type"] != "error" for e in events)


def test_scripted_harmony_reply_gives_exact_events(engine: EngineClient) -> None:
    script = (
        "<|channel|>analysis<|message|>Think about it.<|end|>"
        "<|start|>assistant<|channel|>commentary<|message|>Let me check.<|end|>"
        "<|start|>assistant<|channel|>final<|message|>The answer is 42.<|return|>"
    )
    events = collect(engine, GenerateRequest(HELLO, script=script))
    assert texts(events, ReasoningEvent) == "Think about it."
    assert texts(events, PreambleEvent) == "Let me check."
    assert texts(events, ContentEvent) == "The answer is 42."
    done = events[-1]
    assert isinstance(done, DoneEvent)
    assert done.stats.stop_reason == "return"
    assert done.stats.generated_tokens == len(engine_tokens(script))


def engine_tokens(script: str) -> list[str]:
    """Rough count of the script's tokens with the tiny byte-level vocabulary: one per special,
    one per UTF-8 byte otherwise (only "he" merges)."""
    import re

    out: list[str] = []
    for part in re.split(r"(<\|[a-z]+\|>)", script):
        if not part:
            continue
        if part.startswith("<|"):
            out.append(part)
        else:
            data = part.encode()
            i = 0
            while i < len(data):
                step = 2 if data[i : i + 2] == b"he" else 1
                out.append(data[i : i + step].decode("latin-1"))
                i += step
    return out


def test_scripted_tool_call(engine: EngineClient) -> None:
    script = (
        "<|channel|>analysis<|message|>Need weather.<|end|>"
        "<|start|>assistant to=functions.get_weather<|channel|>commentary <|constrain|>json"
        '<|message|>{"city": "Paris"}<|call|>'
    )
    events = collect(engine, GenerateRequest(HELLO, script=script))
    calls = [e for e in events if isinstance(e, ToolCallEvent)]
    assert calls == [
        ToolCallEvent(
            recipient="functions.get_weather",
            arguments='{"city": "Paris"}',
            constrain="json",
            channel="commentary",
        )
    ]
    assert isinstance(events[-1], DoneEvent) and events[-1].stats.stop_reason == "call"


def test_long_tokens_and_split_utf8_come_through_whole(engine: EngineClient) -> None:
    from tests.helpers.tinymodel import LONG_TOKEN

    # é is 2 bytes and 😀 4 bytes: each is split across byte tokens; LONG_TOKEN is one token
    # of 49 bytes (llama-cpp-python's detokenize drops tokens over 32 bytes).
    script = [
        "<|channel|>",
        "final",
        "<|message|>",
        "Caf",
        "é ",
        "😀",
        LONG_TOKEN,
        "Ġworld",
        "<|return|>",
    ]
    events = collect(engine, GenerateRequest(HELLO, script=script))
    assert texts(events, ContentEvent) == (
        "Café 😀 supercalifragilisticexpialidocious-and-then-some world"
    )
    assert isinstance(events[-1], DoneEvent)
    assert events[-1].stats.stop_reason == "return"


def test_max_tokens_stops_the_reply(engine: EngineClient) -> None:
    req = GenerateRequest(
        HELLO, sampling=SamplingOptions(max_tokens=25, seed=1), suppress_stop=True
    )
    done = collect(engine, req)[-1]
    assert isinstance(done, DoneEvent)
    assert done.stats.stop_reason == "max_tokens"
    assert done.stats.generated_tokens == 25


def test_events_round_trip_through_dicts(engine: EngineClient) -> None:
    script = "<|channel|>final<|message|>Hi<|return|>"
    for ev in collect(engine, GenerateRequest(HELLO, script=script)):
        assert event_from_dict(ev.to_dict()) == ev


def test_host_command_for_a_frozen_bundle(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import sys

    from app.engine.client import host_command

    assert host_command()[1:] == ["-m", "app.engine.host"]
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert host_command() == [sys.executable, "engine-host"]


def test_hidden_engine_host_subcommand_serves(tiny_model: Path, tmp_path: Path) -> None:
    import os
    import sys

    from app.engine.options import LoadOptions

    client = EngineClient(
        command=[sys.executable, "-m", "app", "engine-host"],
        env={**os.environ, "HEARTH_HOME": str(tmp_path)},
    )
    with client:
        client.load(LoadOptions(n_threads=1, model_path=str(tiny_model), n_ctx=1024))
        script = "<|channel|>final<|message|>ok<|return|>"
        events = collect(client, GenerateRequest(HELLO, script=script))
        assert texts(events, ContentEvent) == "ok"
    assert not client.is_alive


def test_a_bad_effort_is_a_bad_request(engine: EngineClient) -> None:
    from app.engine.events import ErrorEvent
    from app.harmony import PromptSettings

    req = GenerateRequest(HELLO, settings=PromptSettings(effort="extreme"))  # type: ignore[arg-type]
    events = collect(engine, req)
    assert len(events) == 1 and isinstance(events[0], ErrorEvent)
    assert events[0].kind == "bad_request"
    assert isinstance(collect(engine, GenerateRequest(HELLO, script="<|return|>"))[-1], DoneEvent)


def test_text_that_is_not_valid_unicode_is_a_bad_request_not_a_dead_engine(
    engine: EngineClient,
) -> None:
    from app.engine.events import ErrorEvent

    # What Python makes of an invalid UTF-8 byte in a command-line argument: "\udcff".
    events = collect(engine, GenerateRequest([Message("user", "bad \udcff byte")]))
    assert len(events) == 1 and isinstance(events[0], ErrorEvent)
    assert events[0].kind == "bad_request"
    assert "not valid text" in events[0].message
    assert engine.is_alive
    assert isinstance(collect(engine, GenerateRequest(HELLO, script="<|return|>"))[-1], DoneEvent)


def test_control_tokens_sampled_out_of_place_are_dropped_and_counted(engine: EngineClient) -> None:
    # Real control tokens of the vocabulary (the script is tokenized with its specials), where
    # they mean nothing: they never reach the text, and the stats count them.
    script = (
        "<|channel|>analysis<|message|>Think<|endoftext|> it.<|end|><|endoftext|>"
        "<|start|>assistant<|channel|>final<|message|>The<|message|> answer<|channel|> is "
        "42.<|return|>"
    )
    events = collect(engine, GenerateRequest(HELLO, script=script))
    assert texts(events, ReasoningEvent) == "Think it."
    assert texts(events, ContentEvent) == "The answer is 42."
    done = events[-1]
    assert isinstance(done, DoneEvent) and done.stats.dropped_tokens == 4
