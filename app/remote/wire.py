"""A Harmony request -> the body of an OpenAI ``/v1/chat/completions`` request (no I/O).

The server renders the prompt itself (vLLM with openai-harmony, llama-server with the GGUF's
template), so what it needs is the conversation in OpenAI's shape:

- The chat's instructions (Harmony's developer message) go first as a ``system`` message: every
  gpt-oss template and vLLM's Harmony path turn it into the developer instructions, and some
  servers (llama-cpp-python's) refuse the ``developer`` role.
- An assistant reply is one message: its answer (final and preamble text) as ``content``, its
  calls as ``tool_calls`` with ids made here (``call_1``, ``call_2``…, the same for the same
  history, so a server's prefix cache still matches), and its reasoning passed back only where
  Harmony keeps it, between the tool calls of the turn still going, and only in the field the
  server itself uses.
- A tool result is a ``tool`` message answering the earliest unanswered call of that tool.
- gpt-oss's built-in tools (python, browser) live in the system prompt, which the server writes
  itself: they are declared as functions instead (``python`` takes ``{"code": …}``,
  ``browser_search`` the browser's own arguments), and ``builtin_calls`` maps a call of one back
  to what the turn's tools expect (recipient ``python`` with the code as it is).
"""

from __future__ import annotations

import json
import re
from typing import Any

from app.engine.protocol import GenerateRequest
from app.harmony import Message, ToolNamespace

_CODE_SCHEMA = {
    "type": "object",
    "properties": {"code": {"type": "string", "description": "The Python code to run."}},
    "required": ["code"],
}

_NAME_OK = re.compile(r"[^A-Za-z0-9_-]")


def function_name(recipient: str) -> str:
    """ "functions.get_weather" -> "get_weather"; a built-in ("browser.search") gets a name the
    OpenAI schema accepts ("browser_search")."""
    name = recipient.removeprefix("functions.")
    return _NAME_OK.sub("_", name) or "tool"


def chat_body(
    request: GenerateRequest,
    model: str,
    *,
    reasoning_field: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    settings, sampling = request.settings, request.sampling
    body: dict[str, Any] = {
        "model": model,
        "messages": chat_messages(
            request.messages, settings.instructions, reasoning_field=reasoning_field
        ),
        "stream": True,
        "stream_options": {"include_usage": True},
        "reasoning_effort": settings.effort,
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "max_tokens": sampling.max_tokens,
    }
    if sampling.top_k > 0:
        body["top_k"] = sampling.top_k  # not OpenAI's, but vLLM, llama.cpp and LM Studio read it
    if sampling.seed is not None:
        body["seed"] = sampling.seed
    tools = [
        _function(function_name(tool.name), tool.description, tool.parameters)
        for tool in settings.tools
    ]
    tools += [
        _function(name, description, parameters)
        for name, (description, parameters) in _builtins(settings.builtin_tools).items()
    ]
    if tools:
        body["tools"] = tools
    if extra:
        body.update(extra)
    return body


def _function(name: str, description: str, parameters: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": parameters or {"type": "object", "properties": {}},
        },
    }


def _builtins(namespaces: list[ToolNamespace]) -> dict[str, tuple[str, dict[str, Any] | None]]:
    """Function name -> (description, parameters) of each built-in tool."""
    out: dict[str, tuple[str, dict[str, Any] | None]] = {}
    for ns in namespaces:
        if not ns.tools:  # python: the namespace is the tool, and it takes code
            out[function_name(ns.name)] = (ns.description, _CODE_SCHEMA)
        for tool in ns.tools:
            out[function_name(f"{ns.name}.{tool.name}")] = (tool.description, tool.parameters)
    return out


def builtin_calls(namespaces: list[ToolNamespace]) -> dict[str, tuple[str, bool]]:
    """Function name -> (the recipient the turn's tools know, whether it takes bare code)."""
    out: dict[str, tuple[str, bool]] = {}
    for ns in namespaces:
        if not ns.tools:
            out[function_name(ns.name)] = (ns.name, True)
        for tool in ns.tools:
            out[function_name(f"{ns.name}.{tool.name}")] = (f"{ns.name}.{tool.name}", False)
    return out


def _takes_code(m: Message) -> bool:
    return m.content_type == "code" or m.recipient == "python"


def chat_messages(
    messages: list[Message], instructions: str = "", *, reasoning_field: str | None = None
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if instructions:
        out.append({"role": "system", "content": instructions})
    last_user = max((i for i, m in enumerate(messages) if m.role == "user"), default=-1)
    pending: list[tuple[str, str]] = []  # (call id, function name) not yet answered
    calls_made = 0
    i = 0
    while i < len(messages):
        m = messages[i]
        if m.role == "assistant":
            j = i
            while j < len(messages) and messages[j].role == "assistant":
                j += 1
            msg, calls = _assistant(messages[i:j], first_id=calls_made + 1)
            calls_made += len(calls)
            pending.extend(calls)
            reasoning = "".join(x.content for x in messages[i:j] if x.channel == "analysis")
            if reasoning and reasoning_field and calls and i > last_user:
                msg[reasoning_field] = reasoning
            if msg["content"] or calls:
                out.append(msg)
            i = j
            continue
        if m.role == "tool":
            name = function_name(m.name or "")
            match = next((c for c in pending if c[1] == name), pending[0] if pending else None)
            if match is None:
                # A result with no call before it (an edited or imported chat): servers refuse
                # an orphan tool message, so the model reads it as text instead.
                out.append({"role": "user", "content": f"[{name} result]\n{m.content}"})
            else:
                pending.remove(match)
                out.append({"role": "tool", "tool_call_id": match[0], "content": m.content})
        elif m.role in ("system", "developer"):
            out.append({"role": "system", "content": m.content})
        else:
            out.append({"role": "user", "content": m.content})
        i += 1
    return out


def _assistant(group: list[Message], first_id: int) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    text: list[str] = []
    tool_calls: list[dict[str, Any]] = []
    calls: list[tuple[str, str]] = []
    for m in group:
        if m.recipient:
            call_id = f"call_{first_id + len(calls)}"
            name = function_name(m.recipient)
            calls.append((call_id, name))
            args = json.dumps({"code": m.content}) if _takes_code(m) else m.content
            tool_calls.append(
                {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}
            )
        elif m.channel != "analysis":
            text.append(m.content)
    # "" rather than null: llama-cpp-python's server refuses a null content.
    msg: dict[str, Any] = {"role": "assistant", "content": "".join(text)}
    if tool_calls:
        msg["tool_calls"] = tool_calls
    return msg, calls
