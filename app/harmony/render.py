"""Render a conversation into gpt-oss's Harmony prompt text.

The output matches openai/harmony's renderer (``src/encoding.rs``: ``render_conversation_for
_completion`` with its default ``auto_drop_analysis``) byte for byte; the golden tests in
``tests/harmony`` hold that against harmony's own ``test-data``. Two deliberate choices where the
reference leaves room, both documented in the tests:

- Analysis of *every* finished assistant turn is dropped. harmony's code only drops analysis that
  comes before the conversation's *first* final message (openai/harmony PR #96 calls that a bug);
  the official chat template and harmony's ``docs/format.md`` drop all of it.
- Tool results default to ``to=assistant<|channel|>commentary`` (docs/format.md), and tool calls
  to the ``commentary`` channel with ``<|constrain|>json``, when the message leaves them unset.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from app.harmony.builtin import is_builtin_recipient
from app.harmony.model import EFFORTS, Message, PromptSettings, Tool, ToolNamespace

START = "<|start|>"
END = "<|end|>"
MESSAGE = "<|message|>"
CHANNEL = "<|channel|>"
CONSTRAIN = "<|constrain|>"
CALL = "<|call|>"
RETURN = "<|return|>"

VALID_CHANNELS = ("analysis", "commentary", "final")
_CHANNELS_LINE = (
    "# Valid channels: analysis, commentary, final. Channel must be included for every message."
)
_FUNCTIONS_LINE = "Calls to these tools must go to the commentary channel: 'functions'."


def render_prompt(
    messages: list[Message],
    settings: PromptSettings,
    *,
    add_generation_prompt: bool = True,
) -> str:
    """The full prompt: system message, developer message (if any), the conversation, and
    ``<|start|>assistant`` when ``add_generation_prompt`` (the prompt for the next reply).

    System or developer messages inside ``messages`` are folded into the developer message's
    instructions (after ``settings.instructions``), as the official chat template does with a
    leading system message: Harmony has exactly one of each, built from the settings.
    """
    if settings.effort not in EFFORTS:
        raise ValueError(
            f"Unknown reasoning effort {settings.effort!r}: use one of {', '.join(EFFORTS)}."
        )
    extra_instructions = [m.content for m in messages if m.role in ("system", "developer")]
    conversation = [m for m in messages if m.role not in ("system", "developer")]
    instructions = "\n\n".join(
        part for part in (settings.instructions, *extra_instructions) if part.strip()
    )

    parts = [_render_message("system", None, None, None, system_content(settings), END)]
    developer = developer_content(instructions, settings.tools)
    if developer:
        parts.append(_render_message("developer", None, None, None, developer, END))
    keep = _kept_messages(conversation, add_generation_prompt)
    parts.extend(render_message(m) for m in keep)
    if add_generation_prompt:
        parts.append(START + "assistant")
    return "".join(parts)


def system_content(settings: PromptSettings) -> str:
    """The system message's text (identity, dates, reasoning effort, built-in tools, channels)."""
    top = [settings.model_identity, f"Knowledge cutoff: {settings.knowledge_cutoff}"]
    if settings.current_date:
        top.append(f"Current date: {settings.current_date}")
    sections = ["\n".join(top), f"Reasoning: {settings.effort}"]
    if settings.builtin_tools:
        # harmony keeps the namespaces in a BTreeMap: sorted by name, one per name.
        by_name = {ns.name: ns for ns in settings.builtin_tools}
        sections.append(_tools_sections([by_name[k] for k in sorted(by_name)]))
    channels = _CHANNELS_LINE
    if settings.tools:
        channels += "\n" + _FUNCTIONS_LINE
    sections.append(channels)
    return "\n\n".join(sections)


def developer_content(instructions: str, tools: Iterable[Tool]) -> str:
    """The developer message's text: ``# Instructions`` and ``# Tools``; "" when both are empty."""
    sections: list[str] = []
    if instructions:
        sections += ["# Instructions", instructions]
    tools = list(tools)
    if tools:
        sections.append(tools_section(tools))
    return "\n\n".join(sections)


def tools_section(tools: list[Tool], namespace: str = "functions") -> str:
    """``# Tools`` with the TypeScript-like namespace (harmony's ``template_tools_section``)."""
    return _tools_sections([ToolNamespace(namespace, "", list(tools))])


