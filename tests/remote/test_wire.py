"""Harmony history -> the OpenAI request a remote server gets (app.remote.wire)."""

from __future__ import annotations

from app.engine.options import SamplingOptions
from app.engine.protocol import GenerateRequest
from app.harmony import Message, PromptSettings, Tool
from app.remote.wire import chat_body, chat_messages, function_name


def call(name: str, args: str) -> Message:
    return Message(
        "assistant", args, channel="commentary", recipient=f"functions.{name}", content_type="json"
    )


def result(name: str, text: str) -> Message:
    return Message(
        "tool", text, channel="commentary", recipient="assistant", name=f"functions.{name}"
    )


def test_body_carries_effort_sampling_tools_and_asks_for_usage() -> None:
    request = GenerateRequest(
        messages=[Message("user", "Hi")],
        settings=PromptSettings(
            effort="high",
            instructions="Answer in French.",
            tools=[Tool("get_weather", "Weather of a city", {"type": "object"})],
        ),
        sampling=SamplingOptions(temperature=0.5, top_p=0.9, top_k=50, max_tokens=99, seed=7),
    )
    body = chat_body(request, "gpt-oss-120b", extra={"chat_template_kwargs": {"x": 1}})
    assert body["model"] == "gpt-oss-120b"
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["reasoning_effort"] == "high"
    assert (body["temperature"], body["top_p"], body["top_k"]) == (0.5, 0.9, 50)
    assert (body["max_tokens"], body["seed"]) == (99, 7)
    assert body["messages"][0] == {"role": "system", "content": "Answer in French."}
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather of a city",
                "parameters": {"type": "object"},
            },
        }
    ]
    assert body["chat_template_kwargs"] == {"x": 1}
    off = chat_body(
        GenerateRequest([Message("user", "Hi")], sampling=SamplingOptions(top_k=0)), "m"
    )
    assert "top_k" not in off and "seed" not in off and "tools" not in off


def test_finished_turns_drop_their_reasoning_and_answers_stay() -> None:
    history = [
        Message("user", "2+2?"),
        Message("assistant", "Simple sum.", channel="analysis"),
        Message("assistant", "4", channel="final"),
        Message("user", "and 3+3?"),
    ]
    msgs = chat_messages(history, reasoning_field="reasoning_content")
    assert msgs == [
        {"role": "user", "content": "2+2?"},
        {"role": "assistant", "content": "4"},
        {"role": "user", "content": "and 3+3?"},
    ]


def test_tool_calls_get_ids_their_results_answer_them_and_reasoning_goes_back_mid_turn() -> None:
    history = [
        Message("user", "Weather in Paris and Rome?"),
        Message("assistant", "Need two lookups.", channel="analysis"),
        Message("assistant", "Checking.", channel="commentary"),
        call("get_weather", '{"city":"Paris"}'),
        call("get_weather", '{"city":"Rome"}'),
        result("get_weather", '{"sky":"sunny"}'),
        result("get_weather", '{"sky":"rain"}'),
    ]
    msgs = chat_messages(history, reasoning_field="reasoning")
    assert msgs[1] == {
        "role": "assistant",
        "content": "Checking.",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
            },
            {
                "id": "call_2",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'},
            },
        ],
        "reasoning": "Need two lookups.",  # the turn is still going: Harmony keeps it
    }
    assert msgs[2] == {"role": "tool", "tool_call_id": "call_1", "content": '{"sky":"sunny"}'}
    assert msgs[3] == {"role": "tool", "tool_call_id": "call_2", "content": '{"sky":"rain"}'}
    # A server whose reasoning field is unknown gets none back; the same history gives the same
    # ids (a server's prefix cache keeps matching).
    again = chat_messages(history)
    assert "reasoning" not in again[1] and "reasoning_content" not in again[1]
    assert [m.get("tool_call_id") for m in again] == [m.get("tool_call_id") for m in msgs]


def test_results_answer_the_call_of_their_own_tool_and_orphans_become_text() -> None:
    history = [
        Message("user", "x"),
        call("a", "{}"),
        call("b", "{}"),
        result("b", "B"),
        result("a", "A"),
        Message("assistant", "done", channel="final"),
        Message("user", "y"),
        result("c", "stray"),
    ]
    msgs = chat_messages(history)
    assert msgs[2] == {"role": "tool", "tool_call_id": "call_2", "content": "B"}
    assert msgs[3] == {"role": "tool", "tool_call_id": "call_1", "content": "A"}
    assert msgs[-1] == {"role": "user", "content": "[c result]\nstray"}


def test_names_the_openai_schema_accepts() -> None:
    assert function_name("functions.get_weather") == "get_weather"
    assert function_name("browser.search") == "browser_search"
    assert function_name("python") == "python"
    assert function_name("") == "tool"


def test_builtin_tools_are_declared_as_functions_and_their_calls_go_back() -> None:
    from app.harmony import browser_namespace, python_namespace
    from app.remote.wire import builtin_calls

    settings = PromptSettings(builtin_tools=[python_namespace(), browser_namespace()])
    body = chat_body(GenerateRequest([Message("user", "2+2?")], settings=settings), "m")
    functions = {t["function"]["name"]: t["function"] for t in body["tools"]}
    assert set(functions) == {"python", "browser_search", "browser_open", "browser_find"}
    assert functions["python"]["parameters"]["required"] == ["code"]
    assert "stateful Jupyter notebook" in functions["python"]["description"]
    assert builtin_calls(settings.builtin_tools)["python"] == ("python", True)
    assert builtin_calls(settings.builtin_tools)["browser_search"] == ("browser.search", False)
    # A python call the model made (bare code) goes back as the function's JSON arguments.
    history = [
        Message("user", "2+2?"),
        Message(
            "assistant", "print(2+2)", channel="analysis", recipient="python", content_type="code"
        ),
        Message("tool", "4", channel="analysis", recipient="assistant", name="python"),
    ]
    msgs = chat_messages(history)
    assert msgs[1]["tool_calls"][0]["function"] == {
        "name": "python",
        "arguments": '{"code": "print(2+2)"}',
    }
    assert msgs[2] == {"role": "tool", "tool_call_id": "call_1", "content": "4"}
