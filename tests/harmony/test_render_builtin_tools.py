"""Built-in tools (python, browser) in the system message, byte for byte against openai/harmony.

``data/test_browser_*.txt`` are copied unchanged from openai/harmony (Apache-2.0) ``test-data/``
at v0.0.8; each test builds the conversation harmony's ``tests/test_harmony.py`` builds
(``SystemContent.new().with_conversation_start_date("2025-06-28").with_browser_tool()`` …).
"""

from __future__ import annotations

from pathlib import Path

from app.engine.protocol import GenerateRequest, settings_from_dict, settings_to_dict
from app.harmony import (
    Message,
    PromptSettings,
    Tool,
    ToolNamespace,
    browser_namespace,
    python_description,
    python_namespace,
    render_prompt,
)
from app.harmony.parser import StreamParser, split_special
from app.harmony.render import render_message

DATA = Path(__file__).parent / "data"


def golden(name: str) -> str:
    return (DATA / f"{name}.txt").read_text(encoding="utf-8").rstrip()


def test_browser_tool_only() -> None:
    settings = PromptSettings(current_date="2025-06-28", builtin_tools=[browser_namespace()])
    assert render_prompt([], settings) == golden("test_browser_tool_only")


def test_browser_and_python_tool() -> None:
    settings = PromptSettings(
        current_date="2025-06-28", builtin_tools=[browser_namespace(), python_namespace()]
    )
    assert render_prompt([], settings) == golden("test_browser_and_python_tool")


def test_namespaces_are_sorted_by_name_like_harmonys_btreemap() -> None:
    settings = PromptSettings(
        current_date="2025-06-28", builtin_tools=[python_namespace(), browser_namespace()]
    )
    assert render_prompt([], settings) == golden("test_browser_and_python_tool")


def test_browser_and_function_tool() -> None:
    lookup = Tool(
        "lookup_weather",
        "Use this tool to lookup the weather in a given location. Call it with the parameter "
        "'location', can be any textual description of a location.",
        {
            "type": "object",
            "properties": {"location": {"type": "string"}},
            "required": ["location"],
        },
    )
    settings = PromptSettings(
        current_date="2025-06-28", builtin_tools=[browser_namespace()], tools=[lookup]
    )
    assert render_prompt([], settings) == golden("test_browser_and_function_tool")


def test_python_only_matches_docs_format_md() -> None:
    # docs/format.md's "Python tool" example (its "reasoning: high" line is lower-case there, a
    # typo the renderer and the chat template do not share).
    out = render_prompt(
        [], PromptSettings(current_date="2025-06-28", builtin_tools=[python_namespace()])
    )
    assert out == (
        "<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.\n"
        "Knowledge cutoff: 2024-06\nCurrent date: 2025-06-28\n\nReasoning: medium\n\n"
        "# Tools\n\n## python\n\n"
        "Use this tool to execute Python code in your chain of thought. The code will not be "
        "shown to the user. This tool should be used for internal reasoning, but not for code "
        "that is intended to be visible to the user (e.g. when creating plots, tables, or "
        "files).\n\nWhen you send a message containing Python code to python, it will be "
        "executed in a stateful Jupyter notebook environment. python will respond with the "
        "output of the execution or time out after 120.0 seconds. The drive at '/mnt/data' can "
        "be used to save and persist user files. Internet access for this session is UNKNOWN. "
        "Depends on the cluster.\n\n"
        "# Valid channels: analysis, commentary, final. Channel must be included for every "
        "message.<|end|><|start|>assistant"
    )


def test_python_description_says_what_is_true_here() -> None:
    text = python_description(timeout_s=30, drive="/home/me/chat", internet="disabled.")
    assert "time out after 30.0 seconds." in text
    assert "The drive at '/home/me/chat' can be used" in text
    assert text.endswith("Internet access for this session is disabled.")
    assert "The drive" not in python_description(drive=None)


def test_builtin_tools_survive_the_engine_protocol() -> None:
    settings = PromptSettings(
        current_date="2025-06-28",
        builtin_tools=[browser_namespace(), ToolNamespace("python", "custom text")],
        tools=[Tool("f", "d", {"type": "object", "properties": {}})],
    )
    back = settings_from_dict(settings_to_dict(settings))
    assert back == settings
    request = GenerateRequest(messages=[Message("user", "hi")], settings=settings)
    assert GenerateRequest.from_dict(request.to_dict()).settings == settings


def test_python_call_and_result_render_as_gpt_oss_writes_them() -> None:
    # The model calls python on the analysis channel with a bare "code" content type (no
    # <|constrain|> token); its result comes back from "python", not "functions.python".
    parser = StreamParser()
    text = "<|channel|>analysis to=python code<|message|>print(6*7)<|call|>"
    events = [e for piece, special in split_special(text) for e in parser.feed(piece, special)]
    call = next(e for e in events if getattr(e, "type", "") == "tool_call")
    assert (call.recipient, call.channel, call.constrain) == ("python", "analysis", "code")
    rendered_call = render_message(
        Message(
            "assistant",
            call.arguments,
            channel=call.channel,
            recipient=call.recipient,
            content_type=call.constrain,
        )
    )
    assert rendered_call == (
        "<|start|>assistant to=python<|channel|>analysis code<|message|>print(6*7)<|call|>"
    )
    result = render_message(Message("tool", "42\n", channel="analysis", name="python"))
    assert result == "<|start|>python to=assistant<|channel|>analysis<|message|>42\n<|end|>"
    browser = render_message(Message("tool", "{}", name="browser.search"))
    assert browser.startswith("<|start|>browser.search to=assistant<|channel|>commentary")


def test_python_call_without_content_type_gets_no_json_constraint() -> None:
    out = render_message(Message("assistant", "1+1", channel="analysis", recipient="python"))
    assert out == "<|start|>assistant to=python<|channel|>analysis<|message|>1+1<|call|>"
    # Functions keep harmony's default " <|constrain|>json".
    fn = render_message(Message("assistant", "{}", recipient="functions.f"))
    assert fn.endswith("<|channel|>commentary <|constrain|>json<|message|>{}<|call|>")