def namespace_section(ns: ToolNamespace) -> str:
    """One ``## NAME`` section: the description (as ``//`` comments when the namespace has
    tools, as plain text when it has none, like python), then ``namespace NAME { … }``."""
    lines = [f"## {ns.name}\n"]
    lines.extend(f"// {line}" if ns.tools else line for line in _rust_lines(ns.description))
    if ns.tools:
        lines.append(f"namespace {ns.name} {{\n")
        for tool in ns.tools:
            lines.extend(f"// {line}" for line in _rust_lines(tool.description))
            if tool.parameters is not None:
                params = schema_to_typescript(tool.parameters)
                lines.append(f"type {tool.name} = (_: {params}) => any;\n")
            else:
                lines.append(f"type {tool.name} = () => any;\n")
        lines.append(f"}} // namespace {ns.name}")
    return "\n".join(lines)


def _tools_sections(namespaces: list[ToolNamespace]) -> str:
    return "\n\n".join(["# Tools", *(namespace_section(ns) for ns in namespaces)])


def render_message(message: Message) -> str:
    """One conversation message (user, assistant or tool) with harmony's header rules."""
    role = message.role
    channel = message.channel
    recipient = message.recipient
    content_type = message.content_type
    if role == "tool":
        author = message.name or "functions.unknown"
        if "." not in author and not is_builtin_recipient(author):
            author = f"functions.{author}"  # "python" and "browser.*" have no prefix
        recipient = recipient or "assistant"
        channel = channel or "commentary"
        return _render_message(author, recipient, channel, content_type, message.content, END)
    if role == "assistant":
        is_call = bool(recipient) and recipient != "all"
        if is_call:
            channel = channel or "commentary"
            if content_type is None and recipient != "python":  # python's code is not JSON
                content_type = "json"
        else:
            channel = channel or "final"
        author = role if not message.name else f"{role}:{message.name}"
        return _render_message(
            author,
            recipient,
            channel,
            content_type,
            message.content,
            CALL if is_call else END,
            message.recipient_first,
        )
    author = role if not message.name else f"{role}:{message.name}"
    return _render_message(author, recipient, channel, content_type, message.content, END)


def _render_message(
    author: str,
    recipient: str | None,
    channel: str | None,
    content_type: str | None,
    content: str,
    end: str,
    recipient_first: bool = True,
) -> str:
    header = START + author
    to = f" to={recipient}" if recipient and recipient != "all" else ""
    if recipient_first or not channel:
        header += to
    if channel:
        header += CHANNEL + channel
    if not recipient_first and channel:
        header += to  # as the model wrote it: "<|channel|>analysis to=python"
    if content_type:
        # harmony writes the constraint as " <|constrain|>json"; accept both "json" and
        # "<|constrain|>json" from callers. Another bare word is a plain content type, written
        # as the model wrote it: gpt-oss calls python with "to=python code", no constrain token.
        rest = content_type.removeprefix(CONSTRAIN)
        if rest == content_type and rest != "json":
            header += " " + rest
        else:
            header += " " + CONSTRAIN + rest
    return header + MESSAGE + content + end


def _kept_messages(messages: list[Message], add_generation_prompt: bool) -> list[Message]:
    """Drop the analysis of finished assistant turns.

    An analysis message is finished when an assistant ``final`` message comes after it. The turn
    still in progress (tool calls pending, no final yet) keeps its analysis, which the model needs
    to continue. Without a generation prompt the conversation is a finished transcript and its
    last turn (after the last user message) is kept whole, as harmony's
    ``test_keep_analysis_between_finals`` and the chat template do.
    """
    last_user = max((i for i, m in enumerate(messages) if m.role == "user"), default=-1)
    last_final = max(
        (i for i, m in enumerate(messages) if m.role == "assistant" and _is_final(m)),
        default=-1,
    )
    kept = []
    for i, m in enumerate(messages):
        is_analysis = m.role == "assistant" and m.channel == "analysis" and not m.recipient
        finished = i < last_final
        in_last_turn = i > last_user
        if is_analysis and finished and (add_generation_prompt or not in_last_turn):
            continue
        kept.append(m)
    return kept


def _is_final(m: Message) -> bool:
    return (m.channel or "final") == "final" and not (m.recipient and m.recipient != "all")


