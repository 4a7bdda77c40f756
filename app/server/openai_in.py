"""OpenAI requests in, Harmony requests out: ``/v1/chat/completions`` bodies become a
``GenerateRequest`` the engine renders with Harmony's own rules.

History a client sends back is rendered the way the model was trained on it:
- system and developer messages become the developer message's instructions;
- an assistant message becomes its reasoning (``reasoning_content`` or ``reasoning``) on the
  analysis channel, its text (on the commentary channel when it came before tool calls, a
  preamble; else final) and each tool call as a ``to=functions.NAME`` message. Harmony's renderer
  then keeps the reasoning of the turn still in progress (tool calls, no final answer yet) and
  drops it once a final answer follows;
- a tool message becomes the result of the call its ``tool_call_id`` names.
Text that contains Harmony's control tokens (``<|end|>``...) is text: the engine tokenizes message
content without parsing control tokens, so it can neither break the prompt nor cause an error.
"""

from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass, field
from typing import Any

from app.engine.options import SamplingOptions
from app.engine.protocol import GenerateRequest
from app.harmony import EFFORTS, Message, PromptSettings, Tool
from app.server import grammar
from app.server.errors import bad_request
from app.server.fields import (
    get_bool,
    get_dict,
    get_list,
    get_number,
    get_str,
    text_of,
    wrong_type,
)

NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MAX_STOPS = 4
# Efforts other clients send, as the nearest gpt-oss has ("minimal"/"none": GPT-5's names).
_EFFORT_ALIASES = {"minimal": "low", "none": "low"}


@dataclass
class Plan:
    """One request, ready for the engine: the Harmony request and what shapes the answer."""

    request: GenerateRequest
    stream: bool = False
    include_usage: bool = False
    stops: list[str] = field(default_factory=list)
    functions: list[str] = field(default_factory=list)  # names the model may call
    json_output: bool = False


def effort_of(value: Any, param: str) -> str:
    if value is None:
        return "medium"
    if not isinstance(value, str):
        raise wrong_type(param, "a string", value)
    effort = _EFFORT_ALIASES.get(value, value)
    if effort not in EFFORTS:
        raise bad_request(
            f"Invalid value for '{param}': {value!r}. Use one of: low, medium, high.",
            param,
            "invalid_value",
        )
    return effort


def check_name(name: Any, param: str) -> str:
    if not isinstance(name, str):
        raise wrong_type(param, "a string", name)
    if not NAME_RE.match(name):
        raise bad_request(
            f"Invalid '{param}': {name[:80]!r}. A function name is 1 to 64 letters, digits, "
            "underscores, dots or dashes.",
            param,
            "invalid_value",
        )
    return name


def function_tool(spec: dict[str, Any], param: str) -> Tool:
    """A function declaration ({name, description, parameters}) as a Harmony tool."""
    name = check_name(spec.get("name"), f"{param}.name")
    description = get_str(spec, "description", param=f"{param}.description") or ""
    parameters = get_dict(spec, "parameters", param=f"{param}.parameters")
    return Tool(name=name, description=description, parameters=parameters)


def chat_tools(body: dict[str, Any]) -> list[Tool]:
    tools: list[Tool] = []
    for i, item in enumerate(get_list(body, "tools") or []):
        param = f"tools[{i}]"
        if not isinstance(item, dict):
            raise wrong_type(param, "an object", item)
        kind = item.get("type", "function")
        if kind != "function":
            raise bad_request(
                f"Unsupported tool type {kind!r} in '{param}': only 'function' tools are "
                "supported.",
                f"{param}.type",
                "invalid_value",
            )
        fn = get_dict(item, "function", param=f"{param}.function")
        if fn is None:
            raise bad_request(f"Missing required parameter: '{param}.function'.", param)
        tools.append(function_tool(fn, f"{param}.function"))
    names = [t.name for t in tools]
    if len(set(names)) != len(names):
        raise bad_request("Two tools have the same name: each function needs its own.", "tools")
    return tools


def apply_tool_choice(choice: Any, tools: list[Tool], request: GenerateRequest) -> list[str]:
    """``tool_choice`` on the request: which functions are declared, and a grammar when a call
    is forced. Returns the names the model may call."""
    param = "tool_choice"
    if choice is None or choice == "auto":
        return [t.name for t in tools]
    if choice == "none":
        request.settings.tools = []  # undeclared: the model has nothing to call
        return []
    if choice == "required":
        forced = tools
    elif isinstance(choice, dict):
        fn: dict[str, Any] = (
            choice["function"] if isinstance(choice.get("function"), dict) else choice
        )
        name = check_name(fn.get("name"), f"{param}.function.name")
        forced = [t for t in tools if t.name == name]
        if not forced:
            raise bad_request(
                f"tool_choice names the function {name!r}, which is not in 'tools'.",
                param,
                "invalid_value",
            )
    elif isinstance(choice, str):
        raise bad_request(
            f"Invalid value for 'tool_choice': {choice!r}. Use 'none', 'auto', 'required' or "
            '{"type": "function", "function": {"name": ...}}.',
            param,
            "invalid_value",
        )
    else:
        raise wrong_type(param, "a string or an object", choice)
    if not forced:
        raise bad_request("tool_choice is 'required' but no tools were given.", param)
    request.grammar = grammar.call_grammar([(t.name, t.parameters) for t in forced])
    request.grammar_mode = "call"
    return [t.name for t in forced]


