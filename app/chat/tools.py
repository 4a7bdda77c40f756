"""What a turn needs from the tools, and running one call for it.

The model ends a message with ``<|call|>``; the turn (``app.chat.turn``) hands the call to
``run_call``, which finds the tool, asks the user where the tool needs consent, runs it (Stop
kills the run) and returns the result. It never raises: a tool that is unknown, refused, broken
or slow is a result the model can read and react to.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from app.engine.events import ToolResultEvent
from app.harmony import PromptSettings
from app.tools.base import ToolCall, ToolContext, ToolResult, failure

MAX_CALLS = 20  # tool calls in one turn before the model is told to answer with what it has


class ToolHost(Protocol):
    """The tools of one chat (``app.tools`` builds it from the user's settings)."""

    def prompt(self, settings: PromptSettings) -> PromptSettings:
        """``settings`` with the tools declared (built-in namespaces, functions)."""
        ...

    def needs_consent(self, call: ToolCall) -> bool:
        """True when the user asked to be asked before each run of this tool."""
        ...

    def run(self, call: ToolCall, ctx: ToolContext) -> ToolResult:
        """Run the call (an unknown recipient is an ``unavailable`` result, not an error)."""
        ...


# Asks the user whether a call may run (the window shows the code with Run / Don't run; the
# terminal asks on its tty). Called on the turn's thread; it may block until the user answers.
ConsentAsker = Callable[[ToolCall], bool]


@dataclass
class TurnTools:
    """The tools a turn may use and how it asks for consent."""

    host: ToolHost
    work_dir: Callable[[int | None], Path]  # the chat's folder (/mnt/data for python)
    ask: ConsentAsker | None = None  # None: calls that need consent are refused
    max_calls: int = MAX_CALLS


def call_from_dict(call: dict[str, Any]) -> ToolCall:
    return ToolCall(
        recipient=str(call.get("name", "")),
        arguments=str(call.get("arguments", "")),
        constrain=call.get("constrain"),
        channel=call.get("channel"),
    )


def run_call(
    tools: TurnTools, call: ToolCall, ctx: ToolContext, *, calls_so_far: int
) -> ToolResult:
    if calls_so_far >= tools.max_calls:
        return failure(
            "refused",
            f"No more tool calls in this turn: the limit of {tools.max_calls} is reached. "
            "Answer the user with what you have.",
        )
    if tools.host.needs_consent(call):
        allowed = False
        if tools.ask is not None:
            try:
                allowed = tools.ask(call)
            except Exception:  # a consent prompt that broke is a "no", not a crash
                allowed = False
        if not allowed:
            return failure(
                "refused",
                "The user did not allow this tool run. Do not try it again; answer without it "
                "or say what you would need.",
            )
    if ctx.cancel.is_set():
        return failure("interrupted", "The user stopped the reply before the tool ran.")
    t0 = time.perf_counter()
    try:
        result = tools.host.run(call, ctx)
    except Exception as exc:  # a tool must not raise; if one does, the turn goes on
        result = failure(
            "error",
            f"The tool {call.recipient} failed inside Hearth: {exc}.",
            time.perf_counter() - t0,
        )
    return result


def result_event(call: ToolCall, result: ToolResult) -> ToolResultEvent:
    return ToolResultEvent(
        recipient=call.recipient,
        status=result.status,
        text=result.text,
        output=result.output,
        duration_s=result.duration_s,
        truncated=result.truncated,
        error=result.error,
        images=[f.to_dict() for f in result.images],
        files=[f.to_dict() for f in result.files],
    )
