"""Engine results out as OpenAI shapes: usage, finish reasons, tool calls, ids, stop sequences.

Reasoning goes out in two fields with the same text, ``reasoning_content`` and ``reasoning``:
clients disagree on the name. llama-server, DeepSeek, LiteLLM, aider and Open WebUI read
``reasoning_content``; Ollama, OpenRouter, LM Studio, vLLM (since 0.10), Codex's chat wire and
Open WebUI read ``reasoning``. Each client reads the first it knows, so it is never shown twice,
and never in ``content``.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from typing import Any

from app.chat import TurnOutcome
from app.engine.events import GenerationStats

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, n: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(n))


def function_name(recipient: str) -> str:
    """``functions.get_weather`` -> ``get_weather`` (another recipient is passed as written)."""
    return recipient.removeprefix("functions.")


@dataclass
class Call:
    id: str
    name: str
    arguments: str


def calls_of(outcome: TurnOutcome) -> list[Call]:
    return [
        Call(new_id("call_"), function_name(str(c.get("name", ""))), str(c.get("arguments", "")))
        for c in outcome.tool_calls
    ]


def chat_usage(stats: GenerationStats | None) -> dict[str, Any]:
    s = stats or GenerationStats()
    return {
        "prompt_tokens": s.prompt_tokens,
        "completion_tokens": s.generated_tokens,
        "total_tokens": s.prompt_tokens + s.generated_tokens,
        "prompt_tokens_details": {"cached_tokens": s.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": s.reasoning_tokens},
    }


def responses_usage(stats: GenerationStats | None) -> dict[str, Any]:
    s = stats or GenerationStats()
    return {
        "input_tokens": s.prompt_tokens,
        "input_tokens_details": {"cached_tokens": s.cached_tokens},
        "output_tokens": s.generated_tokens,
        "output_tokens_details": {"reasoning_tokens": s.reasoning_tokens},
        "total_tokens": s.prompt_tokens + s.generated_tokens,
    }


def finish_reason(outcome: TurnOutcome, *, stopped: bool, calls: bool) -> str:
    """stop | length | tool_calls, from how the reply ended."""
    if calls:
        return "tool_calls"
    if stopped:
        return "stop"
    reason = outcome.stats.stop_reason if outcome.stats else "return"
    return "length" if reason in ("max_tokens", "context_full") else "stop"


class StopFilter:
    """Stop sequences in the answer: text passes through until one appears; what follows it is
    cut. Streaming holds back only the few characters that could start a stop sequence."""

    def __init__(self, stops: list[str]) -> None:
        self.stops = stops
        self.hold = max((len(s) for s in stops), default=1) - 1
        self.buffer = ""
        self.matched = False

    def feed(self, text: str) -> str:
        """The text that may be shown now."""
        if self.matched:
            return ""
        if not self.stops:
            return text
        self.buffer += text
        cut = min((i for i in (self.buffer.find(s) for s in self.stops) if i >= 0), default=-1)
        if cut >= 0:
            self.matched = True
            out, self.buffer = self.buffer[:cut], ""
            return out
        keep = len(self.buffer) - self.hold
        if keep <= 0:
            return ""
        out, self.buffer = self.buffer[:keep], self.buffer[keep:]
        return out

    def flush(self) -> str:
        out, self.buffer = ("" if self.matched else self.buffer), ""
        return out
