"""One streamed OpenAI chat completion -> the engine events the turn path knows (no I/O).

Servers put gpt-oss's reasoning in different places; ``ReplyReader`` takes whichever it finds:

- ``delta.reasoning_content`` (llama-server, vLLM up to 0.10, Hearth's own server) or
  ``delta.reasoning`` (Ollama, LM Studio, newer vLLM): reasoning as its own field.
- Raw Harmony in ``delta.content`` (a server without a reasoning parser, e.g. llama-cpp-python's
  own server: ``<|channel|>analysis<|message|>…<|end|><|start|>assistant<|channel|>final…``):
  parsed by ``app.harmony.StreamParser``, so reasoning, answer, preambles and tool calls come out
  as they would from the local engine.
- Anything else in ``content`` is the answer.

The format is decided from the first characters of the reply (a few are held back until they
can be told apart) and reported in ``detected`` so the connection can remember it. OpenAI
``tool_calls`` deltas are gathered by index and reported as ``ToolCallEvent``s
(``functions.NAME``, JSON arguments) when the choice finishes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from app.engine.events import (
    ContentEvent,
    EngineEvent,
    PreambleEvent,
    ReasoningEvent,
    ToolCallEvent,
)
from app.harmony import (
    SPECIAL_TOKENS,
    ContentDelta,
    PreambleDelta,
    ReasoningDelta,
    StreamParser,
    ToolCall,
    split_special,
)

# Formats a server may use, as remembered on the connection.
REASONING_CONTENT = "reasoning_content"
REASONING = "reasoning"
HARMONY = "harmony"
PLAIN = "plain"  # no reasoning seen, the content did not look like Harmony
FORMATS = (REASONING_CONTENT, REASONING, HARMONY, PLAIN)

# Raw Harmony starts with one of these (the prompt ends in "<|start|>assistant").
_HARMONY_OPENERS = ("<|channel|>", "<|start|>", "<|message|>")
_LONGEST_SPECIAL = max(len(t) for t in SPECIAL_TOKENS)


class MalformedChunk(ValueError):
    """A chunk that is JSON but not a chat completion chunk."""


@dataclass
class _PendingCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


def _special_tail(text: str) -> int:
    """How many characters at the end of ``text`` may be the start of a control token."""
    if text.endswith("<"):
        return 1
    start = text.rfind("<|", max(0, len(text) - _LONGEST_SPECIAL))
    if start < 0:
        return 0
    tail = text[start:]
    return len(tail) if any(t.startswith(tail) and t != tail for t in SPECIAL_TOKENS) else 0


class _HarmonyText:
    """Raw Harmony text arriving in arbitrary pieces -> ``StreamParser`` tokens. A control
    token may be split over two chunks: a piece that could be its start is held back."""

    def __init__(self) -> None:
        self.parser = StreamParser()
        self._held = ""

    def feed(self, text: str) -> list[Any]:
        text = self._held + text
        hold = _special_tail(text)
        self._held = text[len(text) - hold :] if hold else ""
        text = text[: len(text) - hold] if hold else text
        return self._parse(text)

    def finish(self) -> list[Any]:
        events = self._parse(self._held)
        self._held = ""
        return events + self.parser.finish()

    def _parse(self, text: str) -> list[Any]:
        if not text:
            return []
        if "<|" not in text:
            return self.parser.feed(text)
        events: list[Any] = []
        for piece, special in split_special(text):
            events.extend(self.parser.feed(piece, special))
        return events


class ReplyReader:
    """Feed it each decoded SSE chunk (``feed``), then ``finish()``; both return events.

    ``hint`` is what the connection remembered: a server known to send reasoning in its own
    field never has its content parsed as Harmony (an answer may well start with "<|")."""

    def __init__(self, hint: str = "", builtins: dict[str, tuple[str, bool]] | None = None) -> None:
        self.hint = hint
        # Function name -> (recipient, takes code): gpt-oss's built-in tools declared as
        # functions (app.remote.wire.builtin_calls); their calls go back to the built-in's name.
        self.builtins = builtins or {}
        self.detected = ""
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] | None = None
        self.model: str = ""
        self.text_deltas = 0  # pieces of text received: the token count when there is no usage
        self._undecided = ""  # content held back until its format is known
        self._content_mode = PLAIN if hint in (REASONING_CONTENT, REASONING) else ""
        self._harmony: _HarmonyText | None = None
        self._calls: dict[int, _PendingCall] = {}
        self.harmony_call = False  # the Harmony text ended in <|call|>

    # -- chunks ---------------------------------------------------------------------------------

    def feed(self, chunk: Any) -> list[EngineEvent]:
        if not isinstance(chunk, dict):
            raise MalformedChunk("a chunk is not a JSON object")
        if "error" in chunk and "choices" not in chunk:
            raise ServerStreamError(_error_text(chunk["error"]))
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self.usage = usage
        if not self.model and isinstance(chunk.get("model"), str):
            self.model = chunk["model"]
        choices = chunk.get("choices")
        if choices is None:
            return []
        if not isinstance(choices, list):
            raise MalformedChunk("'choices' is not a list")
        events: list[EngineEvent] = []
        for choice in choices:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue  # n=1 is asked for; another choice is not this reply
            delta = choice.get("delta")
            if delta is None:
                delta = choice.get("message")  # a server that sends whole messages
            if isinstance(delta, dict):
                events.extend(self._delta(delta))
            reason = choice.get("finish_reason")
            if isinstance(reason, str) and reason:
                self.finish_reason = reason
                events.extend(self._flush_calls())
        return events

    def finish(self, *, calls: bool = True) -> list[EngineEvent]:
        """The stream ended: whatever was held back, then any tool call not yet reported
        (``calls=False`` when the stream broke: a call cut short must never be run)."""
        events: list[EngineEvent] = []
        if self._undecided:
            text, self._undecided = self._undecided, ""
            self._content_mode = self._content_mode or PLAIN
            events.extend(self._content(text))
        if self._harmony is not None:
            events.extend(self._from_harmony(self._harmony.finish()))
        if calls:
            events.extend(self._flush_calls())
        self._calls.clear()
        if not self.detected and self._content_mode:
            self.detected = self._content_mode
        return events

    # -- fields ---------------------------------------------------------------------------------

    def _delta(self, delta: dict[str, Any]) -> list[EngineEvent]:
        events: list[EngineEvent] = []
        for name in (REASONING_CONTENT, REASONING):
            text = delta.get(name)
            if isinstance(text, str) and text:
                self.detected = name
                if not self._content_mode:
                    self._content_mode = PLAIN
                self.text_deltas += 1
                events.append(ReasoningEvent(text))
                break  # a server that fills both (aliases) says the same thing twice
        text = delta.get("content")
        if isinstance(text, str) and text:
            self.text_deltas += 1
            events.extend(self._content(text))
        calls = delta.get("tool_calls")
        if isinstance(calls, list):
            for call in calls:
                self._tool_call_delta(call)
        return events

    def _content(self, text: str) -> list[EngineEvent]:
        if not self._content_mode:
            self._undecided += text
            mode = _decide(self._undecided)
            if mode is None:
                return []
            self._content_mode = mode
            text, self._undecided = self._undecided, ""
            if mode == HARMONY:
                self.detected = HARMONY
                self._harmony = _HarmonyText()
        if self._harmony is not None:
            return self._from_harmony(self._harmony.feed(text))
        return [ContentEvent(text)]

    def _from_harmony(self, parsed: list[Any]) -> list[EngineEvent]:
        events: list[EngineEvent] = []
        for ev in parsed:
            if isinstance(ev, ReasoningDelta):
                events.append(ReasoningEvent(ev.text))
            elif isinstance(ev, ContentDelta):
                events.append(ContentEvent(ev.text))
            elif isinstance(ev, PreambleDelta):
                events.append(PreambleEvent(ev.text))
            elif isinstance(ev, ToolCall):
                self.harmony_call = True
                events.append(
                    ToolCallEvent(
                        recipient=ev.recipient,
                        arguments=ev.arguments,
                        constrain=ev.constrain,
                        channel=ev.channel,
                    )
                )
        return events

    def _tool_call_delta(self, call: Any) -> None:
        if not isinstance(call, dict):
            return
        index = call.get("index", len(self._calls))
        if not isinstance(index, int):
            index = len(self._calls)
        pending = self._calls.setdefault(index, _PendingCall())
        if isinstance(call.get("id"), str) and call["id"]:
            pending.id = call["id"]
        function = call.get("function")
        if isinstance(function, dict):
            if isinstance(function.get("name"), str) and function["name"]:
                pending.name = function["name"]
            args = function.get("arguments")
            if isinstance(args, str):
                pending.arguments.append(args)
            elif isinstance(args, dict):  # a server that sends the object itself
                pending.arguments.append(json.dumps(args, ensure_ascii=False))

    def _flush_calls(self) -> list[EngineEvent]:
        events: list[EngineEvent] = []
        for index in sorted(self._calls):
            pending = self._calls[index]
            if not pending.name:
                continue
            events.append(self._call_event(pending.name, "".join(pending.arguments)))
        self._calls.clear()
        return events

    def _call_event(self, name: str, arguments: str) -> ToolCallEvent:
        builtin = self.builtins.get(name)
        if builtin is None:
            recipient = name if name.startswith("functions.") else f"functions.{name}"
            return ToolCallEvent(recipient, arguments, constrain="json", channel="commentary")
        recipient, code = builtin
        if not code:
            return ToolCallEvent(recipient, arguments, constrain="json", channel="commentary")
        # As gpt-oss writes a python call itself: the bare code, on the analysis channel.
        try:
            value = json.loads(arguments)
        except ValueError:
            value = None
        if isinstance(value, dict) and isinstance(value.get("code"), str):
            arguments = value["code"]
        return ToolCallEvent(recipient, arguments, constrain="code", channel="analysis")


class ServerStreamError(Exception):
    """The server put an error object into the stream (vLLM and llama-server do, mid-reply)."""


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        return str(error.get("message") or error.get("type") or error)
    return str(error)


def _decide(text: str) -> str | None:
    """HARMONY, PLAIN, or None while ``text`` may still become either."""
    if text.startswith(_HARMONY_OPENERS):
        return HARMONY
    if any(opener.startswith(text) for opener in _HARMONY_OPENERS):
        return None
    return PLAIN
