"""A conversation as JSON (what ``hearth harmony render`` reads), checked field by field.

Accepted: a list of messages, or an object ``{"messages": [...], "effort": "low|medium|high",
"instructions": "...", "tools": [{"name", "description", "parameters"}], "current_date":
"YYYY-MM-DD"}``. A message is ``{"role", "content", "channel"?, "recipient"?, "name"?,
"content_type"?}``. Every problem raises ValueError with one line naming the field and the fix.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any

from app.harmony.model import EFFORTS, Message, PromptSettings, Tool

ROLES = ("user", "assistant", "tool", "system", "developer")
_TOP_FIELDS = ("messages", "effort", "instructions", "tools", "current_date")
_MESSAGE_FIELDS = ("role", "content", "channel", "recipient", "name", "content_type")
_TOOL_FIELDS = ("name", "description", "parameters")
_TOOL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def conversation_from_json(data: Any) -> tuple[list[Message], PromptSettings]:
    """Messages and settings from parsed JSON; ValueError (one line) on anything malformed."""
    if isinstance(data, list):
        data = {"messages": data}
    if not isinstance(data, dict):
        raise ValueError(
            f'Expected a list of messages or an object with "messages", got {_kind(data)}.'
        )
    _no_unknown(data, _TOP_FIELDS, "the conversation")
    raw_messages = data.get("messages", [])
    if not isinstance(raw_messages, list):
        raise ValueError(f'"messages" must be a list, got {_kind(raw_messages)}.')
    messages = [_message(m, i) for i, m in enumerate(raw_messages)]

    settings = PromptSettings()
    effort = data.get("effort", settings.effort)
    if effort not in EFFORTS:
        raise ValueError(f'"effort" must be one of {", ".join(EFFORTS)} (got {effort!r}).')
    settings.effort = effort
    settings.instructions = _opt_str(data, "instructions", '"instructions"') or ""
    settings.current_date = _date(data.get("current_date"))
    raw_tools = data.get("tools", [])
    if not isinstance(raw_tools, list):
        raise ValueError(f'"tools" must be a list, got {_kind(raw_tools)}.')
    settings.tools = [_tool(t, i) for i, t in enumerate(raw_tools)]
    names = [t.name for t in settings.tools]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"Tool {dupes[0]!r} is declared twice: give each tool its own name.")
    return messages, settings


def _message(m: Any, i: int) -> Message:
    where = f"messages[{i}]"
    if not isinstance(m, dict):
        raise ValueError(f"{where} must be an object with role and content, got {_kind(m)}.")
    _no_unknown(m, _MESSAGE_FIELDS, where)
    role = m.get("role")
    if role not in ROLES:
        raise ValueError(f"{where}.role must be one of {', '.join(ROLES)} (got {role!r}).")
    if "content" not in m:
        raise ValueError(f'{where} has no "content": add the message text.')
    content = _opt_str(m, "content", f"{where}.content") or ""
    name = _opt_str(m, "name", f"{where}.name")
    if role == "tool" and not name:
        raise ValueError(
            f'{where} is a tool result without "name": set it to the tool, '
            'e.g. "functions.get_weather".'
        )
    return Message(
        role=role,
        content=content,
        channel=_opt_str(m, "channel", f"{where}.channel"),
        recipient=_opt_str(m, "recipient", f"{where}.recipient"),
        name=name,
        content_type=_opt_str(m, "content_type", f"{where}.content_type"),
    )


def _tool(t: Any, i: int) -> Tool:
    where = f"tools[{i}]"
    if not isinstance(t, dict):
        raise ValueError(f"{where} must be an object with name, description, parameters.")
    _no_unknown(t, _TOOL_FIELDS, where)
    name = t.get("name")
    if not isinstance(name, str) or not _TOOL_NAME.fullmatch(name):
        raise ValueError(f"{where}.name must be an identifier (letters, digits, _), got {name!r}.")
    params = t.get("parameters")
    if params is not None and not isinstance(params, dict):
        raise ValueError(f"{where}.parameters must be a JSON Schema object, got {_kind(params)}.")
    return Tool(
        name=name,
        description=_opt_str(t, "description", f"{where}.description") or "",
        parameters=params,
    )


def _date(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            _dt.date.fromisoformat(value)
            return value
        except ValueError:
            pass
    raise ValueError(f'"current_date" must be a date as YYYY-MM-DD (got {value!r}).')


def _opt_str(d: dict[str, Any], key: str, where: str) -> str | None:
    value = d.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{where} must be a string, got {_kind(value)}.")
    return value


def _no_unknown(d: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in d:
        if key not in allowed:
            raise ValueError(f"Unknown field {key!r} in {where}: use {', '.join(allowed)}.")


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "true/false"}
    if value is None:
        return "null"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)
