"""How ``hearth chat`` shows a reply: plain text for people, JSON lines for scripts."""

from __future__ import annotations

import json
from typing import IO

from app.engine.events import (
    ContentEvent,
    DoneEvent,
    EngineEvent,
    ErrorEvent,
    PreambleEvent,
    PrefillEvent,
    ReasoningEvent,
    ToolCallEvent,
    TrimmedEvent,
)

DIM, RESET = "\x1b[2m", "\x1b[0m"


class TerminalPrinter:
    """Answer to ``out``; reasoning to ``err`` (dimmed when ``err`` is a terminal)."""

    def __init__(self, out: IO[str], err: IO[str]) -> None:
        self.out, self.err = out, err
        self.dim = err.isatty()
        self._in_reasoning = False
        self._wrote_answer = False

    def _end_reasoning(self) -> None:
        if self._in_reasoning:
            self.err.write((RESET if self.dim else "") + "\n")
            self.err.flush()
            self._in_reasoning = False

    def __call__(self, ev: EngineEvent) -> None:
        if isinstance(ev, ReasoningEvent):
            if not self._in_reasoning:
                self.err.write(DIM if self.dim else "")
                self._in_reasoning = True
            self.err.write(ev.text)
            self.err.flush()
        elif isinstance(ev, ContentEvent | PreambleEvent):
            self._end_reasoning()
            self.out.write(ev.text)
            self.out.flush()
            self._wrote_answer = True
        elif isinstance(ev, ToolCallEvent):
            self._end_reasoning()
            self.out.write(f"\n[tool call] {ev.recipient} {ev.arguments}\n")
            self.out.flush()
        elif isinstance(ev, TrimmedEvent):
            self.err.write(f"Note: {ev.message}\n")
        elif isinstance(ev, DoneEvent):
            self._end_reasoning()
            if self._wrote_answer:
                self.out.write("\n")
                self.out.flush()
            if self.err.isatty():
                s = ev.stats
                line = (
                    f"{s.generated_tokens} tokens · {s.generation_tps:.1f} tok/s · first token "
                    f"{s.ttft_s:.2f} s · context {s.context_used:,}/{s.context_size:,}"
                )
                if s.stop_reason not in ("return", "call"):
                    line += f" · stopped: {s.stop_reason.replace('_', ' ')}"
                self.err.write(f"{DIM}{line}{RESET}\n")
        elif isinstance(ev, ErrorEvent):
            self._end_reasoning()
            self.err.write(f"hearth chat: {ev.message}\n")
        self.err.flush()


class JsonlPrinter:
    """One JSON object per event (the documented ``--jsonl`` interface). Prefill progress is
    the window's business and not part of that interface."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out

    def __call__(self, ev: EngineEvent) -> None:
        if isinstance(ev, PrefillEvent):
            return
        self.out.write(json.dumps(ev.to_dict(), ensure_ascii=False) + "\n")
        self.out.flush()
