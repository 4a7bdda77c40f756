"""``hearth harmony render`` and ``hearth harmony parse`` as subprocesses, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.harmony import Message, PromptSettings, Tool, render_prompt
from app.harmony.jsonio import conversation_from_json

ROOT = Path(__file__).parents[2]
GOLDEN = Path(__file__).parent / "data" / "test_render_functions_with_parameters.txt"


def hearth(*args: str, stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "app", "harmony", *args],
        input=stdin,
        capture_output=True,
        cwd=ROOT,
        timeout=60,
    )


def test_render_prints_the_exact_prompt_for_a_full_conversation() -> None:
    # One subprocess covers the whole object form: effort, instructions, tools, date, and the
    # harmony golden text it must reproduce (no newline added).
    from tests.harmony.test_render_golden import KITCHENSINK, WEATHER_TOOLS

    tools = [
        {"name": t.name, "description": t.description, "parameters": t.parameters}
        if t.parameters
        else {"name": t.name, "description": t.description}
        for t in [*WEATHER_TOOLS, KITCHENSINK]
    ]
    conversation = {
        "messages": [{"role": "user", "content": "What is the weather like in SF?"}],
        "effort": "high",
        "instructions": "Always respond in riddles",
        "tools": tools,
        "current_date": "2025-06-28",
    }
    result = hearth("render", stdin=json.dumps(conversation).encode())
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode("utf-8") == GOLDEN.read_text(encoding="utf-8").rstrip()
    assert result.stderr == b""


def test_render_a_list_of_messages_with_tool_call_and_non_ascii() -> None:
    messages = [
        {"role": "user", "content": "Météo à Paris ?"},
        {"role": "assistant", "channel": "analysis", "content": "Appeler l'outil."},
        {
            "role": "assistant",
            "recipient": "functions.weather",
            "content_type": "json",
            "content": '{"city": "Paris"}',
        },
        {"role": "tool", "name": "functions.weather", "content": '{"t": "12 °C"}'},
    ]
    result = hearth("render", stdin=json.dumps(messages, ensure_ascii=False).encode("utf-8"))
    assert result.returncode == 0, result.stderr
    expected = render_prompt([Message.from_dict(m) for m in messages], PromptSettings())
    assert result.stdout.decode("utf-8") == expected
    assert expected.endswith(
        '<|start|>functions.weather to=assistant<|channel|>commentary<|message|>{"t": "12 °C"}'
        "<|end|><|start|>assistant"
    )


def test_render_without_generation_prompt() -> None:
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    result = hearth("render", "--no-generation-prompt", stdin=json.dumps(messages).encode())
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith(b"<|start|>assistant<|channel|>final<|message|>hello<|end|>")


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        (b"", "No input: pipe a conversation as JSON"),
        (b"[{", "Input is not valid JSON (line 1, column 3"),
        (b"\xff\xfe", "Input is not UTF-8 text"),
    ],
)
def test_render_refuses_unreadable_input(stdin: bytes, message: str) -> None:
    result = hearth("render", stdin=stdin)
    assert result.returncode == 2
    assert result.stdout == b""
    err = result.stderr.decode()
    assert err.count("\n") == 1 and message in err, err


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("42", 'Expected a list of messages or an object with "messages", got a number'),
        ('{"mesages": []}', "Unknown field 'mesages' in the conversation: use messages"),
        ('{"messages": {}}', '"messages" must be a list, got an object'),
        ('["hi"]', "messages[0] must be an object with role and content, got a string"),
        ('[{"role": "bot", "content": "x"}]', "messages[0].role must be one of user"),
        ('[{"role": "user"}]', 'messages[0] has no "content"'),
        ('[{"role": "user", "content": 3}]', "messages[0].content must be a string"),
        ('[{"role": "user", "content": "", "to": "x"}]', "Unknown field 'to' in messages[0]"),
        ('[{"role": "tool", "content": "3"}]', 'tool result without "name"'),
        ('{"effort": "max"}', '"effort" must be one of low, medium, high'),
        ('{"instructions": ["a"]}', '"instructions" must be a string, got a list'),
        ('{"current_date": "28/06/2025"}', '"current_date" must be a date as YYYY-MM-DD'),
        ('{"current_date": "2025-02-30"}', '"current_date" must be a date as YYYY-MM-DD'),
        ('{"tools": {}}', '"tools" must be a list'),
        ('{"tools": [{"name": "get weather"}]}', "tools[0].name must be an identifier"),
        ('{"tools": [{"name": "f", "parameters": []}]}', "tools[0].parameters must be a JSON"),
        ('{"tools": [{"name": "f"}, {"name": "f"}]}', "Tool 'f' is declared twice"),
    ],
)
def test_bad_fields_are_named_in_one_line(data: str, message: str) -> None:
    # The validation behind `render`, in-process for speed; the exit code is checked below.
    with pytest.raises(ValueError) as info:
        conversation_from_json(json.loads(data))
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_render_bad_field_exits_2_with_the_message() -> None:
    result = hearth("render", stdin=b'{"messages": [{"role": "bot", "content": "x"}]}')
    assert result.returncode == 2
    assert result.stderr.decode().strip() == (
        "hearth harmony: messages[0].role must be one of user, assistant, tool, system, "
        "developer (got 'bot')."
    )


def test_parse_prints_events_as_json_lines() -> None:
    reply = (
        "<|channel|>analysis<|message|>Need the tool.<|end|>"
        "<|start|>assistant<|channel|>commentary to=functions.weather <|constrain|>json"
        '<|message|>{"city": "Zürich"}<|call|>'
    )
    result = hearth("parse", stdin=reply.encode("utf-8"))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]
    assert lines == [
        {"type": "reasoning", "text": "Need the tool."},
        {
            "type": "tool_call",
            "recipient": "functions.weather",
            "arguments": '{"city": "Zürich"}',
            "constrain": "json",
            "channel": "commentary",
            "recipient_first": False,  # written after the channel, as in the input
        },
        {"type": "end", "reason": "call"},
    ]


def test_render_tools_match_the_library() -> None:
    tool = Tool("f", "Do f.", {"type": "object", "properties": {"x": {"type": "number"}}})
    settings = PromptSettings(tools=[tool])
    payload = {"messages": [], "tools": [vars(tool)]}
    result = hearth("render", stdin=json.dumps(payload).encode())
    assert result.stdout.decode() == render_prompt([], settings)