def _rust_lines(text: str) -> list[str]:
    """Rust's ``str::lines``: split on "\\n", drop a trailing "\\r", no empty last line."""
    if not text:
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def _json(value: Any) -> str:
    """serde_json's ``Display``: compact, non-ASCII kept."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _is_enum(schema: Any) -> bool:
    enum = schema.get("enum") if isinstance(schema, dict) else None
    return isinstance(enum, list) and len(enum) > 0


def _default_comment(schema: dict[str, Any]) -> str:
    default = schema["default"]
    if isinstance(default, str):
        return f"default: {default}" if _is_enum(schema) else f'default: "{default}"'
    return f"default: {_json(default)}"


def _nullable(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("nullable") is True


def schema_to_typescript(schema: Any, indent: str = "") -> str:
    """A port of harmony's ``json_schema_to_typescript``, quirks included."""
    if not isinstance(schema, dict):
        return "any"
    one_of = schema.get("oneOf")
    if one_of is not None and isinstance(one_of, list):
        out = ""
        for variant in one_of:
            out += f"\n{indent} | "
            type_str = schema_to_typescript(variant, indent + "   ")
            if _nullable(variant) and "null" not in type_str:
                type_str += " | null"
            out += type_str
            comments = []
            if isinstance(variant, dict):
                if isinstance(variant.get("description"), str):
                    comments.append(variant["description"])
                if "default" in variant:
                    # Here harmony has no "enum string unquoted" case: Display quotes it.
                    default = variant["default"]
                    if isinstance(default, str) and not _is_enum(variant):
                        comments.append(f'default: "{default}"')
                    else:
                        comments.append(f"default: {_json(default)}")
            if comments:
                out += " // " + " ".join(comments)
        return out
    ty = schema.get("type")
    if isinstance(ty, list):
        names = ["number" if t == "integer" else t for t in ty if isinstance(t, str)]
        if names:
            return " | ".join(names)
    if not isinstance(ty, str):
        return "any"
    if ty == "object":
        return _object_to_typescript(schema, indent)
    if ty == "string":
        enum = schema.get("enum")
        if isinstance(enum, list):
            values = [f'"{v}"' for v in enum if isinstance(v, str)]
            if values:
                return " | ".join(values)
        return "string"
    if ty in ("number", "integer"):
        return "number"
    if ty == "boolean":
        return "boolean"
    if ty == "array":
        if "items" in schema:
            return schema_to_typescript(schema["items"], indent) + "[]"
        return "Array<any>"
    return "any"


def _object_to_typescript(schema: dict[str, Any], indent: str) -> str:
    out = ""
    if isinstance(schema.get("description"), str):
        out += f"{indent}// {schema['description']}\n"
    out += "{\n"
    props = schema.get("properties")
    if isinstance(props, dict):
        req = schema.get("required")
        required = {r for r in req if isinstance(r, str)} if isinstance(req, list) else set()
        for key, val in props.items():
            val = val if isinstance(val, dict) else {}
            mark = "" if key in required else "?"
            if isinstance(val.get("title"), str):
                out += f"{indent}// {val['title']}\n{indent}//\n"
            if "oneOf" not in val and isinstance(val.get("description"), str):
                out += f"{indent}// {val['description']}\n"
            examples = val.get("examples")
            if isinstance(examples, list) and examples:
                out += f"{indent}// Examples:\n"
                for ex in examples:
                    if isinstance(ex, str):
                        out += f'{indent}// - "{ex}"\n'
            one_of = val.get("oneOf")
            if isinstance(one_of, list):
                out += _property_one_of(key, mark, val, one_of, indent)
                continue
            out += f"{indent}{key}{mark}: "
            type_str = schema_to_typescript(val, indent + "    ")
            if _nullable(val) and "null" not in type_str:
                type_str += " | null"
            out += type_str + ","
            if "oneOf" not in val and "default" in val:
                out += " // " + _default_comment(val)
            out += "\n"
    out += f"{indent}}}"
    return out


def _property_one_of(
    key: str, mark: str, val: dict[str, Any], one_of: list[Any], indent: str
) -> str:
    out = ""
    desc = val.get("description") if isinstance(val.get("description"), str) else None
    first = one_of[0] if one_of and isinstance(one_of[0], dict) else {}
    skip_desc = desc is not None and first.get("description") == desc
    desc_above = False
    if not skip_desc and desc is not None:
        out += f"{indent}// {desc}\n"
        desc_above = True
    if "default" in val:
        out += f"{indent}// {_default_comment(val)}\n"
    out += f"{indent}{key}{mark}:\n"
    for i, variant in enumerate(one_of):
        out += f"{indent} | "
        type_str = schema_to_typescript(variant, indent + "   ")
        if _nullable(variant) and "null" not in type_str:
            type_str += " | null"
        out += type_str
        comments = []
        variant = variant if isinstance(variant, dict) else {}
        vdesc = variant.get("description")
        if not (i == 0 and desc_above) and isinstance(vdesc, str) and vdesc != desc:
            comments.append(vdesc)
        if "default" in variant:
            comments.append(_default_comment(variant))
        if comments:
            out += " // " + " ".join(comments)
        out += "\n"
    out += f"{indent},\n"
    return out
