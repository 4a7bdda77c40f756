"""Streaming parser for gpt-oss output (the text generated after ``<|start|>assistant``).

Feed it one token at a time; it returns events at once (deltas are never held back until a
message ends; only header text is buffered, and headers are short). It never raises: the model
can emit anything, so malformed output degrades to visible text and nothing the model wrote is
lost, except one thing: a control token where it means nothing (``<|endoftext|>``, a reserved
token, ``<|message|>`` inside a message) is dropped and counted in ``dropped``, never shown as
text. The accounting is exact: every character fed is either carried by an event (see
``visible_text``), is structure (a special token used as such, or a well-formed header) or is
such a dropped control token (``trace=True`` records this partition; the property tests check
it).

How each token is read, by state:

- header (after ``<|start|>``, or at the start of the stream where the role is implied):
  text, ``<|channel|>`` and ``<|constrain|>`` accumulate (any other control token is dropped);
  ``<|message|>`` closes it. A header that does not parse (unknown role, stray words, two
  channels...) is shown as content, without its control tokens. A header that never gets its
  ``<|message|>`` (a newline, over 256 characters, the end of the stream) degrades like
  openai/harmony's non-strict mode: the channel is taken and the rest is the message's text.
- message: text streams as a delta of the channel's kind (analysis → reasoning, final →
  content, commentary → preamble; unknown or missing channel → content). A message with a
  recipient is a tool call: its text is buffered and reported as ``ToolCall`` on ``<|call|>``;
  if it ends any other way the text is shown as content instead. ``<|end|>`` ends the message,
  ``<|start|>`` ends it implicitly and opens a header; ``<|return|>``/``<|call|>`` end the reply.
  Other control tokens inside a message are dropped.
- between messages: ``<|start|>`` opens a header; plain text opens one too (a model that forgot
  ``<|start|>``); a bare ``<|channel|>`` opens a header with the role implied; other control
  tokens are dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from app.harmony.events import (
    ContentDelta,
    End,
    EndReason,
    Event,
    PreambleDelta,
    ReasoningDelta,
    ToolCall,
)

START = "<|start|>"
END = "<|end|>"
MESSAGE = "<|message|>"
CHANNEL = "<|channel|>"
CONSTRAIN = "<|constrain|>"
RETURN = "<|return|>"
CALL = "<|call|>"

SPECIAL_TOKENS = (START, END, MESSAGE, CHANNEL, CONSTRAIN, RETURN, CALL)
STOP_TOKENS = (RETURN, CALL)

# A real header ("assistant to=functions.name<|channel|>commentary <|constrain|>json") is one
# short line; past this the text is surely the model writing without a header: show it.
HEADER_LIMIT = 256

_CHANNEL_VALUE = re.compile(r"[^\s<]*")
# What a piece of header is: text, a Harmony token of headers, or a stray control token (dropped
# whatever the header turns out to be).
_TEXT, _HARMONY, _STRAY = 0, 1, 2
_SPECIAL_SPLIT = re.compile("(" + "|".join(re.escape(t) for t in SPECIAL_TOKENS) + ")")
_KIND_BY_CHANNEL = {"analysis": "reasoning", "commentary": "preamble", "final": "content"}


class _State(Enum):
    HEADER = "header"
    MESSAGE = "message"
    BETWEEN = "between"


@dataclass(frozen=True)
class Header:
    """A parsed message header."""

    channel: str | None = None
    recipient: str | None = None
    constrain: str | None = None
    # "to=…" before "<|channel|>" (harmony's renderer; functions) or after it (gpt-oss's own
    # built-in tool calls: "<|channel|>analysis to=python code")
    recipient_first: bool = True

    @property
    def kind(self) -> str:
        if self.recipient:
            return "tool"
        return _KIND_BY_CHANNEL.get(self.channel or "final", "content")


def parse_header(text: str, role_implied: bool) -> Header | None:
    """Parse header text (control tokens included as their text); None when it is not a header.

    Accepted: an optional ``assistant`` (required unless the role is implied), at most one
    ``<|channel|>NAME`` anywhere, then an optional ``to=RECIPIENT`` and an optional content type
    (``<|constrain|>json`` or a bare word), in that order, separated by whitespace.
    """
    channel = None
    idx = text.find(CHANNEL)
    to_at = text.find("to=")
    recipient_first = idx < 0 or to_at < 0 or to_at < idx
    if idx >= 0:
        after = text[idx + len(CHANNEL) :]
        match = _CHANNEL_VALUE.match(after)
        value = match.group() if match else ""
        if not value:
            return None
        channel = value
        text = text[:idx] + " " + after[len(value) :]
        if CHANNEL in text:
            return None
    parts = text.replace(CONSTRAIN, " " + CONSTRAIN).split()
    if parts and parts[0] == "assistant":
        parts.pop(0)
    elif not role_implied:
        return None
    recipient = None
    if parts and parts[0].startswith("to="):
        recipient = parts.pop(0)[3:]
        if not recipient:
            return None
    constrain = None
    if parts:
        constrain = parts.pop(0).removeprefix(CONSTRAIN)
        if not constrain:
            return None
    if parts or any("<|" in x for x in (channel, recipient, constrain) if x):
        return None
    if recipient == "all":  # harmony's "everyone": no recipient at all
        recipient = None
    return Header(
        channel=channel,
        recipient=recipient,
        constrain=constrain,
        recipient_first=recipient_first or recipient is None,
    )


def split_special(text: str) -> list[tuple[str, bool]]:
    """Cut generated text into (text, special) pieces on the Harmony control-token strings, for
    feeding a parser from text rather than tokens (``hearth harmony parse``, tests)."""
    return [(part, part in SPECIAL_TOKENS) for part in _SPECIAL_SPLIT.split(text) if part]


class StreamParser:
    """Turns a stream of generated tokens into events. Never raises.

    ``feed(text, special)`` takes one token's text; ``special`` is True for a control token
    (a normal token whose text spells "<|end|>" is plain text). ``finish()`` flushes at the end of
    the stream. With ``trace=True`` the parser records how it partitioned the input in ``trace``:
    ("visible", text), ("header", text), ("special", text) or ("dropped", text), in input order.
    """

    def __init__(self, *, trace: bool = False) -> None:
        self._state = _State.HEADER
        self._role_implied = True  # the prompt ended with "<|start|>assistant"
        self._header: list[tuple[str, int]] = []  # (text, _TEXT / _HARMONY / _STRAY)
        self._header_len = 0
        self._kind = "content"
        self._msg: Header = Header()
        self._args: list[str] = []
        self._last_was_end = False
        self._events: list[Event] = []
        self.dropped = 0  # control tokens that meant nothing where they came: never shown
        self.trace: list[tuple[str, str]] | None = [] if trace else None

    # -- public API ---------------------------------------------------------------------------

    def feed(self, text: str, special: bool = False) -> list[Event]:
        self._events = []
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        if not text:
            return []
        try:
            if special:
                self._feed_special(text)
            else:
                self._feed_text(text)
        except Exception:  # a bug here must never cost the user the reply: show the token
            self._recover(text, special)
        return self._take()

    def finish(self) -> list[Event]:
        self._events = []
        try:
            if self._state is _State.HEADER:
                self._degrade_header()
            elif self._state is _State.MESSAGE:
                self._close_message()
            self._state = _State.BETWEEN
            if not self._last_was_end:
                self._end("end_of_stream")
        except Exception:
            self._state = _State.BETWEEN
            if not self._last_was_end:
                self._end("end_of_stream")
        return self._take()

    # -- where the stream is (for "answer now") -------------------------------------------------

    @property
    def in_reasoning(self) -> bool:
        """Inside the text of an analysis message (chain of thought)."""
        return self._state is _State.MESSAGE and self._kind == "reasoning"

    def switch_to_final(self) -> str:
        """The Harmony text that ends the thinking under way and opens the final answer, given
        where the stream is now: "" when the answer (or a tool call's arguments) is already
        being written. Fed to the model as if it had written it ("answer now")."""
        opening = f"{CHANNEL}final{MESSAGE}"
        if self._state is _State.MESSAGE:
            if self._kind in ("reasoning", "preamble"):
                return f"{END}{START}assistant{opening}"
            return ""
        if self._state is _State.HEADER:
            if not self._header:
                return opening  # right after <|start|>assistant
            # A header under way: close it with an empty message, then open the answer.
            return f"{MESSAGE}{END}{START}assistant{opening}"
        return f"{START}assistant{opening}"  # between messages (after <|end|>)

    # -- tokens -------------------------------------------------------------------------------

    def _feed_text(self, text: str) -> None:
        if not text:
            return
        if self._state is _State.MESSAGE:
            self._emit(self._kind, text)
            return
        if self._state is _State.BETWEEN:
            self._open_header(role_implied=False)
        self._header.append((text, _TEXT))
        self._header_len += len(text)
        if "\n" in text or self._header_len > HEADER_LIMIT:
            self._degrade_header()
            self._state = _State.MESSAGE

    def _feed_special(self, tok: str) -> None:
        state = self._state
        if state is _State.HEADER:
            if tok == MESSAGE:
                self._close_header()
                self._hidden("special", tok)
            elif tok in (END, START, RETURN, CALL):
                self._degrade_header()
                self._state = _State.BETWEEN
                self._structural(tok)
            elif tok in (CHANNEL, CONSTRAIN):
                self._header.append((tok, _HARMONY))
                self._header_len += len(tok)
                if self._header_len > HEADER_LIMIT:
                    self._degrade_header()
                    self._state = _State.MESSAGE
            else:  # an unknown control token: dropped, in its place among the header's pieces
                self._header.append((tok, _STRAY))
        elif state is _State.MESSAGE:
            if tok == CALL and self._kind == "tool":
                self._hidden("special", tok)
                self._emit_event(
                    ToolCall(
                        recipient=self._msg.recipient or "",
                        arguments="".join(self._args),
                        constrain=self._msg.constrain,
                        channel=self._msg.channel,
                        recipient_first=self._msg.recipient_first,
                    )
                )
                self._args = []
                self._state = _State.BETWEEN
                self._end("call")
            elif tok in (END, START, RETURN, CALL):
                self._close_message()
                self._state = _State.BETWEEN
                self._structural(tok)
            else:  # <|message|>, <|channel|>, <|constrain|> or another control token: stray
                self._drop(tok)
        else:  # between messages
            if tok in (END, START, RETURN, CALL):
                self._structural(tok)
            elif tok == CHANNEL:
                self._open_header(role_implied=True)
                self._header.append((tok, _HARMONY))
                self._header_len += len(tok)
            elif tok == MESSAGE:  # a message with an empty header
                self._hidden("special", tok)
                self._msg = Header()
                self._kind = "content"
                self._state = _State.MESSAGE
            else:
                self._drop(tok)

    def _structural(self, tok: str) -> None:
        """<|end|>, <|start|>, <|return|>, <|call|> after the current message was closed."""
        self._hidden("special", tok)
        if tok == START:
            self._open_header(role_implied=False)
        elif tok == RETURN:
            self._end("return")
        elif tok == CALL:
            self._end("call")

    # -- headers ------------------------------------------------------------------------------

    def _open_header(self, *, role_implied: bool) -> None:
        self._state = _State.HEADER
        self._role_implied = role_implied
        self._header = []
        self._header_len = 0

    def _take_header(self) -> tuple[str, list[tuple[str, int]]]:
        """The header's text (without stray control tokens) and its pieces."""
        pieces = self._header
        self._header = []
        self._header_len = 0
        return "".join(text for text, kind in pieces if kind != _STRAY), pieces

    def _close_header(self) -> None:
        """``<|message|>`` arrived: parse the header; if it is not one, show it as text."""
        raw, pieces = self._take_header()
        header = parse_header(raw, self._role_implied)
        if header is None:
            self._msg = Header()
            self._kind = "content"
            self._emit_pieces("content", pieces)
        else:
            self._msg = header
            self._kind = header.kind
            self._hide_header(pieces, len(raw))
        self._args = []
        self._state = _State.MESSAGE

    def _degrade_header(self) -> None:
        """A header that never got its ``<|message|>``: take the channel (if the text starts like
        a header) and show the rest as that channel's text, as harmony's non-strict mode does."""
        raw, pieces = self._take_header()
        self._msg = Header()
        self._kind = "content"
        self._args = []
        if not raw:
            self._emit_pieces("content", pieces)  # stray control tokens alone: dropped
            return
        idx = raw.find(CHANNEL)
        prefix = raw[:idx].strip() if idx >= 0 else raw.strip()
        role_ok = prefix == "assistant" or (prefix == "" and self._role_implied)
        if idx < 0:
            if role_ok:  # "assistant" alone: an empty header
                self._hide_header(pieces, len(raw))
            else:
                self._emit_pieces("content", pieces)
            return
        after = raw[idx + len(CHANNEL) :]
        match = _CHANNEL_VALUE.match(after)
        channel = match.group() if match else ""
        if not role_ok or not channel:
            self._emit_pieces("content", pieces)
            return
        rest = after[len(channel) :]
        body = rest.lstrip()
        head = len(raw) - len(body)
        rest_pieces = self._hide_header(pieces, head)
        self._msg = Header(channel=channel)
        self._kind = _KIND_BY_CHANNEL.get(channel, "content")
        self._emit_pieces(self._kind, rest_pieces)

    # -- messages -----------------------------------------------------------------------------

    def _close_message(self) -> None:
        """The message ended without ``<|call|>``: a pending tool call's text becomes content."""
        if self._kind == "tool" and self._args:
            text = "".join(self._args)
            self._args = []
            self._emit_event(ContentDelta(text))
        self._args = []
        self._kind = "content"

    # -- output -------------------------------------------------------------------------------

    def _emit(self, kind: str, text: str) -> None:
        if not text:
            return
        if kind == "tool":
            self._args.append(text)
            self._trace("visible", text)
            return
        self._trace("visible", text)
        if kind == "reasoning":
            self._emit_event(ReasoningDelta(text))
        elif kind == "preamble":
            self._emit_event(PreambleDelta(text))
        else:
            self._emit_event(ContentDelta(text))

    def _hide_header(self, pieces: list[tuple[str, int]], length: int) -> list[tuple[str, int]]:
        """The first ``length`` characters of the header's text are header syntax (stray control
        tokens among them are dropped where they came); returns the pieces after them."""
        run: list[str] = []
        for i, (text, kind) in enumerate(pieces):
            if kind == _STRAY:
                self._hidden("header", "".join(run))
                run = []
                self._drop(text)
                continue
            if length <= 0:
                self._hidden("header", "".join(run))
                return pieces[i:]
            cut = min(length, len(text))
            length -= cut
            run.append(text[:cut])
            if cut < len(text):
                self._hidden("header", "".join(run))
                return [(text[cut:], kind), *pieces[i + 1 :]]
        self._hidden("header", "".join(run))
        return []

    def _emit_pieces(self, kind: str, pieces: list[tuple[str, int]]) -> None:
        """Header text shown as a message's text after all: its words are shown, its control
        tokens dropped."""
        for text, what in pieces:
            if what == _TEXT:
                self._emit(kind, text)
            else:
                self._drop(text)

    def _drop(self, tok: str) -> None:
        self.dropped += 1
        self._trace("dropped", tok)

    def _emit_event(self, event: Event) -> None:
        self._events.append(event)
        self._last_was_end = False

    def _end(self, reason: EndReason) -> None:
        self._events.append(End(reason))
        self._last_was_end = True

    def _hidden(self, kind: str, text: str) -> None:
        self._trace(kind, text)

    def _trace(self, kind: str, text: str) -> None:
        if self.trace is not None and text:
            self.trace.append((kind, text))

    def _take(self) -> list[Event]:
        events, self._events = self._events, []
        return events

    def _recover(self, text: str, special: bool) -> None:
        self._state = _State.MESSAGE
        self._kind = "content"
        self._args = []
        self._header = []
        self._header_len = 0
        if special:
            self.dropped += 1
        elif text:
            self._emit_event(ContentDelta(text))
