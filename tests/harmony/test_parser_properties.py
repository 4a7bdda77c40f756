"""Property-based tests of StreamParser (hypothesis).

Random streams mix Harmony's control tokens, the words headers are made of, unknown control
tokens and arbitrary unicode. Whatever comes, the parser must not raise and must account for
every character (``check_accounting`` states the invariant precisely). Well-formed streams,
however they are cut into tokens, must parse into exactly the messages they encode.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.harmony import End, ToolCall
from app.harmony.parser import SPECIAL_TOKENS
from tests.harmony.streams import Token, check_accounting, merged, run

HEADER_WORDS = [
    "assistant",
    "analysis",
    "commentary",
    "final",
    " ",
    "to=",
    "functions.get_weather",
    " to=functions.f",
    "json",
    "<|constrain|>",  # as plain text: a normal token that spells a control token
    "<|end|>",
    "\n",
    "user",
    "all",
]

UNKNOWN_SPECIALS = ["<|endoftext|>", "<|reserved_200012|>", "<|x|>"]
# One flat choice is much cheaper for hypothesis to draw than nested one_of's (the 10,000-stream
# test spends most of its time drawing).
FIXED_TOKENS: list[Token] = [
    *((t, True) for t in SPECIAL_TOKENS),
    *((t, False) for t in HEADER_WORDS),
    *((t, True) for t in UNKNOWN_SPECIALS),
]
specials = st.sampled_from(SPECIAL_TOKENS).map(lambda t: (t, True))
unicode_text = st.text(max_size=12).map(lambda t: (t, False))
token = st.one_of(st.sampled_from(FIXED_TOKENS), unicode_text)
streams = st.lists(token, max_size=30)


def feed_all(tokens: list[Token]) -> None:
    events, parser = run(tokens, trace=True)
    check_accounting(tokens, events, parser)
    ends = [e for e in events if isinstance(e, End)]
    assert events and isinstance(events[-1], End)  # every stream ends with an End
    assert all(e.reason in ("return", "call", "end_of_stream") for e in ends)


# issue 6 (fault injection): 10,000 random token streams, no exception, all text accounted
# for. Runs in about 10 s on the 2-core CI machine.
@settings(max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams)
def test_ten_thousand_random_streams_never_raise_and_lose_nothing(tokens: list[Token]) -> None:
    feed_all(tokens)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(specials, unicode_text), max_size=80))
def test_long_streams_of_specials_and_unicode(tokens: list[Token]) -> None:
    feed_all(tokens)


plain_text = st.text(max_size=12).filter(lambda t: "<|" not in t and "|" not in t)


# issue 16: a control token sampled out of place (<|endoftext|>, a reserved token, <|message|>
# inside a message) is dropped and counted; none ever reaches the screen as text.
@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            st.sampled_from([*((t, True) for t in (*SPECIAL_TOKENS, *UNKNOWN_SPECIALS))]),
            plain_text.map(lambda t: (t, False)),
        ),
        max_size=40,
    )
)
def test_control_tokens_never_reach_the_text(tokens: list[Token]) -> None:
    events, parser = run(tokens, trace=True)
    check_accounting(tokens, events, parser)
    shown = "".join(getattr(e, "text", "") + getattr(e, "arguments", "") for e in events)
    assert "<|" not in shown and "|>" not in shown


# ---- well-formed streams ------------------------------------------------------------------


@dataclass
class Msg:
    kind: str  # "reasoning" | "content" | "preamble" | "tool"
    text: str
    recipient: str = ""
    recipient_first: bool = True  # how the header was written (a tool call's)


KIND_CHANNEL = {"reasoning": "analysis", "content": "final", "preamble": "commentary"}

message_text = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"]), max_size=30
)  # anything: even "<|end|>" is plain text when it is not a control token
recipients = st.sampled_from(["functions.get_weather", "functions.a_b", "browser.search"])
plain_msgs = st.builds(Msg, st.sampled_from(["reasoning", "content", "preamble"]), message_text)
tool_msgs = st.builds(Msg, st.just("tool"), message_text, recipients)


def header_tokens(msg: Msg, first: bool, style: int) -> list[Token]:
    out: list[Token] = [] if first else [("<|start|>", True), ("assistant", False)]
    if msg.kind != "tool":
        return [*out, ("<|channel|>", True), (KIND_CHANNEL[msg.kind], False)]
    if style == 0:  # as harmony renders it
        out += [(f" to={msg.recipient}", False), ("<|channel|>", True), ("commentary", False)]
        out += [(" ", False)]
    else:  # as gpt-oss often writes it: channel first
        out += [("<|channel|>", True), ("commentary", False), (f" to={msg.recipient} ", False)]
    return [*out, ("<|constrain|>", True), ("json", False)]


def cut(text: str, sizes: list[int]) -> list[Token]:
    """Cut text into tokens of the given sizes (cycled), as a tokenizer might."""
    out: list[Token] = []
    i = 0
    k = 0
    while i < len(text):
        n = sizes[k % len(sizes)] if sizes else len(text)
        out.append((text[i : i + n], False))
        i += n
        k += 1
    return out


@st.composite
def well_formed(draw: st.DrawFn) -> tuple[list[Token], list[Msg], str]:
    msgs = draw(st.lists(plain_msgs, max_size=5))
    ending = draw(st.sampled_from(["return", "call", "end_of_stream"]))
    if ending == "call":
        msgs.append(draw(tool_msgs))
    if ending == "return":
        msgs.append(Msg("content", draw(message_text)))
    sizes = draw(st.lists(st.integers(1, 7), min_size=1, max_size=4))
    tokens: list[Token] = []
    for i, msg in enumerate(msgs):
        style = draw(st.integers(0, 1))
        msg.recipient_first = style == 0
        tokens += header_tokens(msg, first=i == 0, style=style)
        tokens.append(("<|message|>", True))
        tokens += cut(msg.text, sizes)
        last = i == len(msgs) - 1
        if not last:
            tokens.append(("<|end|>", True))
        elif ending == "return":
            tokens.append(("<|return|>", True))
        elif ending == "call":
            tokens.append(("<|call|>", True))
    return tokens, msgs, ending


def expected_events(msgs: list[Msg], ending: str) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for msg in msgs:
        if msg.kind == "tool":
            d: dict[str, object] = ToolCall(
                msg.recipient, msg.text, "json", "commentary", msg.recipient_first
            ).to_dict()
            out.append(d)
        elif msg.text:
            if out and out[-1]["type"] == msg.kind:
                out[-1] = {**out[-1], "text": str(out[-1]["text"]) + msg.text}
            else:
                out.append({"type": msg.kind, "text": msg.text})
    out.append({"type": "end", "reason": ending})
    return out


@settings(max_examples=400, deadline=None)
@given(well_formed())
def test_well_formed_streams_parse_into_their_messages(
    case: tuple[list[Token], list[Msg], str],
) -> None:
    tokens, msgs, ending = case
    events, parser = run(tokens, trace=True)
    check_accounting(tokens, events, parser)
    assert merged(events) == expected_events(msgs, ending)
    # header text never shows up as content: hidden exactly once per message
    assert sum(1 for kind, _ in parser.trace or [] if kind == "header") == len(msgs)
