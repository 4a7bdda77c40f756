"""Export a conversation to Markdown or JSON, and import such JSON back as a new conversation.

JSON is lossless (every branch, settings, stats, statuses, times); Markdown shows the active
branch for reading, with reasoning and tool calls in collapsible ``<details>`` blocks.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from app.fsutil import atomic_write
from app.store.errors import ImportFormatError
from app.store.migrations import SCHEMA_VERSION
from app.store.models import ROLES, STATUSES, Message
from app.store.store import Store

FORMAT = "hearth.conversation"
FORMAT_VERSION = 1
MAX_IMPORT_BYTES = 512 * 1024 * 1024


def export_json(store: Store, conversation_id: int) -> dict[str, Any]:
    conv = store.get_conversation(conversation_id)
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "schema_version": SCHEMA_VERSION,
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "conversation": {
            "id": conv.id,
            "title": conv.title,
            "created_at": conv.created_at,
            "updated_at": conv.updated_at,
            "pinned": conv.pinned,
            "settings": conv.settings,
            "active_leaf": conv.active_leaf_id,
        },
        "messages": [m.to_dict() for m in store.messages(conversation_id)],
    }


def export_json_text(store: Store, conversation_id: int) -> str:
    return json.dumps(export_json(store, conversation_id), ensure_ascii=False, indent=2) + "\n"


def _fence(text: str, lang: str = "") -> str:
    """A code fence longer than any backtick run inside ``text``."""
    longest = run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{lang}\n{text}\n{ticks}"


def _details(summary: str, body: str) -> str:
    return f"<details>\n<summary>{summary}</summary>\n\n{body}\n\n</details>"


def _stamp(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t))


def _assistant_parts(m: Message) -> list[str]:
    parts: list[str] = []
    if m.reasoning.strip():
        parts.append(_details("Reasoning", m.reasoning.strip()))
    for call in m.tool_calls or []:
        name = str(call.get("name", "tool"))
        args = call.get("arguments", "")
        if not isinstance(args, str):
            args = json.dumps(args, ensure_ascii=False, indent=2)
        body = _fence(args, "json")
        if "result" in call:
            result = call["result"]
            if not isinstance(result, str):
                result = json.dumps(result, ensure_ascii=False, indent=2)
            body += "\n\nResult:\n\n" + _fence(result)
        parts.append(_details(f"Tool call: {name}", body))
    if m.content.strip():
        parts.append(m.content.strip())
    if m.status in ("cancelled", "interrupted"):
        parts.append(f"*(reply {m.status})*")
    elif m.status == "error":
        parts.append(f"*(error: {m.error or 'unknown'})*")
    return parts


def _attached(attachments: list[dict[str, Any]]) -> str:
    """ "*Attached: notes.md (1.2 KB), paper.pdf (20.1 MB, 60 pages; read through the browser)*"
    (the files themselves stay in Hearth's data folder)."""
    from app.attachments.extract import format_size

    items = []
    for a in attachments:
        if not isinstance(a, dict):
            continue
        facts = [format_size(int(a.get("size") or 0))]
        if a.get("pages"):
            facts.append(f"{a['pages']} pages")
        note = "; read through the browser" if a.get("inline") is False else ""
        items.append(f"{a.get('name') or 'file'} ({', '.join(facts)}{note})")
    return "*Attached: " + ", ".join(items) + "*"


def export_text(store: Store, conversation_id: int, fmt: str) -> str:
    """The conversation as Markdown (``fmt="md"``) or Hearth's JSON (``fmt="json"``)."""
    if fmt == "json":
        return export_json_text(store, conversation_id)
    if fmt == "md":
        return export_markdown(store, conversation_id)
    raise ValueError(f"unknown export format {fmt!r}: expected md or json")


def export_to_file(store: Store, conversation_id: int, path: Path | str, fmt: str) -> Path:
    """Write the export atomically: an existing file is replaced whole or not at all. Raises
    StoreError (reading the chat) or OSError (writing the file)."""
    return atomic_write(path, export_text(store, conversation_id, fmt))


def export_markdown(store: Store, conversation_id: int) -> str:
    conv = store.get_conversation(conversation_id)
    lines = [f"# {conv.display_title}", ""]
    meta = [f"Created {_stamp(conv.created_at)}"]
    if conv.settings.get("model"):
        meta.append(f"model {conv.settings['model']}")
    if conv.settings.get("effort"):
        meta.append(f"reasoning effort {conv.settings['effort']}")
    lines += ["*" + " · ".join(meta) + "*", ""]
    if conv.settings.get("instructions"):
        lines += [_details("Instructions", str(conv.settings["instructions"])), ""]
    for m in store.active_path(conversation_id):
        if m.role == "user":
            lines += ["## You", "", m.content.strip(), ""]
            if m.attachments:
                lines += [_attached(m.attachments), ""]
        elif m.role == "assistant":
            head = "## Assistant" + (f" ({m.model})" if m.model else "")
            lines += [head, "", "\n\n".join(_assistant_parts(m)), ""]
        elif m.role == "tool":
            lines += [_details(f"Tool result: {m.name or 'tool'}", _fence(m.content)), ""]
        else:
            lines += [_details("System", m.content.strip()), ""]
    return "\n".join(lines).rstrip() + "\n"


# ------------------------------------------------------------------------------------ import
def _bad(what: str) -> ImportFormatError:
    return ImportFormatError(
        f"Not a valid Hearth conversation export: {what}.",
        "Export the chat again with `hearth history export ID --format json`.",
    )


def _text(d: dict[str, Any], key: str, *, optional: bool = False, default: str = "") -> Any:
    value = d.get(key, None if optional else default)
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise _bad(f"'{key}' must be text")
    return value


def _time(d: dict[str, Any], key: str, fallback: float) -> float:
    value = d.get(key, fallback)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _bad(f"'{key}' must be a number of seconds")
    return float(value)


def _json_obj(d: dict[str, Any], key: str, kind: type) -> Any:
    value = d.get(key)
    if value is not None and not isinstance(value, kind):
        raise _bad(f"'{key}' must be a {'list' if kind is list else 'JSON object'}")
    return value


def validate(data: Any) -> dict[str, Any]:
    """Check an export and return the normalised arguments for ``Store.insert_tree``."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise _bad('it is not a Hearth conversation file (no "format": "hearth.conversation")')
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise _bad("missing format version")
    if version > FORMAT_VERSION:
        raise ImportFormatError(
            f"This conversation was exported by a newer Hearth (format {version}; this version "
            f"reads up to {FORMAT_VERSION}).",
            "Update Hearth to import it.",
        )
    conv = data.get("conversation")
    msgs = data.get("messages")
    if not isinstance(conv, dict):
        raise _bad("missing 'conversation' object")
    if not isinstance(msgs, list):
        raise _bad("missing 'messages' list")
    now = time.time()
    settings = conv.get("settings") or {}
    if not isinstance(settings, dict):
        raise _bad("'settings' must be a JSON object")
    seen: set[Any] = set()
    out: list[dict[str, Any]] = []
    for i, m in enumerate(msgs):
        if not isinstance(m, dict):
            raise _bad(f"message {i + 1} is not an object")
        mid = m.get("id")
        if not isinstance(mid, int | str) or isinstance(mid, bool) or mid in seen:
            raise _bad(f"message {i + 1} has a missing or repeated id")
        parent = m.get("parent")
        if parent is not None and (not isinstance(parent, int | str) or parent not in seen):
            raise _bad(
                f"message {i + 1} refers to parent {parent!r}, which comes nowhere before it"
            )
        role = m.get("role")
        if role not in ROLES:
            raise _bad(f"message {i + 1} has an unknown role {role!r}")
        status = m.get("status", "done")
        if status not in STATUSES:
            raise _bad(f"message {i + 1} has an unknown status {status!r}")
        created = _time(m, "created_at", now)
        calls = _json_obj(m, "tool_calls", list)
        if calls is not None and not all(isinstance(c, dict) for c in calls):
            # Each later turn of the chat (and its Markdown export) reads calls as objects.
            raise _bad(f"message {i + 1} has a tool call that is not a JSON object")
        out.append(
            {
                "id": mid,
                "parent": parent,
                "role": role,
                "name": _text(m, "name", optional=True),
                "content": _text(m, "content"),
                "reasoning": _text(m, "reasoning"),
                "tool_calls": calls,
                "model": _text(m, "model", optional=True),
                # Nothing is streaming into an imported chat.
                "status": "interrupted" if status == "streaming" else status,
                "error": _text(m, "error", optional=True),
                "stats": _json_obj(m, "stats", dict),
                "tool_result": _json_obj(m, "tool_result", dict),
                "attachments": _attachments(m, i),
                "created_at": created,
                "updated_at": _time(m, "updated_at", created),
            }
        )
        seen.add(mid)
    created = _time(conv, "created_at", now)
    return {
        "title": " ".join(_text(conv, "title").split()),
        "settings": settings,
        "pinned": bool(conv.get("pinned", False)),
        "created_at": created,
        "updated_at": _time(conv, "updated_at", created),
        "messages": out,
        "active_leaf": leaf if isinstance(leaf := conv.get("active_leaf"), int | str) else None,
    }


def _attachments(m: dict[str, Any], i: int) -> list[dict[str, Any]] | None:
    items = _json_obj(m, "attachments", list)
    if items is not None and not all(isinstance(a, dict) for a in items):
        raise _bad(f"message {i + 1} has an attachment that is not a JSON object")
    return items


def import_json_text(store: Store, text: str) -> int:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(
            f"The file is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}).",
            "Is it a Hearth export (`hearth history export ID --format json`)?",
        ) from exc
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:  # "\ud800" escapes: not text SQLite can store
        raise _bad("it contains invalid characters (unpaired surrogates)") from exc
    return store.insert_tree(**validate(data))


def import_file(store: Store, path: Path | str) -> int:
    """Import a JSON export as a new conversation; returns its id."""
    p = Path(path)
    try:
        if p.is_dir():
            raise ImportFormatError(f"{p} is a folder, not an exported conversation.")
        if p.stat().st_size > MAX_IMPORT_BYTES:
            raise ImportFormatError(f"{p} is too large to be a conversation export.")
        raw = p.read_bytes()
    except FileNotFoundError as exc:
        raise ImportFormatError(f"No such file: {p}.", "Check the path.") from exc
    except PermissionError as exc:
        raise ImportFormatError(
            f"Permission denied reading {p}.", "Check its permissions."
        ) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFormatError(
            f"{p} is not a text file (not UTF-8).", "Is it a Hearth JSON export?"
        ) from exc
    return import_json_text(store, text)
