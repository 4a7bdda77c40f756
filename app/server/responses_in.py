"""``/v1/responses`` bodies in: input items (and the history a ``previous_response_id`` names)
as Harmony messages, with the same rules as chat completions (``openai_in``).

Items: ``message`` (roles user, system, developer, assistant; an assistant message followed by
function calls is their preamble), ``reasoning`` (its ``content`` text, else its summary),
``function_call`` / ``function_call_output``, and Codex's ``custom_tool_call`` /
``custom_tool_call_output`` (a freeform tool, declared to the model as a function taking
``{"input": string}``). Items Hearth can't act on (web search, images...) are skipped.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from app.engine.protocol import GenerateRequest
from app.harmony import Message, Tool
from app.server.errors import bad_request
from app.server.fields import get_bool, get_dict, get_list, get_str, text_of, wrong_type
from app.server.openai_in import (
    CallNames,
    apply_response_format,
    apply_tool_choice,
    assistant_messages,
    check_name,
    effort_of,
    function_tool,
    prompt_settings,
    sampling,
)

log = logging.getLogger("hearth.server")

CUSTOM_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {"input": {"type": "string"}},
    "required": ["input"],
}
_TEXT_PARTS = ("input_text", "output_text", "text", "summary_text", "reasoning_text")
_CALLS = ("function_call", "custom_tool_call")


@dataclass
class ResponsesPlan:
    request: GenerateRequest
    items: list[dict[str, Any]]  # the conversation so far, as input items (stored for follow-ups)
    stream: bool = False
    store: bool = True
    functions: list[str] = field(default_factory=list)
    custom: set[str] = field(default_factory=set)  # freeform tools (calls become custom calls)
    echo: dict[str, Any] = field(default_factory=dict)  # request fields the response repeats


def input_items(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if isinstance(value, str):
        return [{"type": "message", "role": "user", "content": value}]
    if not isinstance(value, list):
        raise wrong_type("input", "a string or an array of items", value)
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise wrong_type(f"input[{i}]", "an object", item)
    return list(value)


def _reasoning_text(item: dict[str, Any], param: str) -> str:
    for key in ("content", "summary"):
        parts = item.get(key)
        if parts:
            return text_of(parts, f"{param}.{key}", _TEXT_PARTS)
    return ""


def _output_text(value: Any, param: str) -> str:
    if isinstance(value, str):
        return value
    return text_of(value, param, _TEXT_PARTS)


def item_messages(items: list[dict[str, Any]]) -> list[Message]:
    names = CallNames()
    out: list[Message] = []
    reasoning = ""
    for i, item in enumerate(items):
        param = f"input[{i}]"
        kind = item.get("type", "message" if "role" in item else None)
        if kind == "message":
            role = item.get("role")
            if role in ("user", "system", "developer"):
                out.append(
                    Message(
                        str(role), text_of(item.get("content"), f"{param}.content", _TEXT_PARTS)
                    )
                )
            elif role == "assistant":
                text = text_of(item.get("content"), f"{param}.content", _TEXT_PARTS)
                preamble = _next_kind(items, i) in _CALLS
                out.extend(assistant_messages(text, reasoning, [], preamble))
                reasoning = ""
            else:
                raise bad_request(
                    f"Invalid value for '{param}.role': {role!r}.", f"{param}.role", "invalid_value"
                )
        elif kind == "reasoning":
            reasoning += _reasoning_text(item, param)
        elif kind in _CALLS:
            name = check_name(item.get("name"), f"{param}.name")
            if kind == "function_call":
                arguments = item.get("arguments", "")
                if not isinstance(arguments, str):
                    raise wrong_type(f"{param}.arguments", "a string", arguments)
            else:
                arguments = json.dumps({"input": str(item.get("input", ""))}, ensure_ascii=False)
            names.add(item.get("call_id") if isinstance(item.get("call_id"), str) else None, name)
            out.extend(assistant_messages("", reasoning, [(name, arguments)], True))
            reasoning = ""
        elif kind in ("function_call_output", "custom_tool_call_output"):
            call_id = get_str(item, "call_id", required=True, param=f"{param}.call_id")
            name = check_name(names.name_for(call_id, None), f"{param}.call_id")
            output = _output_text(item.get("output", ""), f"{param}.output")
            out.append(Message("tool", output, name=f"functions.{name}"))
        elif kind == "item_reference":
            raise bad_request(
                f"'{param}' is an item_reference: send the item itself, or use "
                "previous_response_id.",
                param,
                "unsupported_value",
            )
        else:
            log.debug("skipping input item of type %r", kind)
    if reasoning:  # reasoning with nothing after it yet: the turn goes on from it
        out.append(Message("assistant", reasoning, channel="analysis"))
    return out


def _next_kind(items: list[dict[str, Any]], i: int) -> str | None:
    for item in items[i + 1 :]:
        kind = item.get("type", "message" if "role" in item else None)
        if kind != "reasoning":
            return str(kind) if kind else None
    return None


def responses_tools(body: dict[str, Any]) -> tuple[list[Tool], set[str]]:
    tools: list[Tool] = []
    custom: set[str] = set()
    for i, spec in enumerate(get_list(body, "tools") or []):
        param = f"tools[{i}]"
        if not isinstance(spec, dict):
            raise wrong_type(param, "an object", spec)
        kind = spec.get("type")
        if kind == "function":
            tools.append(function_tool(spec, param))
        elif kind == "custom":
            name = check_name(spec.get("name"), f"{param}.name")
            desc = get_str(spec, "description", param=f"{param}.description") or ""
            tools.append(Tool(name, desc, CUSTOM_PARAMETERS))
            custom.add(name)
        else:
            log.info("tool of type %r skipped: Hearth runs function tools only", kind)
    return tools, custom


def responses_plan(body: dict[str, Any], history: list[dict[str, Any]]) -> ResponsesPlan:
    items = history + input_items(body.get("input"))
    if not items:
        raise bad_request("'input' is empty: send at least one item.", "input", "missing_required")
    reasoning = get_dict(body, "reasoning") or {}
    effort = effort_of(reasoning.get("effort"), "reasoning.effort")
    tools, custom = responses_tools(body)
    messages = item_messages(items)
    instructions = get_str(body, "instructions")
    if instructions:
        messages.insert(0, Message("developer", instructions))
    request = GenerateRequest(
        messages=messages,
        settings=prompt_settings(effort, tools),
        sampling=sampling(body, max_keys=("max_output_tokens",)),
        trim=False,
    )
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and "name" in choice and "function" not in choice:
        choice = {"type": "function", "function": {"name": choice["name"]}}
    functions = apply_tool_choice(choice, tools, request)
    text = get_dict(body, "text") or {}
    apply_response_format(text.get("format"), request, "text.format")
    echo = {
        "instructions": instructions,
        "max_output_tokens": request.sampling.max_tokens or None,
        "temperature": body.get("temperature", 1.0),
        "top_p": body.get("top_p", 1.0),
        "tools": body.get("tools") or [],
        "tool_choice": body.get("tool_choice") or "auto",
        "parallel_tool_calls": get_bool(body, "parallel_tool_calls", True),
        "reasoning": {"effort": effort, "summary": None},
        "text": {"format": text.get("format") or {"type": "text"}},
        "metadata": body.get("metadata") or {},
        "previous_response_id": body.get("previous_response_id"),
        "user": body.get("user"),
    }
    return ResponsesPlan(
        request,
        items,
        stream=get_bool(body, "stream"),
        store=get_bool(body, "store", True),
        functions=functions,
        custom=custom,
        echo=echo,
    )