def apply_response_format(fmt: Any, request: GenerateRequest, param: str) -> bool:
    """``response_format`` (chat) / ``text.format`` (responses): JSON output enforced by a
    grammar on the final channel. Returns True when the answer is JSON."""
    if fmt is None:
        return False
    if not isinstance(fmt, dict):
        raise wrong_type(param, "an object", fmt)
    kind = fmt.get("type")
    if kind == "text":
        return False
    if kind == "json_object":
        request.grammar = grammar.json_grammar(None, param=param)
    elif kind == "json_schema":
        # chat: {"type": "json_schema", "json_schema": {"name", "schema", "strict"}};
        # responses: {"type": "json_schema", "name", "schema", "strict"}.
        spec = fmt.get("json_schema", fmt)
        if not isinstance(spec, dict):
            raise wrong_type(f"{param}.json_schema", "an object", spec)
        schema = spec.get("schema")
        if schema is not None and not isinstance(schema, dict):
            raise wrong_type(f"{param}.json_schema.schema", "an object", schema)
        request.grammar = grammar.json_grammar(schema, param=f"{param}.json_schema.schema")
    else:
        raise bad_request(
            f"Invalid value for '{param}.type': {kind!r}. Use 'text', 'json_object' or "
            "'json_schema'.",
            f"{param}.type",
            "invalid_value",
        )
    request.grammar_mode = "final"
    return True


def sampling(body: dict[str, Any], *, max_keys: tuple[str, ...]) -> SamplingOptions:
    s = SamplingOptions(max_tokens=0)  # 0: until the reply ends or the context is full
    for key in max_keys:
        n = get_number(body, key, lo=1, integer=True)
        if n is not None:
            s.max_tokens = int(n)
            break
    temperature = get_number(body, "temperature", lo=0, hi=2)
    if temperature is not None:
        s.temperature = float(temperature)
    top_p = get_number(body, "top_p", lo=0, hi=1)
    if top_p is not None:
        s.top_p = float(top_p) if top_p > 0 else 1e-6
    top_k = get_number(body, "top_k", lo=0, integer=True)
    if top_k is not None:
        s.top_k = int(top_k)
    seed = get_number(body, "seed", integer=True)
    if seed is not None:
        s.seed = int(seed)
    return s


def stops_of(body: dict[str, Any]) -> list[str]:
    stop = body.get("stop")
    if stop is None:
        return []
    if isinstance(stop, str):
        stops = [stop]
    elif isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        stops = list(stop)
    else:
        raise wrong_type("stop", "a string or an array of strings", stop)
    if len(stops) > MAX_STOPS:
        raise bad_request(f"'stop' takes at most {MAX_STOPS} sequences.", "stop", "invalid_value")
    return [s for s in stops if s]


class CallNames:
    """Tool call ids seen in the history -> the function each called (a tool message names
    only the id)."""

    def __init__(self) -> None:
        self.by_id: dict[str, str] = {}

    def add(self, call_id: str | None, name: str) -> None:
        if call_id:
            self.by_id[call_id] = name

    def name_for(self, call_id: str | None, fallback: str | None) -> str:
        if call_id and call_id in self.by_id:
            return self.by_id[call_id]
        return fallback or "tool"


def assistant_messages(
    text: str, reasoning: str, calls: list[tuple[str, str]], preamble: bool
) -> list[Message]:
    """One assistant turn's pieces as Harmony messages: reasoning, then text (a preamble before
    tool calls, else the final answer), then the calls ((name, arguments JSON))."""
    out: list[Message] = []
    if reasoning:
        out.append(Message("assistant", reasoning, channel="analysis"))
    if text:
        out.append(Message("assistant", text, channel="commentary" if preamble else "final"))
    for name, arguments in calls:
        out.append(
            Message(
                "assistant",
                arguments,
                channel="commentary",
                recipient=f"functions.{name}",
                content_type="json",
            )
        )
    return out


