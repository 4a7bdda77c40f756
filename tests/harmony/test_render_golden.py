"""render_prompt against openai/harmony's own golden files, byte for byte.

``tests/harmony/data/*.txt`` are copied unchanged from openai/harmony (Apache-2.0) ``test-data/``
at v0.0.8; each test builds the same conversation harmony's ``tests/test_harmony.py`` /
``src/tests.rs`` builds and compares the text. Golden files are read with ``.rstrip()``, as
harmony's tests do.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.harmony import EFFORTS, Message, PromptSettings, Tool, render_prompt

DATA = Path(__file__).parent / "data"


def golden(name: str) -> str:
    return (DATA / f"{name}.txt").read_text(encoding="utf-8").rstrip()


# The system message harmony renders with default settings (no date, medium effort, no tools).
DEFAULT_SYSTEM = golden("test_simple_convo").split("<|start|>user")[0]

CAPITAL = "What is the capital of the largest country in the world?"
ROBOT = "Answer the user's questions like a robot."


def test_default_system_message_is_what_harmony_renders() -> None:
    assert DEFAULT_SYSTEM.startswith("<|start|>system<|message|>You are ChatGPT")
    assert DEFAULT_SYSTEM.endswith("Channel must be included for every message.<|end|>")


def test_simple_convo() -> None:
    out = render_prompt([Message("user", "What is 2 + 2?")], PromptSettings())
    assert out == golden("test_simple_convo")


@pytest.mark.parametrize("effort", EFFORTS)
@pytest.mark.parametrize("with_instructions", [True, False])
def test_each_effort_with_and_without_instructions(effort: str, with_instructions: bool) -> None:
    settings = PromptSettings(effort=effort, instructions=ROBOT if with_instructions else "")  # type: ignore[arg-type]
    out = render_prompt([Message("user", CAPITAL)], settings)
    suffix = "" if with_instructions else "_no_instruction"
    assert out == golden(f"test_simple_convo_{effort}_effort{suffix}")


def test_current_date_present() -> None:
    out = render_prompt([], PromptSettings(current_date="2025-06-28"))
    assert out == golden("test_no_tools")


def test_current_date_absent_leaves_the_line_out() -> None:
    out = render_prompt([], PromptSettings())
    assert "Current date" not in out
    assert out == DEFAULT_SYSTEM + "<|start|>assistant"


def test_knowledge_cutoff_and_date() -> None:
    # harmony's test configures the channels as "analysis, final"; Hearth always declares all
    # three (tools and preambles need commentary), so that line is the one difference.
    expected = golden("test_reasoning_system_message_with_dates").replace(
        "analysis, final.", "analysis, commentary, final."
    )
    settings = PromptSettings(knowledge_cutoff="2021-01", current_date="2021-01-01")
    assert render_prompt([Message("user", "What is 42 * pi?")], settings) == expected


WEATHER_TOOLS = [
    Tool("get_location", "Gets the location of the user."),
    Tool(
        "get_current_weather",
        "Gets the current weather in the provided location.",
        {
            "type": "object",
            "properties": {
                "location": {
                    "type": "string",
                    "description": "The city and state, e.g. San Francisco, CA",
                },
                "format": {
                    "type": "string",
                    "enum": ["celsius", "fahrenheit"],
                    "default": "celsius",
                },
            },
            "required": ["location"],
        },
    ),
    Tool(
        "get_multiple_weathers",
        "Gets the current weather in the provided list of locations.",
        {
            "type": "object",
            "properties": {
                "locations": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": 'List of city and state, e.g. ["San Francisco, CA", '
                    '"New York, NY"]',
                },
                "format": {
                    "type": "string",
                    "enum": ["celsius", "fahrenheit"],
                    "default": "celsius",
                },
            },
            "required": ["locations"],
        },
    ),
]

KITCHENSINK = Tool(
    "kitchensink",
    "A function with various complex schemas.",
    {
        "description": "params object",
        "type": "object",
        "properties": {
            "string": {
                "type": "string",
                "title": "STRING",
                "description": "A string",
                "examples": ["hello", "world"],
            },
            "string_nullable": {
                "type": "string",
                "nullable": True,
                "description": "A nullable string",
                "default": "the default",
            },
            "string_enum": {"type": "string", "enum": ["a", "b", "c"]},
            "oneof_string_or_number": {
                "oneOf": [
                    {"type": "string", "default": "default_string_in_oneof"},
                    {"type": "number", "description": "numbers can happen too"},
                ],
                "description": "a oneof",
                "default": 20,
            },
        },
    },
)


def test_function_tools_with_parameters() -> None:
    """Descriptions, enums, defaults, optional markers, arrays, nullable, title, examples, oneOf."""
    settings = PromptSettings(
        effort="high",
        instructions="Always respond in riddles",
        tools=[*WEATHER_TOOLS, KITCHENSINK],
        current_date="2025-06-28",
    )
    out = render_prompt([Message("user", "What is the weather like in SF?")], settings)
    assert out == golden("test_render_functions_with_parameters")


def test_dropping_analysis_of_a_finished_turn() -> None:
    messages = [
        Message("user", "What is 2 + 2?"),
        Message(
            "assistant",
            "User asks: “What is 2 + 2?” Simple arithmetic. Provide answer.",
            channel="analysis",
        ),
        Message("assistant", "2 + 2 equals 4.", channel="final"),
        Message("user", "What about 9 / 2?"),
    ]
    # harmony's test renders the messages alone; ours always starts with the system message.
    out = render_prompt(messages, PromptSettings())
    assert out == DEFAULT_SYSTEM + golden("test_dropping_cot_by_default")


def test_analysis_kept_while_the_turn_is_in_progress() -> None:
    messages = [
        Message("user", "What is the weather in SF?"),
        Message(
            "assistant",
            "User asks: “What is the weather in SF?” We need to use lookup_weather tool.",
            channel="analysis",
        ),
        Message(
            "assistant",
            '{"location": "San Francisco"}',
            channel="commentary",
            recipient="functions.lookup_weather",
            content_type="<|constrain|>json",
        ),
        Message(
            "tool", '{"temperature": 20, "description": "sunny"}', name="functions.lookup_weather"
        ),
    ]
    # harmony's test builds the tool result without recipient or channel; Hearth gives a tool
    # result the header docs/format.md specifies ("to=assistant<|channel|>commentary").
    expected = golden("test_does_not_drop_if_ongoing_analysis").replace(
        "<|start|>functions.lookup_weather<|message|>",
        "<|start|>functions.lookup_weather to=assistant<|channel|>commentary<|message|>",
    )
    assert render_prompt(messages, PromptSettings()) == DEFAULT_SYSTEM + expected


def test_transcript_without_generation_prompt_keeps_the_last_turn_whole() -> None:
    messages = [
        Message("user", "What is 2 + 2?"),
        Message("assistant", "thinking 2+2", channel="analysis"),
        Message("assistant", "4", channel="final"),
        Message("user", "What is 3 + 5?"),
        Message("assistant", "thinking 3+5", channel="analysis"),
        Message("assistant", "8", channel="final"),
    ]
    out = render_prompt(messages, PromptSettings(), add_generation_prompt=False)
    assert out == DEFAULT_SYSTEM + golden("test_keep_analysis_between_finals")


def test_analysis_of_every_finished_turn_is_dropped_in_a_prompt() -> None:
    """Where Hearth departs from harmony's code, on purpose.

    harmony v0.0.8 drops only the analysis *before the first final message* of the whole
    conversation, so "thinking 3+5" below would stay in the prompt (openai/harmony PR #96
    reports this as a bug). Its docs/format.md ("drop any previous CoT content on subsequent
    sampling if the responses by the assistant ended in a message to the final channel") and the
    official chat template drop every finished turn's analysis, and gpt-oss was trained that
    way: Hearth does the same.
    """
    messages = [
        Message("user", "What is 2 + 2?"),
        Message("assistant", "thinking 2+2", channel="analysis"),
        Message("assistant", "4", channel="final"),
        Message("user", "What is 3 + 5?"),
        Message("assistant", "thinking 3+5", channel="analysis"),
        Message("assistant", "8", channel="final"),
        Message("user", "And 1 + 1?"),
    ]
    out = render_prompt(messages, PromptSettings())
    assert out == DEFAULT_SYSTEM + (
        "<|start|>user<|message|>What is 2 + 2?<|end|>"
        "<|start|>assistant<|channel|>final<|message|>4<|end|>"
        "<|start|>user<|message|>What is 3 + 5?<|end|>"
        "<|start|>assistant<|channel|>final<|message|>8<|end|>"
        "<|start|>user<|message|>And 1 + 1?<|end|>"
        "<|start|>assistant"
    )


DOCS_TOOLS_DEVELOPER = """<|start|>developer<|message|># Instructions

Use a friendly tone.

# Tools

## functions

namespace functions {

// Gets the location of the user.
type get_location = () => any;

// Gets the current weather in the provided location.
type get_current_weather = (_: {
// The city and state, e.g. San Francisco, CA
location: string,
format?: "celsius" | "fahrenheit", // default: celsius
}) => any;

// Gets the current weather in the provided list of locations.
type get_multiple_weathers = (_: {
// List of city and state, e.g. ["San Francisco, CA", "New York, NY"]
locations: string[],
format?: "celsius" | "fahrenheit", // default: celsius
}) => any;

} // namespace functions<|end|>"""

DOCS_TOOLS_SYSTEM = """<|start|>system<|message|>You are ChatGPT, a large language model \
trained by OpenAI.
Knowledge cutoff: 2024-06
Current date: 2025-06-28

Reasoning: high

# Valid channels: analysis, commentary, final. Channel must be included for every message.
Calls to these tools must go to the commentary channel: 'functions'.<|end|>"""


def test_full_tool_flow_from_docs_format_md() -> None:
    """docs/format.md "Handling tool calls": the whole prompt after a tool result.

    The docs show the call's header as the model wrote it, channel first
    (``<|channel|>commentary to=functions.get_weather``); harmony's renderer (and so Hearth)
    writes the recipient first (``assistant to=functions.get_weather<|channel|>commentary``).
    The model reads both.
    """
    settings = PromptSettings(
        effort="high",
        instructions="Use a friendly tone.",
        tools=WEATHER_TOOLS,
        current_date="2025-06-28",
    )
    messages = [
        Message("user", "What is the weather like in SF?"),
        Message("assistant", "Need to use function get_weather.", channel="analysis"),
        Message("assistant", '{"location":"San Francisco"}', recipient="functions.get_weather"),
        Message("tool", '{"sunny": true, "temperature": 20}', name="functions.get_weather"),
    ]
    assert render_prompt(messages, settings) == (
        DOCS_TOOLS_SYSTEM
        + DOCS_TOOLS_DEVELOPER
        + "<|start|>user<|message|>What is the weather like in SF?<|end|>"
        "<|start|>assistant<|channel|>analysis<|message|>Need to use function get_weather.<|end|>"
        "<|start|>assistant to=functions.get_weather<|channel|>commentary <|constrain|>json"
        '<|message|>{"location":"San Francisco"}<|call|>'
        "<|start|>functions.get_weather to=assistant<|channel|>commentary"
        '<|message|>{"sunny": true, "temperature": 20}<|end|>'
        "<|start|>assistant"
    )
