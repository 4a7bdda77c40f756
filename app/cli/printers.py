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
    ToolResultEvent,
    TrimmedEvent,
)

DIM, RESET = "\x1b[2m", "\x1b[0m"
TOOL_LINES = 20  # of a tool's output shown in the terminal


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
        elif isinstance(ev, ToolResultEvent):
            self._tool_result(ev)
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
                    f"{s.ttft_s:.2f} s"
                )
                if s.context_size:  # (a server may not say its context size)
                    line += f" · context {s.context_used:,}/{s.context_size:,}"
                if s.stop_reason not in ("return", "call"):
                    line += f" · stopped: {s.stop_reason.replace('_', ' ')}"
                self.err.write(f"{DIM}{line}{RESET}\n")
        elif isinstance(ev, ErrorEvent):
            self._end_reasoning()
            self.err.write(f"hearth chat: {ev.message}\n")
        self.err.flush()

    def _tool_result(self, ev: ToolResultEvent) -> None:
        """What the tool printed (the first lines: the whole output is in the chat), on stderr
        like the reasoning: stdout keeps the answer."""
        head = f"[{ev.recipient} · {ev.status} · {ev.duration_s:.1f} s]"
        lines = (ev.error if ev.status != "ok" and ev.error else ev.output).splitlines()
        shown = lines[:TOOL_LINES]
        if len(lines) > TOOL_LINES:
            shown.append(f"… {len(lines) - TOOL_LINES} more lines")
        files = [f.get("name") or f.get("path", "") for f in [*ev.images, *ev.files]]
        if files:
            shown.append("files: " + ", ".join(str(f) for f in files))
        body = "\n".join(shown)
        text = f"{head}\n{body}\n" if body else f"{head}\n"
        self.err.write(f"{DIM}{text}{RESET}" if self.dim else text)


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