def chat_messages(raw: Any) -> list[Message]:
    if raw is None:
        raise bad_request("Missing required parameter: 'messages'.", "messages", "missing_required")
    if not isinstance(raw, list):
        raise wrong_type("messages", "an array", raw)
    if not raw:
        raise bad_request("'messages' is empty: send at least one message.", "messages")
    names = CallNames()
    out: list[Message] = []
    for i, m in enumerate(raw):
        param = f"messages[{i}]"
        if not isinstance(m, dict):
            raise wrong_type(param, "an object", m)
        role = m.get("role")
        content = m.get("content")
        if role in ("system", "developer"):
            out.append(Message(role, text_of(content, f"{param}.content")))
        elif role == "user":
            out.append(Message("user", text_of(content, f"{param}.content")))
        elif role == "assistant":
            out.extend(_assistant(m, param, names))
        elif role in ("tool", "function"):
            call_id = get_str(m, "tool_call_id", param=f"{param}.tool_call_id")
            fallback = get_str(m, "name", param=f"{param}.name")
            if role == "tool" and call_id is None and fallback is None:
                raise bad_request(
                    f"Missing required parameter: '{param}.tool_call_id'.", f"{param}.tool_call_id"
                )
            name = check_name(names.name_for(call_id, fallback), f"{param}.name")
            out.append(
                Message("tool", text_of(content, f"{param}.content"), name=f"functions.{name}")
            )
        elif role is None:
            raise bad_request(f"Missing required parameter: '{param}.role'.", f"{param}.role")
        else:
            raise bad_request(
                f"Invalid value for '{param}.role': {role!r}. Use system, developer, user, "
                "assistant or tool.",
                f"{param}.role",
                "invalid_value",
            )
    return out


def _assistant(m: dict[str, Any], param: str, names: CallNames) -> list[Message]:
    text = text_of(m.get("content"), f"{param}.content", ("text", "output_text"))
    reasoning = ""
    for key in ("reasoning_content", "reasoning"):
        value = m.get(key)
        if isinstance(value, str) and value:
            reasoning = value
            break
        if value is not None and not isinstance(value, str):
            raise wrong_type(f"{param}.{key}", "a string", value)
    calls: list[tuple[str, str]] = []
    for j, call in enumerate(get_list(m, "tool_calls", param=f"{param}.tool_calls") or []):
        where = f"{param}.tool_calls[{j}]"
        if not isinstance(call, dict):
            raise wrong_type(where, "an object", call)
        fn = get_dict(call, "function", param=f"{where}.function") or {}
        name = check_name(fn.get("name"), f"{where}.function.name")
        arguments = fn.get("arguments", "")
        if isinstance(arguments, dict):  # some clients send the object itself
            arguments = json.dumps(arguments, ensure_ascii=False)
        if not isinstance(arguments, str):
            raise wrong_type(f"{where}.function.arguments", "a string", arguments)
        names.add(call.get("id") if isinstance(call.get("id"), str) else None, name)
        calls.append((name, arguments))
    legacy = m.get("function_call")
    if isinstance(legacy, dict) and legacy.get("name"):
        calls.append(
            (
                check_name(legacy["name"], f"{param}.function_call.name"),
                str(legacy.get("arguments", "")),
            )
        )
    return assistant_messages(text, reasoning, calls, preamble=bool(calls))


def prompt_settings(effort: str, tools: list[Tool]) -> PromptSettings:
    return PromptSettings(
        effort=effort,  # type: ignore[arg-type]
        tools=tools,
        current_date=datetime.date.today().isoformat(),
    )


def chat_plan(body: dict[str, Any]) -> Plan:
    """A ``/v1/chat/completions`` body as a Plan (raises APIError naming what is wrong)."""
    n = get_number(body, "n", integer=True)
    if n is not None and n != 1:
        raise bad_request(
            "Hearth generates one choice per request: 'n' must be 1.", "n", "invalid_value"
        )
    stream = get_bool(body, "stream")
    options = get_dict(body, "stream_options") or {}
    include_usage = stream and get_bool(options, "include_usage")
    effort_value = body.get("reasoning_effort")
    if effort_value is None and isinstance(body.get("reasoning"), dict):
        effort_value = body["reasoning"].get("effort")  # OpenRouter's shape
    effort = effort_of(effort_value, "reasoning_effort")
    messages = chat_messages(body.get("messages"))
    tools = chat_tools(body)
    request = GenerateRequest(
        messages=messages,
        settings=prompt_settings(effort, tools),
        sampling=sampling(body, max_keys=("max_completion_tokens", "max_tokens")),
        trim=False,
    )
    functions = apply_tool_choice(body.get("tool_choice"), tools, request)
    forced_call = request.grammar is not None
    json_output = apply_response_format(body.get("response_format"), request, "response_format")
    if json_output and forced_call:
        raise bad_request(
            "response_format asks for a JSON answer and tool_choice forces a tool call: "
            "use one or the other.",
            "response_format",
        )
    return Plan(request, stream, include_usage, stops_of(body), functions, json_output)
