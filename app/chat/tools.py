"""What a turn needs from the tools, and running one call for it.

The model ends a message with ``<|call|>``; the turn (``app.chat.turn``) hands the call to
``run_call``, which keeps to the turn's call limit and has the chat's tools run it (they find the
tool, ask the user where the tool needs consent, and kill the run on Stop). It never raises: a
tool that is unknown, refused, broken or slow is a result the model can read and react to.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from app.engine.events import ToolResultEvent
from app.harmony import PromptSettings
from app.library.browser_tool import BrowserTool
from app.tools.base import ToolCall, ToolResult, failure

MAX_CALLS = 20  # tool calls in one turn before the model is told to answer with what it has


class ToolHost(Protocol):
    """The tools of one chat (``app.tools.toolbox.Toolbox`` builds it from the user's settings)."""

    def apply(self, prompt: PromptSettings) -> PromptSettings:
        """``prompt`` with the tools declared (built-in namespaces, functions)."""
        ...

    def run(
        self,
        call: ToolCall,
        ask: ConsentAsker | None = None,
        cancel: threading.Event | None = None,
    ) -> ToolResult:
        """Run the call under the chat's consent policy (``ask`` is called when the tool's mode
        is "ask"); an unknown, refused or failed call is a result, never an exception."""
        ...


# Asks the user whether a call may run (the window shows the code with Run / Don't run; the
# terminal asks on its tty), given the call and the tool's settings key. Called on the turn's
# thread; it may block until the user answers.
ConsentAsker = Callable[[ToolCall, str], bool]


@dataclass
class TurnTools:
    """The tools a turn may use and how it asks for consent."""

    host: ToolHost
    ask: ConsentAsker | None = None  # None: calls that need consent are refused
    max_calls: int = MAX_CALLS


def chat_tools(
    conversation_id: int | None,
    cancel: threading.Event,
    ask: ConsentAsker | None,
    browser: BrowserTool | None = None,
) -> tuple[TurnTools | None, dict[str, str]]:
    """The tools this chat has turned on (None when none is: the model is then told of none),
    and why any that is on cannot be offered. Starting MCP servers may take a moment: call it
    off the GUI thread. ``browser``: the chat's documents (``app.chat.documents.chat_browser``),
    offered whatever the tools' settings say. A tool folder that cannot be made (a read-only
    data folder) leaves the chat without tools, never without replies."""
    from app.tools.toolbox import Toolbox

    try:
        box = Toolbox.for_chat(conversation_id, cancel=cancel, browser=browser)
    except OSError as exc:
        return None, {"tools": f"the chat's folder for tools cannot be created ({exc.strerror})"}
    return (None if box.empty else TurnTools(box, ask=ask)), dict(box.problems)


def call_from_dict(call: dict[str, Any]) -> ToolCall:
    return ToolCall(
        recipient=str(call.get("name", "")),
        arguments=str(call.get("arguments", "")),
        constrain=call.get("constrain"),
        channel=call.get("channel"),
    )


def run_call(
    tools: TurnTools, call: ToolCall, cancel: threading.Event, *, calls_so_far: int
) -> ToolResult:
    if calls_so_far >= tools.max_calls:
        return failure(
            "refused",
            f"No more tool calls in this turn: the limit of {tools.max_calls} is reached. "
            "Answer the user with what you have.",
        )
    if cancel.is_set():
        return failure("interrupted", "The user stopped the reply before the tool ran.")
    t0 = time.perf_counter()
    try:
        return tools.host.run(call, tools.ask, cancel)
    except Exception as exc:  # a tool must not raise; if one does, the turn goes on
        return failure(
            "error",
            f"The tool {call.recipient} failed inside Hearth: {exc}.",
            time.perf_counter() - t0,
        )


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
