"""render_prompt beyond harmony's golden files: schema corners (expected text derived by hand
from harmony's ``json_schema_to_typescript``), history rules, and a cross-check against the
official gpt-oss chat template (tests/helpers/gpt-oss.jinja) rendered with jinja2 as
llama-cpp-python and transformers render it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jinja2
import jinja2.ext
import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment

from app.harmony import EFFORTS, Message, PromptSettings, Tool, render_prompt
from app.harmony.render import render_message, schema_to_typescript, tools_section

TEMPLATE = Path(__file__).parents[1] / "helpers" / "gpt-oss.jinja"
DATE = "2025-06-28"


def tool_lines(tool: Tool) -> str:
    """The ``type NAME = ...;`` block of one tool inside the namespace."""
    section = tools_section([tool])
    return section.split("namespace functions {\n\n", 1)[1].rsplit("\n} // namespace", 1)[0]


SEARCH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "query": {"type": "string", "description": "What to search for"},
        "filters": {
            "type": "object",
            "description": "Narrow the search",
            "properties": {
                "year": {"type": "integer", "default": 2024},
                "tags": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["year"],
        },
        "limit": {"type": "integer", "default": 10},
        "exact": {"type": "boolean", "default": False},
        "sort": {"type": "string", "enum": ["new", "old"], "default": "new"},
        "mode": {"type": ["string", "null"]},
        "points": {
            "type": "array",
            "items": {"type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"]},
        },
        "lang": {"type": "string", "default": "en", "nullable": True},
        "anything": {},
    },
    "required": ["query"],
}


def test_nested_objects_enums_defaults_and_optional_markers() -> None:
    # harmony indents nested properties by four spaces, repeats an object's description both
    # above the property and before its "{", and closes with the nested indent: kept verbatim,
    # since that is the text gpt-oss was trained on.
    assert tool_lines(Tool("search", "Search the notes.", SEARCH_SCHEMA)) == (
        "// Search the notes.\n"
        "type search = (_: {\n"
        "// What to search for\n"
        "query: string,\n"
        "// Narrow the search\n"
        "filters?:     // Narrow the search\n"
        "{\n"
        "    year: number, // default: 2024\n"
        "    tags?: string[],\n"
        "    },\n"
        "limit?: number, // default: 10\n"
        "exact?: boolean, // default: false\n"
        'sort?: "new" | "old", // default: new\n'
        "mode?: string | null,\n"
        "points?: {\n"
        "    x: number,\n"
        "    }[],\n"
        'lang?: string | null, // default: "en"\n'
        "anything?: any,\n"
        "}) => any;\n"
    )


def test_tool_without_description_or_parameters() -> None:
    assert tool_lines(Tool("ping")) == "type ping = () => any;\n"


def test_multiline_description_becomes_comment_lines() -> None:
    assert tool_lines(Tool("ping", "First line.\nSecond line.\n")) == (
        "// First line.\n// Second line.\ntype ping = () => any;\n"
    )


def test_object_without_properties_and_untyped_array() -> None:
    assert schema_to_typescript({"type": "object"}) == "{\n}"
    assert schema_to_typescript({"type": "array"}) == "Array<any>"
    assert schema_to_typescript({"type": "array", "items": {"type": "integer"}}) == "number[]"
    assert schema_to_typescript({"enum": ["a"]}) == "any"
    assert schema_to_typescript("not a schema") == "any"


def test_top_level_one_of() -> None:
    schema = {"oneOf": [{"type": "string", "enum": ["x"], "default": "x"}, {"type": "number"}]}
    # At the top level harmony prints an enum string default through serde's Display (quoted).
    assert schema_to_typescript(schema) == '\n | "x" // default: "x"\n | number'


def test_non_ascii_and_structured_defaults_are_compact_json() -> None:
    schema = {
        "type": "object",
        "properties": {
            "unit": {"type": "string", "default": "°C"},
            "box": {"type": "array", "items": {"type": "number"}, "default": [1, 2.5]},
            "opts": {"type": "object", "default": {"a": "é"}},
        },
    }
    assert schema_to_typescript(schema) == (
        '{\nunit?: string, // default: "°C"\n'
        "box?: number[], // default: [1,2.5]\n"
        'opts?: {\n    }, // default: {"a":"é"}\n}'
    )


def test_tools_add_the_functions_line_to_the_system_message() -> None:
    out = render_prompt([Message("user", "hi")], PromptSettings(tools=[Tool("ping")]))
    assert (
        "Channel must be included for every message.\n"
        "Calls to these tools must go to the commentary channel: 'functions'.<|end|>"
        "<|start|>developer<|message|># Tools\n\n## functions\n\nnamespace functions {\n\n"
        "type ping = () => any;\n\n} // namespace functions<|end|>"
    ) in out


def test_system_and_developer_messages_fold_into_instructions() -> None:
    messages = [Message("system", "Be brief."), Message("user", "hi")]
    out = render_prompt(messages, PromptSettings(instructions="Speak French."))
    assert "<|start|>developer<|message|># Instructions\n\nSpeak French.\n\nBe brief.<|end|>" in out
    assert out.count("<|start|>system") == 1


def test_blank_instructions_add_no_developer_message() -> None:
    out = render_prompt([Message("user", "hi")], PromptSettings(instructions="  \n"))
    assert "developer" not in out


def test_unknown_effort_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="low, medium, high"):
        render_prompt([], PromptSettings(effort="max"))  # type: ignore[arg-type]


def test_tool_result_name_gets_the_functions_namespace() -> None:
    out = render_prompt([Message("tool", "42", name="answer")], PromptSettings())
    assert out.endswith(
        "<|start|>functions.answer to=assistant<|channel|>commentary<|message|>42<|end|>"
        "<|start|>assistant"
    )


def test_preamble_and_tool_calls_of_finished_turns_stay() -> None:
    messages = [
        Message("user", "Weather?"),
        Message("assistant", "Thinking.", channel="analysis"),
        Message("assistant", "Let me check.", channel="commentary"),
        Message("assistant", '{"city":"Oslo"}', recipient="functions.weather"),
        Message("tool", '{"t":3}', name="functions.weather"),
        Message("assistant", "Still thinking.", channel="analysis"),
        Message("assistant", "3 degrees.", channel="final"),
        Message("user", "Thanks"),
    ]
    out = render_prompt(messages, PromptSettings())
    assert "Thinking." not in out and "Still thinking." not in out
    assert out.endswith(
        "<|start|>user<|message|>Weather?<|end|>"
        "<|start|>assistant<|channel|>commentary<|message|>Let me check.<|end|>"
        "<|start|>assistant to=functions.weather<|channel|>commentary <|constrain|>json"
        '<|message|>{"city":"Oslo"}<|call|>'
        '<|start|>functions.weather to=assistant<|channel|>commentary<|message|>{"t":3}<|end|>'
        "<|start|>assistant<|channel|>final<|message|>3 degrees.<|end|>"
        "<|start|>user<|message|>Thanks<|end|><|start|>assistant"
    )


def test_second_tool_call_in_the_same_turn_keeps_all_its_analysis() -> None:
    messages = [
        Message("user", "Q"),
        Message("assistant", "plan A", channel="analysis"),
        Message("assistant", "{}", recipient="functions.a"),
        Message("tool", "ra", name="functions.a"),
        Message("assistant", "plan B", channel="analysis"),
        Message("assistant", "{}", recipient="functions.b"),
        Message("tool", "rb", name="functions.b"),
    ]
    out = render_prompt(messages, PromptSettings())
    assert "plan A" in out and "plan B" in out


# ---- cross-check with the official chat template ------------------------------------------


def render_template(
    messages: list[dict[str, Any]],
    *,
    effort: str = "medium",
    tools: list[Tool] | None = None,
    add_generation_prompt: bool = True,
) -> str:
    env = ImmutableSandboxedEnvironment(
        loader=jinja2.BaseLoader(),
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=[jinja2.ext.loopcontrols],
    )
    env.filters["tojson"] = lambda x, **_: json.dumps(x, ensure_ascii=False)
    template = env.from_string(TEMPLATE.read_text(encoding="utf-8"))

    def raise_exception(message: str) -> None:
        raise ValueError(message)

    return template.render(
        messages=messages,
        tools=[{"type": "function", "function": vars(t)} for t in tools or []] or None,
        reasoning_effort=effort,
        add_generation_prompt=add_generation_prompt,
        strftime_now=lambda fmt: DATE,
        raise_exception=raise_exception,
    )


@pytest.mark.parametrize("effort", EFFORTS)
def test_template_agrees_on_a_multi_turn_chat(effort: str) -> None:
    history = [
        ("What is 2 + 2?", "User asks for a sum.", "4"),
        ("And 3 + 5?", "Another sum.", "8"),
    ]
    ours: list[Message] = []
    theirs: list[dict[str, Any]] = [{"role": "developer", "content": "Be terse."}]
    for question, thinking, answer in history:
        ours += [
            Message("user", question),
            Message("assistant", thinking, channel="analysis"),
            Message("assistant", answer, channel="final"),
        ]
        theirs += [
            {"role": "user", "content": question},
            {"role": "assistant", "thinking": thinking, "content": answer},
        ]
    ours.append(Message("user", "Thanks!"))
    theirs.append({"role": "user", "content": "Thanks!"})
    settings = PromptSettings(effort=effort, instructions="Be terse.", current_date=DATE)  # type: ignore[arg-type]
    # Without tools the template still ends the instructions with a blank line
    # ("Be terse.\n\n<|end|>"); harmony's golden files (test_simple_convo_*_effort) end them
    # with "Be terse.<|end|>", and Hearth follows harmony.
    theirs_text = render_template(theirs, effort=effort).replace(
        "Be terse.\n\n<|end|>", "Be terse.<|end|>"
    )
    assert render_prompt(ours, settings) == theirs_text


SIMPLE_TOOLS = [
    Tool(
        "get_current_weather",
        "Gets the current weather in the provided location.",
        {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "The city and state"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "description": "How many days"},
                "hourly": {"type": "boolean"},
                "fields": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["location", "unit"],
        },
    ),
    Tool("get_location", "Gets the location of the user."),
]


def test_template_agrees_on_function_tools() -> None:
    # The template and harmony agree on flat parameters with descriptions, enums and optional
    # markers. They differ on defaults (the template adds a stray "," after "// default: x"),
    # nested objects (the template writes them on one line), and a tool without a description
    # (the template prints an empty "// " line): there Hearth follows harmony.
    settings = PromptSettings(tools=SIMPLE_TOOLS, current_date=DATE)
    ours = render_prompt([Message("user", "Weather in Oslo?")], settings)
    theirs = render_template([{"role": "user", "content": "Weather in Oslo?"}], tools=SIMPLE_TOOLS)
    assert ours == theirs


def test_template_agrees_on_a_tool_call_in_progress_up_to_two_known_differences() -> None:
    args = {"location": "Oslo", "unit": "celsius"}
    ours = render_prompt(
        [
            Message("user", "Weather in Oslo?"),
            Message("assistant", "Need the weather tool.", channel="analysis"),
            Message("assistant", json.dumps(args), recipient="functions.get_current_weather"),
            Message("tool", "sunny", name="functions.get_current_weather"),
        ],
        PromptSettings(tools=SIMPLE_TOOLS, current_date=DATE),
    )
    theirs = render_template(
        [
            {"role": "user", "content": "Weather in Oslo?"},
            {
                "role": "assistant",
                "thinking": "Need the weather tool.",
                "tool_calls": [{"function": {"name": "get_current_weather", "arguments": args}}],
            },
            {"role": "tool", "content": "sunny"},
        ],
        tools=SIMPLE_TOOLS,
    )
    # 1. The template writes the constraint as a bare word ("commentary json"); harmony and
    #    docs/format.md write "commentary <|constrain|>json".
    # 2. The template JSON-encodes a tool result string ("sunny" -> "\"sunny\""); harmony
    #    passes the tool's output through as it is.
    theirs = theirs.replace("<|channel|>commentary json<|message|>", "<|channel|>commentary")
    theirs = theirs.replace('<|message|>"sunny"<|end|>', "<|message|>sunny<|end|>")
    ours = ours.replace(
        "<|channel|>commentary <|constrain|>json<|message|>", "<|channel|>commentary"
    )
    assert ours == theirs
    assert "Need the weather tool." in ours


def test_a_call_renders_back_in_the_order_the_model_wrote_it() -> None:
    """gpt-oss writes its built-in tool calls with the recipient after the channel; rendered
    back the same way, the prompt of the continuation starts with exactly the tokens the engine
    already holds (prefix reuse), instead of differing from the call on."""
    from app.harmony import StreamParser
    from app.harmony.parser import split_special

    generated = (
        "<|channel|>analysis<|message|>Compute it.<|end|>"
        "<|start|>assistant<|channel|>analysis to=python code<|message|>print(1)<|call|>"
    )
    parser = StreamParser()
    events = [e for piece, sp in split_special(generated) for e in parser.feed(piece, sp)]
    (call,) = [e for e in events if type(e).__name__ == "ToolCall"]
    assert call.recipient == "python" and not call.recipient_first  # type: ignore[attr-defined]
    history = [
        Message("user", "hi"),
        Message("assistant", "Compute it.", channel="analysis"),
        Message(
            "assistant",
            "print(1)",
            channel="analysis",
            recipient="python",
            content_type="code",
            recipient_first=False,
        ),
    ]
    rendered = render_prompt(history, PromptSettings(), add_generation_prompt=False)
    assert rendered.endswith("<|start|>assistant" + generated)
    # The usual order is unchanged.
    default = render_message(
        Message("assistant", "{}", channel="commentary", recipient="functions.f")
    )
    assert default.startswith("<|start|>assistant to=functions.f<|channel|>commentary")
