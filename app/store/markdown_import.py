"""Import a chat from Hearth's Markdown export (``export_markdown``) as a new conversation.

The Markdown export is for reading, so it carries less than the JSON one: the active branch only,
no stats or times. What it has comes back: the title, the instructions, each message ("## You",
"## Assistant (model)"), the reasoning (its ``<details>`` block) and a reply's stopped or failed
note. Tool calls come back as a line saying which tool was called (their results are not in a
form a later turn can use); the JSON export is the lossless one.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from app.store.errors import ImportFormatError
from app.store.store import Store
from app.store.transfer import FORMAT, FORMAT_VERSION, MAX_IMPORT_BYTES, import_file, validate

_DETAILS = re.compile(
    r"<details>\n<summary>(?P<summary>[^\n]*)</summary>\n\n(?P<body>.*?)\n\n</details>", re.S
)
_ASSISTANT = re.compile(r"## Assistant(?: \((?P<model>[^\n]*)\))?")
_NOTE = re.compile(r"\*\((?:reply (?P<status>cancelled|interrupted)|error: (?P<error>.*))\)\*")
_FENCE = re.compile(r"^(`{3,}|~{3,})")


def _sections(lines: list[str]) -> list[tuple[str, list[str]]]:
    """The document cut at its top-level "## " headings (outside code fences)."""
    out: list[tuple[str, list[str]]] = [("", [])]
    fence = ""
    for line in lines:
        m = _FENCE.match(line)
        if m and (not fence or line.startswith(fence)):
            fence = "" if fence else m.group(1)
        if not fence and line.startswith("## "):
            out.append((line, []))
        else:
            out[-1][1].append(line)
    return out


def _assistant(body: str) -> dict[str, Any]:
    reasoning, status, error, calls = "", "done", None, []
    text = body
    for m in list(_DETAILS.finditer(body)):
        summary = m.group("summary")
        if summary == "Reasoning":
            reasoning = m.group("body")
        elif summary.startswith("Tool call: "):
            calls.append(summary.removeprefix("Tool call: "))
        else:
            continue
        text = text.replace(m.group(0), "", 1)
    lines = text.strip().split("\n")
    note = _NOTE.fullmatch(lines[-1].strip()) if lines else None
    if note:
        lines = lines[:-1]
        if note.group("status"):
            status = note.group("status")
        else:
            status, error = "error", note.group("error")
    content = "\n".join(lines).strip()
    if calls:  # said, not replayed: a later turn cannot use a call without its result
        called = ", ".join(calls)
        content = (f"*(Called {called}.)*\n\n" + content).strip()
    return {"content": content, "reasoning": reasoning.strip(), "status": status, "error": error}


def parse_markdown_export(text: str) -> dict[str, Any]:
    """The chat in a Markdown export, as the JSON export's data (``transfer.validate`` reads it).
    Raises ImportFormatError when the text is not one of Hearth's Markdown exports."""
    lines = text.replace("\r\n", "\n").split("\n")
    sections = _sections(lines)
    preamble = "\n".join(sections[0][1])
    title_line = next((ln for ln in sections[0][1] if ln.startswith("# ")), None)
    if title_line is None or len(sections) < 2:
        raise ImportFormatError(
            "The file is not a chat exported by Hearth (no '# Title' and '## You' sections).",
            "Export the chat again from Hearth (Markdown or JSON), then import that file.",
        )
    settings: dict[str, Any] = {}
    for m in _DETAILS.finditer(preamble):
        if m.group("summary") == "Instructions":
            settings["instructions"] = m.group("body")
    effort = re.search(r"reasoning effort (low|medium|high)", preamble)
    if effort:
        settings["effort"] = effort.group(1)
    now = time.time()
    messages: list[dict[str, Any]] = []
    for heading, body_lines in sections[1:]:
        body = "\n".join(body_lines).strip()
        parent = messages[-1]["id"] if messages else None
        msg: dict[str, Any] = {"id": len(messages) + 1, "parent": parent, "created_at": now}
        if heading.strip() == "## You":
            body = re.sub(r"\n*\*Attached: [^\n]*\*$", "", body)  # the files stay behind
            msg.update(role="user", content=body)
        elif head := _ASSISTANT.fullmatch(heading.strip()):
            msg.update(role="assistant", model=head.group("model"), **_assistant(body))
        elif messages:  # a "## " line of the text itself: part of the message before it
            messages[-1]["content"] += f"\n\n{heading}\n{body}".rstrip()
            continue
        else:
            continue
        messages.append(msg)
    if not messages:
        raise ImportFormatError(
            "The file has no messages ('## You' / '## Assistant' sections).",
            "Export the chat again from Hearth, then import that file.",
        )
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "conversation": {
            "title": title_line[2:].strip(),
            "created_at": now,
            "updated_at": now,
            "settings": settings,
        },
        "messages": messages,
    }


def import_markdown_text(store: Store, text: str) -> int:
    """Import a Markdown export as a new conversation; returns its id."""
    return store.insert_tree(**validate(parse_markdown_export(text)))


def import_chat_file(store: Store, path: Path | str) -> int:
    """Import a chat exported by Hearth, as JSON or as Markdown (told apart by the text itself);
    returns the new conversation's id. Raises ImportFormatError naming what is wrong."""
    p = Path(path)
    try:
        with p.open("rb") as f:
            head = f.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    except OSError:
        return import_file(store, p)  # its messages name a missing file, a folder, permissions
    if head.startswith(b"{"):
        return import_file(store, p)
    if p.stat().st_size > MAX_IMPORT_BYTES:
        raise ImportFormatError(f"{p} is too large to be a conversation export.")
    try:
        text = p.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFormatError(
            f"{p} is not a text file (not UTF-8).", "Is it a Hearth export (.json or .md)?"
        ) from exc
    return import_markdown_text(store, text)
