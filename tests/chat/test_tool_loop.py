"""The tool loop of the one turn path, through the real engine host (tiny model, scripted replies)
into the real store: a call ends a segment, the tool runs, its result goes back into the prompt
and the model goes on in the same turn."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from app import chat
from app.engine.client import EngineClient
from app.engine.events import (
    ContentEvent,
    DoneEvent,
    EngineEvent,
    ReasoningEvent,
    ToolCallEvent,
    ToolResultEvent,
)
from app.engine.options import LoadOptions
from app.engine.protocol import GenerateRequest
from app.harmony import Message, PromptSettings
from app.harmony.model import Tool as HarmonyTool
from app.store import Store
from app.tools.base import ToolCall, ToolResult, failure
from tests.helpers.engine import script_hook, start_client

CALL = (
    "<|channel|>analysis<|message|>I should add {a} and {b}.<|end|>"
    "<|start|>assistant to=functions.add<|channel|>commentary <|constrain|>json<|message|>"
    '{{"a": {a}, "b": {b}}}<|call|>'
)
ANSWER = (
    "<|channel|>analysis<|message|>The tool said {n}.<|end|>"
    "<|start|>assistant<|channel|>final<|message|>The sum is {n}.<|return|>"
)


class AddTools:
    """A real (small) function tool: ``functions.add`` adds two numbers."""

    def __init__(self, mode: str = "auto", block: bool = False) -> None:
        self.mode = mode
        self.block = block  # wait for Stop, as a long-running tool would
        self.started = threading.Event()
        self.runs: list[ToolCall] = []

    def apply(self, prompt: PromptSettings) -> PromptSettings:
        schema = {
            "type": "object",
            "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
            "required": ["a", "b"],
        }
        return replace(prompt, tools=[*prompt.tools, HarmonyTool("add", "Add a and b.", schema)])

    def run(
        self,
        call: ToolCall,
        ask: chat.ConsentAsker | None = None,
        cancel: threading.Event | None = None,
    ) -> ToolResult:
        if self.mode == "ask" and not (ask is not None and ask(call, "functions.add")):
            return failure("refused", "The user declined to run this call.")
        self.runs.append(call)
        self.started.set()
        if self.block:
            assert cancel is not None
            cancel.wait(30)
            return failure("interrupted", "Stopped by the user.")
        if call.arguments == "boom":
            raise RuntimeError("the tool broke")
        args = json.loads(call.arguments)
        total = args["a"] + args["b"]
        return ToolResult(text=str(total), output=f"{args['a']} + {args['b']} = {total}")


@pytest.fixture(scope="module")
def engine(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineClient]:
    home = tmp_path_factory.mktemp("loop-engine-home")
    client = start_client(home)
    client.load(LoadOptions(model_path=str(tiny_model), n_ctx=4096, n_threads=1))
    yield client
    client.close()


def test_a_call_runs_the_tool_and_the_model_answers_in_the_same_turn(
    store: Store, engine: EngineClient
) -> None:
    c = store.create_conversation()
    tools = AddTools()
    seen: list[EngineEvent] = []
    stats: list[tuple[int, int, int]] = []
    hook = script_hook(CALL.format(a=2, b=3), ANSWER.format(n=5))

    def on_event(ev: EngineEvent) -> None:
        seen.append(ev)
        if isinstance(ev, DoneEvent):
            s = ev.stats
            stats.append((s.prompt_tokens, s.cached_tokens, s.generated_tokens))

    turn = chat.prepare_turn(store, c.id, "What is 2 + 3?")
    out = chat.stream_turn(
        store, engine, turn, on_event=on_event, tools=chat.TurnTools(tools), before_send=hook
    )
    assert out.status == "done" and out.ok
    assert out.content == "The sum is 5."
    assert [r.text for r in out.tool_results] == ["5"]
    kinds = [type(e).__name__ for e in seen if not isinstance(e, ContentEvent | ReasoningEvent)]
    assert kinds == ["ToolCallEvent", "DoneEvent", "ToolResultEvent", "DoneEvent"]
    call = next(e for e in seen if isinstance(e, ToolCallEvent))
    assert call.recipient == "functions.add" and json.loads(call.arguments) == {"a": 2, "b": 3}
    result = next(e for e in seen if isinstance(e, ToolResultEvent))
    assert result.status == "ok" and result.output == "2 + 3 = 5"

    # Every step is a row of the tree, in order.
    path = store.active_path(c.id)
    assert [m.role for m in path] == ["user", "assistant", "tool", "assistant"]
    first, tool_row, last = path[1], path[2], path[3]
    assert first.tool_calls and first.tool_calls[0]["name"] == "functions.add"
    assert first.reasoning == "I should add 2 and 3." and first.status == "done"
    assert tool_row.name == "functions.add" and tool_row.content == "5"
    assert tool_row.tool_result is not None and tool_row.tool_result["output"] == "2 + 3 = 5"
    assert last.content == "The sum is 5." and last.status == "done"
    assert out.assistant_message_id == first.id  # what regenerate targets: the whole reply

    # The continuation's prompt holds the turn's analysis, the call and the result, and the
    # engine evaluated only what was added: the first segment's prompt and reply were cached
    # (all but its last token, <|call|>, which ends the loop before it is evaluated).
    second = hook.sent[1]  # type: ignore[attr-defined]
    assert [m.channel for m in second.messages[-3:]] == ["analysis", "commentary", "commentary"]
    assert second.messages[-1] == Message(
        "tool", "5", channel="commentary", recipient="assistant", name="functions.add"
    )
    (p1, _c1, g1), (p2, c2, _g2) = stats
    assert c2 == p1 + g1 - 1 and p2 > c2

    # The next turn sees the finished turn as Harmony does: its analysis dropped.
    history = chat.harmony_history(store.active_path(c.id))
    assert [(m.role, m.channel) for m in history] == [
        ("user", None),
        ("assistant", "analysis"),
        ("assistant", "commentary"),
        ("tool", "commentary"),
        ("assistant", "analysis"),
        ("assistant", "final"),
    ]


def test_a_refused_call_tells_the_model_and_the_turn_goes_on(
    store: Store, engine: EngineClient
) -> None:
    c = store.create_conversation()
    tools = AddTools(mode="ask")
    asked: list[str] = []

    def ask(call: ToolCall, key: str) -> bool:
        asked.append(key)
        return False

    hook = script_hook(CALL.format(a=1, b=1), ANSWER.format(n="unknown"))
    turn = chat.prepare_turn(store, c.id, "1 + 1?")
    out = chat.stream_turn(
        store, engine, turn, tools=chat.TurnTools(tools, ask=ask), before_send=hook
    )
    assert asked == ["functions.add"] and tools.runs == []
    assert out.status == "done" and out.tool_results[0].status == "refused"
    tool_row = store.active_path(c.id)[2]
    assert tool_row.tool_result is not None and tool_row.tool_result["status"] == "refused"
    assert "declined" in hook.sent[1].messages[-1].content  # type: ignore[attr-defined]


def test_stop_during_a_tool_run_ends_the_turn_with_what_exists(
    store: Store, engine: EngineClient
) -> None:
    c = store.create_conversation()
    tools = AddTools(block=True)
    control = chat.TurnControl()
    hook = script_hook(CALL.format(a=4, b=4), ANSWER.format(n=8))
    turn = chat.prepare_turn(store, c.id, "4 + 4?")
    stopper = threading.Thread(target=lambda: tools.started.wait(30) and control.stop())
    stopper.start()
    out = chat.stream_turn(
        store, engine, turn, control=control, tools=chat.TurnTools(tools), before_send=hook
    )
    stopper.join()
    assert out.status == "cancelled"
    assert len(hook.sent) == 1  # type: ignore[attr-defined]  # no continuation after Stop
    path = store.active_path(c.id)
    assert [m.role for m in path] == ["user", "assistant", "tool"]
    assert path[2].status == "cancelled"
    assert path[2].tool_result is not None and path[2].tool_result["status"] == "interrupted"


def test_the_call_limit_ends_a_turn_that_keeps_calling(store: Store, engine: EngineClient) -> None:
    c = store.create_conversation()
    tools = AddTools()
    hook = script_hook(*[CALL.format(a=i, b=1) for i in range(5)])
    turn = chat.prepare_turn(store, c.id, "Count.")
    out = chat.stream_turn(
        store, engine, turn, tools=chat.TurnTools(tools, max_calls=2), before_send=hook
    )
    # Two runs, then a refusal the model reads, then it called again: the turn ends there.
    assert len(tools.runs) == 2
    assert [r.status for r in out.tool_results] == ["ok", "ok", "refused"]
    assert "limit of 2" in out.tool_results[2].text
    assert out.note and "limit of 2" in out.note
    assert out.status == "done"


def test_a_tool_that_raises_is_a_result_not_a_crash(engine: EngineClient) -> None:
    tools = AddTools()
    broken = CALL.format(a=0, b=0).replace('{"a": 0, "b": 0}', "boom")
    hook = script_hook(broken, ANSWER.format(n="?"))
    request = GenerateRequest(messages=[Message("user", "break it")])
    out = chat.run_unsaved(engine, request, tools=chat.TurnTools(tools), before_send=hook)
    assert out.status == "done" and out.content == "The sum is ?."
    assert out.tool_results[0].status == "error"
    assert "the tool broke" in out.tool_results[0].text
