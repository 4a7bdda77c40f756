"""StreamParser on known replies, malformed ones, and the events' JSON form."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.harmony import (
    STOP_TOKENS,
    ContentDelta,
    End,
    PreambleDelta,
    ReasoningDelta,
    StreamParser,
    ToolCall,
    event_from_dict,
    visible_text,
)
from tests.harmony.streams import check_accounting, parse, run, tokens_of

DATA = Path(__file__).parent / "data"


def test_stop_tokens() -> None:
    assert STOP_TOKENS == ("<|return|>", "<|call|>")


def test_reasoning_then_answer_from_docs() -> None:
    reply = (
        '<|channel|>analysis<|message|>User asks: "What is 2 + 2?" Simple arithmetic.<|end|>'
        "<|start|>assistant<|channel|>final<|message|>2 + 2 = 4.<|return|>"
    )
    assert parse(reply) == [
        {"type": "reasoning", "text": 'User asks: "What is 2 + 2?" Simple arithmetic.'},
        {"type": "content", "text": "2 + 2 = 4."},
        {"type": "end", "reason": "return"},
    ]
    assert parse(reply, chunk=1) == parse(reply)


def test_deltas_stream_with_the_token_that_brings_them() -> None:
    parser = StreamParser()
    assert parser.feed("<|channel|>", True) == []
    assert parser.feed("final", False) == []  # header text: not shown
    assert parser.feed("<|message|>", True) == []
    assert parser.feed("Hel", False) == [ContentDelta("Hel")]
    assert parser.feed("lo", False) == [ContentDelta("lo")]
    assert parser.feed("<|return|>", True) == [End("return")]
    assert parser.finish() == []


def test_tool_call_as_the_model_writes_it() -> None:
    reply = (
        "<|channel|>analysis<|message|>Need to use function get_weather.<|end|>"
        "<|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json"
        '<|message|>{"location":"San Francisco"}<|call|>'
    )
    assert parse(reply, chunk=3) == [
        {"type": "reasoning", "text": "Need to use function get_weather."},
        {
            "type": "tool_call",
            "recipient": "functions.get_weather",
            "arguments": '{"location":"San Francisco"}',
            "constrain": "json",
            "channel": "commentary",
            "recipient_first": False,  # kept, so the call renders back as written
        },
        {"type": "end", "reason": "call"},
    ]


@pytest.mark.parametrize(
    "header",
    [
        "assistant to=functions.f<|channel|>commentary <|constrain|>json",  # as rendered
        "assistant<|channel|>commentary to=functions.f <|constrain|>json",  # channel first
        "assistant to=functions.f<|channel|>commentary<|constrain|>json",  # constrain adjacent
        "assistant<|channel|>commentary to=functions.f<|constrain|>json",
    ],
)
def test_tool_call_header_variants(header: str) -> None:
    events, _ = run(
        tokens_of(
            f'<|channel|>analysis<|message|>x<|end|><|start|>{header}<|message|>{{"a": 1}}<|call|>'
        )
    )
    channel_first = header.index("<|channel|>") < header.index("to=")
    assert events[1:] == [
        ToolCall(
            "functions.f",
            '{"a": 1}',
            constrain="json",
            channel="commentary",
            recipient_first=not channel_first,
        ),
        End("call"),
    ]


def test_harmony_streamable_parser_data() -> None:
    """openai/harmony's test_streamable_parser.txt, as the model would stream it (its last
    message is a tool's answer, which a model never writes: shown as text, not lost)."""
    text = (DATA / "test_streamable_parser.txt").read_text(encoding="utf-8")
    events, parser = run(tokens_of(text, chunk=5), trace=True)
    check_accounting(tokens_of(text, chunk=5), events, parser)
    assert [e.type for e in events][:4] == ["reasoning"] * 4
    calls = [e for e in events if isinstance(e, ToolCall)]
    assert calls == [
        ToolCall(
            "browser.search",
            '{"query": "current US president July 2025", "topn": 10, "source": "news"}',
            constrain="code",
            channel="commentary",
            recipient_first=False,  # "<|channel|>commentary to=browser.search code"
        )
    ]


