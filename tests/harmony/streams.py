"""Helpers for parser tests: split text into tokens, run a parser, check its accounting."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from app.harmony import Event, StreamParser, visible_text
from app.harmony.parser import HEADER_LIMIT, SPECIAL_TOKENS

Token = tuple[str, bool]  # (text, special)

_SPLIT = re.compile("(" + "|".join(re.escape(t) for t in SPECIAL_TOKENS) + ")")


def tokens_of(text: str, *, chunk: int = 0) -> list[Token]:
    """Split generated text on the special-token strings (as the engine's tokenizer would);
    with ``chunk`` > 0 also cut plain text into pieces of that many characters."""
    out: list[Token] = []
    for part in _SPLIT.split(text):
        if not part:
            continue
        if part in SPECIAL_TOKENS:
            out.append((part, True))
        elif chunk:
            out.extend((part[i : i + chunk], False) for i in range(0, len(part), chunk))
        else:
            out.append((part, False))
    return out


def run(tokens: Iterable[Token], *, trace: bool = False) -> tuple[list[Event], StreamParser]:
    parser = StreamParser(trace=trace)
    events: list[Event] = []
    for text, special in tokens:
        events += parser.feed(text, special)
    events += parser.finish()
    return events, parser


def parse(text: str, *, chunk: int = 0) -> list[dict[str, object]]:
    """Events as dicts, with consecutive deltas of one type merged (how a UI would show them)."""
    events, _ = run(tokens_of(text, chunk=chunk))
    return merged(events)


def merged(events: Iterable[Event]) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for e in events:
        d = e.to_dict()
        if out and "text" in d and out[-1]["type"] == d["type"]:
            out[-1] = {**out[-1], "text": str(out[-1]["text"]) + str(d["text"])}
        else:
            out.append(d)
    return out


_CHANNEL_PART = re.compile(r"<\|channel\|>[^\s<]+")


def looks_like_header(segment: str) -> bool:
    """An independent description of what may be hidden as a header: after removing one
    ``<|channel|>NAME``, at most "assistant", "to=X" and one content type, in that order."""
    core = segment.strip()
    if "\n" in core:
        return False
    core = _CHANNEL_PART.sub(" ", core, count=1)
    if "<|channel|>" in core:
        return False
    words = core.replace("<|constrain|>", " <|constrain|>").split()
    if words[:1] == ["assistant"]:
        words = words[1:]
    if words[:1] and words[0].startswith("to="):
        words = words[1:]
    if words and words[0].startswith("<|constrain|>"):
        words[0] = words[0].removeprefix("<|constrain|>")
    return len(words) <= 1 and all("<|" not in w for w in words)


def check_accounting(tokens: list[Token], events: list[Event], parser: StreamParser) -> None:
    """The parser's partition of the input is complete, ordered and honest:

    1. the trace's segments, joined, are exactly the input text (every character is placed
       once, in order);
    2. the "visible" segments, joined, are exactly ``visible_text(events)`` (the events carry
       all visible text, in order, and nothing else);
    3. only control tokens that were fed as control tokens are hidden as "special" or
       "dropped" (a control token out of place: counted in ``parser.dropped``, never shown);
    4. every hidden "header" segment looks like a header and is short.
    So nothing the model wrote is lost: text is either in an event or was header syntax, and
    only control tokens are ever left out.
    """
    trace = parser.trace
    assert trace is not None
    assert "".join(text for _, text in trace) == "".join(text for text, _ in tokens)
    visible = "".join(text for kind, text in trace if kind == "visible")
    assert visible == visible_text(events)
    hidden_specials = Counter(text for kind, text in trace if kind == "special")
    dropped = Counter(text for kind, text in trace if kind == "dropped")
    fed_specials = Counter(text for text, special in tokens if special)
    assert not (hidden_specials + dropped) - fed_specials
    assert all(text in SPECIAL_TOKENS for text in hidden_specials)
    assert parser.dropped == sum(dropped.values())
    longest = max((len(t) for t, _ in tokens), default=0)
    assert all(kind in ("visible", "special", "header", "dropped") for kind, _ in trace)
    for text in headers(trace):
        assert looks_like_header(text), text
        assert len(text) <= HEADER_LIMIT + longest


def headers(trace: list[tuple[str, str]]) -> list[str]:
    """The hidden headers: "header" segments, joined across the control tokens dropped from
    among them (a stray token splits a header's text in the trace, not in the header)."""
    out: list[str] = []
    run: list[str] | None = None
    for kind, text in trace:
        if kind == "header":
            run = (run or []) + [text]
        elif kind == "dropped" and run is not None:
            continue
        else:
            if run is not None:
                out.append("".join(run))
            run = None
    if run is not None:
        out.append("".join(run))
    return out
