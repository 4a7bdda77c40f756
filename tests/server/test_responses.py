"""/v1/responses through a real ``hearth serve`` with the real ``openai`` client: items, the
streamed event sequence, previous_response_id, a function call round trip."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from tests.helpers.serve import call, reply

TOOLS = [
    {
        "type": "function",
        "name": "read_file",
        "description": "Read a file.",
        "parameters": {
            "type": "object",
            "properties": {"path": {"type": "string"}},
            "required": ["path"],
        },
    }
]


def respond(client: openai.OpenAI, script: Any, **kw: Any) -> Any:
    return client.responses.create(model="tiny-gpt-oss", extra_body={"hearth_script": script}, **kw)


def test_items_and_usage(client: openai.OpenAI) -> None:
    r = respond(client, reply("Bonjour.", analysis="French, then."), input="Say hello")
    assert r.status == "completed"
    assert [item.type for item in r.output] == ["reasoning", "message"]
    assert r.output[0].content[0].text == "French, then."
    assert r.output_text == "Bonjour."
    assert r.usage.output_tokens > 0 and r.usage.input_tokens > 0
    assert client.responses.retrieve(r.id).output_text == "Bonjour."


def test_previous_response_id_continues_the_conversation(client: openai.OpenAI) -> None:
    first = respond(
        client,
        reply("Hi!", analysis="Greet back."),
        input="Hello",
        instructions="Be brief.",
        reasoning={"effort": "low"},
    )
    second = respond(
        client,
        reply("You said hello."),
        input="What did I say?",
        previous_response_id=first.id,
        instructions="Be brief.",
        reasoning={"effort": "low"},
    )
    assert second.output_text == "You said hello."
    # The first exchange is in the second prompt (its reasoning dropped: a final answer came),
    # and the engine reused it: everything up to the first reply's answer was cached.
    assert second.usage.input_tokens > first.usage.input_tokens + 5
    assert second.usage.input_tokens_details.cached_tokens >= first.usage.input_tokens - 1
    with pytest.raises(openai.NotFoundError, match="not found"):
        respond(client, reply("x"), input="y", previous_response_id="resp_nope")


def test_streamed_events(client: openai.OpenAI) -> None:
    with client.responses.stream(
        model="tiny-gpt-oss",
        input="Hi",
        extra_body={"hearth_script": reply("Streamed answer.", analysis="Some thought.")},
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    assert "response.reasoning_text.delta" in kinds and "response.output_text.delta" in kinds
    assert (
        kinds.count("response.output_item.added") == kinds.count("response.output_item.done") == 2
    )
    assert final.output_text == "Streamed answer."
    assert final.usage is not None and final.usage.output_tokens > 0


def test_function_call_round_trip(client: openai.OpenAI) -> None:
    first = respond(
        client,
        call("read_file", '{"path":"README.md"}', analysis="Read it first."),
        input="What is in README.md?",
        tools=TOOLS,
    )
    calls = [item for item in first.output if item.type == "function_call"]
    assert [c.name for c in calls] == ["read_file"]
    assert json.loads(calls[0].arguments) == {"path": "README.md"}
    assert calls[0].call_id.startswith("call_")
    second = respond(
        client,
        reply("It is a README."),
        input=[{"type": "function_call_output", "call_id": calls[0].call_id, "output": "# Hi"}],
        previous_response_id=first.id,
        tools=TOOLS,
    )
    assert second.output_text == "It is a README."
    # The call and the reasoning before it came back exactly as generated: all cached.
    held = first.usage.input_tokens + first.usage.output_tokens - 1
    assert second.usage.input_tokens_details.cached_tokens == held


def test_streamed_function_call(client: openai.OpenAI) -> None:
    with client.responses.stream(
        model="tiny-gpt-oss",
        input="Read it",
        tools=TOOLS,
        extra_body={"hearth_script": call("read_file", '{"path":"a.txt"}')},
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert "response.function_call_arguments.delta" in kinds
    assert "response.function_call_arguments.done" in kinds
    (item,) = final.output
    assert item.type == "function_call" and json.loads(item.arguments) == {"path": "a.txt"}


def test_whole_history_without_previous_id(client: openai.OpenAI) -> None:
    """What Codex sends: every item each time, reasoning included."""
    items = [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]},
        {
            "type": "reasoning",
            "id": "rs_1",
            "summary": [],
            "content": [{"type": "reasoning_text", "text": "Look at a.txt."}],
        },
        {"type": "function_call", "call_id": "c1", "name": "read_file", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "contents"},
    ]
    r = respond(client, reply("Done."), input=items, tools=TOOLS, store=False)
    assert r.output_text == "Done."
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(r.id)  # store=False: not kept