def test_preamble_is_commentary_without_recipient() -> None:
    reply = (
        "<|channel|>commentary<|message|>**Action plan**: 1. Look it up<|end|>"
        "<|start|>assistant to=functions.look<|channel|>commentary<|message|>{}<|call|>"
    )
    assert parse(reply) == [
        {"type": "preamble", "text": "**Action plan**: 1. Look it up"},
        {
            "type": "tool_call",
            "recipient": "functions.look",
            "arguments": "{}",
            "constrain": None,
            "channel": "commentary",
        },
        {"type": "end", "reason": "call"},
    ]


def test_end_of_stream_mid_message() -> None:
    assert parse("<|channel|>final<|message|>Half an ans") == [
        {"type": "content", "text": "Half an ans"},
        {"type": "end", "reason": "end_of_stream"},
    ]


def test_a_normal_token_spelling_a_control_token_is_text() -> None:
    parser = StreamParser()
    events = parser.feed("<|channel|>", True) + parser.feed("final", False)
    events += parser.feed("<|message|>", True) + parser.feed("<|end|>", False)
    events += parser.feed("<|return|>", True)
    assert events == [ContentDelta("<|end|>"), End("return")]


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        # unknown channel: its text is the answer
        ("<|channel|>notes<|message|>hi<|return|>", [("content", "hi")]),
        # no channel at all
        ("<|message|>hi<|return|>", [("content", "hi")]),
        # missing <|message|>: the channel is taken, the rest is its text (harmony non-strict)
        ("<|channel|>final Paris.<|end|>", [("content", "Paris.")]),
        ("<|channel|>analysis thinking<|return|>", [("reasoning", "thinking")]),
        # a header that is not one is shown (its words; its control tokens never)
        ("<|start|>user<|message|>hi<|return|>", [("content", "userhi")]),
        (
            "<|channel|>final extra words<|message|>hi<|return|>",
            [("content", "final extra wordshi")],
        ),
        ("<|channel|><|message|>hi<|return|>", [("content", "hi")]),
        # plain text where a header belongs, long enough or with a newline: streamed as text
        ("Hello there\nGeneral<|return|>", [("content", "Hello there\nGeneral")]),
        ("x" * 300 + "<|return|>", [("content", "x" * 300)]),
        # text outside messages
        ("<|channel|>final<|message|>a<|end|>b<|return|>", [("content", "ab")]),
        # control tokens out of place inside a message are dropped, never shown
        (
            "<|channel|>final<|message|>a<|channel|>b<|constrain|>c<|message|>d<|return|>",
            [("content", "abcd")],
        ),
        # a forgotten <|end|>: <|start|> still opens the next message
        (
            "<|channel|>analysis<|message|>t<|start|>assistant<|channel|>final<|message|>a<|return|>",
            [("reasoning", "t"), ("content", "a")],
        ),
        # a forgotten <|start|>assistant
        (
            "<|channel|>analysis<|message|>t<|end|><|channel|>final<|message|>a<|return|>",
            [("reasoning", "t"), ("content", "a")],
        ),
        # a tool call that ends without <|call|>: its text is shown, not dropped
        (
            '<|channel|>commentary to=functions.f<|message|>{"a":1}<|end|><|return|>',
            [("content", '{"a":1}')],
        ),
    ],
)
def test_malformed_output_degrades_to_text(reply: str, expected: list[tuple[str, str]]) -> None:
    tokens = tokens_of(reply)
    events, parser = run(tokens, trace=True)
    check_accounting(tokens, events, parser)
    got = [(e.type, e.text) for e in events if not isinstance(e, (End, ToolCall))]
    merged: list[tuple[str, str]] = []
    for kind, text in got:
        if merged and merged[-1][0] == kind:
            merged[-1] = (kind, merged[-1][1] + text)
        else:
            merged.append((kind, text))
    assert merged == expected


def test_an_unknown_control_token_in_a_header_is_dropped() -> None:
    tokens = [("<|channel|>", True), ("final", False), ("<|reserved_1|>", True)]
    tokens += [("<|message|>", True), ("hi", False), ("<|return|>", True)]
    events, parser = run(tokens, trace=True)
    check_accounting(tokens, events, parser)
    assert visible_text(events) == "hi"
    assert events == [ContentDelta("hi"), End("return")]
    assert parser.dropped == 1


def test_an_unknown_control_token_between_messages_is_dropped() -> None:
    parser = StreamParser()
    for text in ("<|channel|>", "final", "<|message|>", "a", "<|end|>"):
        parser.feed(text, text.startswith("<|"))
    assert parser.feed("<|endoftext|>", True) == []
    assert parser.dropped == 1


