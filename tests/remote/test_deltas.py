"""A streamed chat completion -> engine events, whatever field the server puts reasoning in
(app.remote.deltas)."""

from __future__ import annotations

import itertools
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from app.engine.events import (
    ContentEvent,
    EngineEvent,
    PreambleEvent,
    ReasoningEvent,
    ToolCallEvent,
)
from app.remote.deltas import HARMONY, PLAIN, REASONING, REASONING_CONTENT, ReplyReader
from tests.helpers.scripted_openai import chunks_fields, chunks_harmony

RAW = (
    "<|channel|>analysis<|message|>User wants weather.<|end|>"
    "<|start|>assistant<|channel|>commentary<|message|>Let me look.<|end|>"
    "<|start|>assistant to=functions.get_weather<|channel|>commentary <|constrain|>json"
    '<|message|>{"city":"Paris"}<|call|>'
)


def read(
    chunks: list[str], hint: str = "", builtins: dict[str, tuple[str, bool]] | None = None
) -> tuple[list[EngineEvent], ReplyReader]:
    reader = ReplyReader(hint, builtins)
    events: list[EngineEvent] = []
    for line in chunks:
        data = line.removeprefix("data: ").strip()
        if data == "[DONE]":
            break
        events += reader.feed(json.loads(data))
    events += reader.finish()
    return events, reader


def merged(events: list[EngineEvent]) -> list[tuple[str, str]]:
    """Consecutive text events of one kind joined: what a reader of the chat sees."""
    out: list[tuple[str, str]] = []
    for ev in events:
        if isinstance(ev, ToolCallEvent):
            out.append(("tool_call", f"{ev.recipient} {ev.arguments}"))
            continue
        assert isinstance(ev, ReasoningEvent | ContentEvent | PreambleEvent)
        if out and out[-1][0] == ev.type:
            out[-1] = (ev.type, out[-1][1] + ev.text)
        else:
            out.append((ev.type, ev.text))
    return out


def test_reasoning_content_field_vllm_llama_server() -> None:
    events, reader = read(chunks_fields("Think.", "Answer.", usage=(20, 5)))
    assert merged(events) == [("reasoning", "Think."), ("content", "Answer.")]
    assert reader.detected == REASONING_CONTENT
    assert reader.finish_reason == "stop"
    assert reader.usage is not None and reader.usage["completion_tokens"] == 5


def test_reasoning_field_ollama_lm_studio() -> None:
    events, reader = read(chunks_fields("Hmm.", "Yes.", field_name="reasoning"))
    assert merged(events) == [("reasoning", "Hmm."), ("content", "Yes.")]
    assert reader.detected == REASONING


def test_a_server_filling_both_fields_is_read_once() -> None:
    chunk = {"choices": [{"index": 0, "delta": {"reasoning_content": "a", "reasoning": "a"}}]}
    reader = ReplyReader()
    assert reader.feed(chunk) == [ReasoningEvent("a")]


def test_tool_call_deltas_are_gathered_into_calls() -> None:
    calls = [("get_weather", '{"city": "Paris"}'), ("get_time", '{"tz": "CET"}')]
    events, reader = read(chunks_fields("Two lookups.", tool_calls=calls))
    assert merged(events) == [
        ("reasoning", "Two lookups."),
        ("tool_call", 'functions.get_weather {"city": "Paris"}'),
        ("tool_call", 'functions.get_time {"tz": "CET"}'),
    ]
    assert reader.finish_reason == "tool_calls"
    call = next(e for e in events if isinstance(e, ToolCallEvent))
    assert (call.constrain, call.channel) == ("json", "commentary")


def test_raw_harmony_in_content_is_parsed_with_our_parser() -> None:
    events, reader = read(chunks_harmony(RAW, size=4))
    assert merged(events) == [
        ("reasoning", "User wants weather."),
        ("preamble", "Let me look."),
        ("tool_call", 'functions.get_weather {"city":"Paris"}'),
    ]
    assert reader.detected == HARMONY and reader.harmony_call


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=len(RAW) - 1), max_size=40))
def test_harmony_cut_anywhere_reads_the_same(cuts: list[int]) -> None:
    """Control tokens split over chunks at any point (a detokenizer's pieces can be anything)."""
    bounds = [0, *sorted(set(cuts)), len(RAW)]
    parts = [RAW[a:b] for a, b in itertools.pairwise(bounds)]
    reader = ReplyReader()
    events: list[EngineEvent] = []
    for part in parts:
        events += reader.feed({"choices": [{"index": 0, "delta": {"content": part}}]})
    events += reader.finish()
    assert merged(events) == merged(read(chunks_harmony(RAW, size=len(RAW)))[0])


def test_plain_content_and_a_known_reasoning_server_never_parse_harmony() -> None:
    events, reader = read(chunks_harmony("Just an answer.", size=2))
    assert merged(events) == [("content", "Just an answer.")]
    assert reader.detected == PLAIN
    # A server known to send reasoning in its own field: content that looks like Harmony is
    # what the model answered (e.g. a question about Harmony itself), shown as it is.
    events, _ = read(chunks_harmony("<|channel|>final is a token", size=3), hint=REASONING)
    assert merged(events) == [("content", "<|channel|>final is a token")]


def test_a_short_undecided_start_is_not_lost_at_the_end() -> None:
    events, _ = read(chunks_harmony("<|", size=1))
    assert merged(events) == [("content", "<|")]


def test_a_broken_stream_never_reports_a_half_tool_call() -> None:
    reader = ReplyReader()
    reader.feed(
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {"index": 0, "id": "c", "function": {"name": "rm", "arguments": '{"pa'}}
                        ]
                    },
                }
            ]
        }
    )
    assert reader.finish(calls=False) == []


def test_a_call_of_a_builtin_declared_as_a_function_comes_back_as_the_builtin() -> None:
    builtins = {"python": ("python", True), "browser_search": ("browser.search", False)}
    calls = [("python", '{"code": "print(2+2)"}'), ("browser_search", '{"query": "x"}')]
    events, _ = read(chunks_fields("", tool_calls=calls), builtins=builtins)
    got = [e for e in events if isinstance(e, ToolCallEvent)]
    assert [(e.recipient, e.arguments, e.constrain, e.channel) for e in got] == [
        ("python", "print(2+2)", "code", "analysis"),  # as gpt-oss writes it itself
        ("browser.search", '{"query": "x"}', "json", "commentary"),
    ]