@pytest.mark.parametrize(
    ("reply", "shown"),
    [
        # sampled inside the answer
        ("<|channel|>final<|message|>Hello<|endoftext|> world<|return|>", "Hello world"),
        ("<|channel|>final<|message|>Hello<|message|> world<|return|>", "Hello world"),
        ("<|channel|>final<|message|>a<|reserved_200012|>b<|channel|>c<|return|>", "abc"),
        # inside the thinking and between messages
        (
            "<|channel|>analysis<|message|>t<|endoftext|>u<|end|><|endoftext|>"
            "<|start|>assistant<|channel|>final<|message|>ok<|return|>",
            "tuok",
        ),
        # in a header that is not one, and in one that never gets its <|message|>
        ("<|start|>user<|constrain|>x<|message|>hi<|return|>", "userxhi"),
        ("<|channel|>final <|constrain|>json\nhello<|return|>", "json\nhello"),
        # inside a tool call's arguments: the call still parses
        (
            "<|channel|>commentary to=functions.f <|constrain|>json<|message|>"
            '{"a":<|endoftext|>1}<|call|>',
            '{"a":1}',
        ),
    ],
)
def test_stray_control_tokens_never_reach_the_text(reply: str, shown: str) -> None:
    tokens = tokens_of(reply.replace("<|endoftext|>", "\0E").replace("<|reserved_200012|>", "\0R"))
    # The tokenizer's control tokens (tokens_of knows only Harmony's own): as the engine feeds them.
    fed: list[tuple[str, bool]] = []
    for text, special in tokens:
        for part in re.split("(\0E|\0R)", text) if not special else [text]:
            if part == "\0E":
                fed.append(("<|endoftext|>", True))
            elif part == "\0R":
                fed.append(("<|reserved_200012|>", True))
            elif part:
                fed.append((part, special))
    events, parser = run(fed, trace=True)
    check_accounting(fed, events, parser)
    text = visible_text(events)
    assert text == shown and "<|" not in text
    assert parser.dropped >= 1
    calls = [e for e in events if isinstance(e, ToolCall)]
    if "<|call|>" in reply:
        assert calls and calls[0].arguments == '{"a":1}'


def test_call_without_recipient_still_ends_with_call() -> None:
    assert parse("<|channel|>final<|message|>x<|call|>") == [
        {"type": "content", "text": "x"},
        {"type": "end", "reason": "call"},
    ]


def test_finish_is_idempotent_and_feeding_after_it_continues() -> None:
    parser = StreamParser()
    assert parser.finish() == [End("end_of_stream")]
    assert parser.finish() == []
    assert parser.feed("late", False) == []  # a header may be starting: wait for more
    assert parser.finish() == [ContentDelta("late"), End("end_of_stream")]


def test_feed_never_raises_on_odd_arguments() -> None:
    parser = StreamParser()
    assert parser.feed("", True) == []
    assert parser.feed(None, False) == []  # type: ignore[arg-type]
    parser.feed(42, True)  # type: ignore[arg-type]
    assert visible_text(parser.finish()) == ""  # a control token that means nothing: dropped
    assert parser.dropped == 1


def test_events_round_trip_through_dicts() -> None:
    events = [
        ReasoningDelta("r"),
        ContentDelta("c"),
        PreambleDelta("p"),
        ToolCall("functions.f", "{}", "json", "commentary"),
        ToolCall("functions.g", ""),
        End("return"),
        End("call"),
        End("end_of_stream"),
    ]
    for e in events:
        assert event_from_dict(e.to_dict()) == e
    assert ReasoningDelta("r").to_dict() == {"type": "reasoning", "text": "r"}


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"type": "nope"}, "Unknown event type 'nope'"),
        ({"type": "content"}, "lacks the field 'text'"),
        ({"type": "content", "text": 3}, "'text' must be a string"),
        ({"type": "end", "reason": "tired"}, "unknown end reason"),
        ({"type": "tool_call", "recipient": "f", "arguments": "", "constrain": 1}, "or null"),
        (["content"], "must be a JSON object"),
    ],
)
def test_event_from_dict_names_the_problem(bad: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        event_from_dict(bad)  # type: ignore[arg-type]


def test_visible_text_counts_deltas_and_arguments() -> None:
    events = [ReasoningDelta("a"), ToolCall("f", "{b}"), ContentDelta("c"), End("return")]
    assert visible_text(events) == "a{b}c"
