"""``hearth history``: list, read, search, export, import and tidy saved conversations."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from app.chat.documents import export_chat, export_chat_text
from app.chat.forget import empty_trash
from app.library import LibraryError
from app.store import (
    MARK_END,
    MARK_START,
    Conversation,
    Store,
    StoreError,
    import_file,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("history", help="list, search, export and import saved conversations")
    p.set_defaults(func=lambda args: _usage(p))
    hs = p.add_subparsers(dest="history_command", metavar="ACTION")

    ls = hs.add_parser("list", help="list conversations (pinned first, then most recent)")
    ls.add_argument("--trash", action="store_true", help="list the trash instead")
    ls.add_argument("--limit", type=int, default=None, help="show at most N")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    ls.set_defaults(func=_list)

    sh = hs.add_parser("show", help="print a conversation (its active branch)")
    sh.add_argument("id", type=int)
    sh.add_argument("--json", action="store_true", help="machine-readable output")
    sh.set_defaults(func=_show)

    se = hs.add_parser("search", help="full-text search over all messages")
    se.add_argument("query", nargs="+")
    se.add_argument("--limit", type=int, default=20)
    se.add_argument("--json", action="store_true", help="machine-readable output")
    se.set_defaults(func=_search)

    ex = hs.add_parser("export", help="export a conversation to Markdown or JSON")
    ex.add_argument("id", type=int)
    ex.add_argument("--format", choices=("md", "json"), default="md")
    ex.add_argument("-o", "--output", type=Path, help="write to this file (default: stdout)")
    ex.set_defaults(func=_export)

    im = hs.add_parser("import", help="import a conversation exported as JSON")
    im.add_argument("file", type=Path)
    im.set_defaults(func=_import)

    rn = hs.add_parser("rename", help="rename a conversation")
    rn.add_argument("id", type=int)
    rn.add_argument("title", nargs="+")
    rn.set_defaults(func=_rename)

    for name, helptext, pinned in (
        ("pin", "pin a conversation to the top", True),
        ("unpin", "unpin a conversation", False),
    ):
        pp = hs.add_parser(name, help=helptext)
        pp.add_argument("id", type=int)
        pp.set_defaults(func=_pin, pinned=pinned)

    de = hs.add_parser("delete", help="move a conversation to the trash (restorable)")
    de.add_argument("id", type=int)
    de.set_defaults(func=_delete)

    rs = hs.add_parser("restore", help="bring a conversation back from the trash")
    rs.add_argument("id", type=int)
    rs.set_defaults(func=_restore)

    et = hs.add_parser("empty-trash", help="permanently delete the conversations in the trash")
    et.set_defaults(func=_empty_trash)


def _usage(p: argparse.ArgumentParser) -> int:
    p.print_help(sys.stderr)
    return 2


def _fail(exc: Exception) -> int:
    print(f"hearth history: {exc}", file=sys.stderr)
    return 1


def _open(*, write: bool) -> Store:
    # Reading works on a read-only or locked database too; writing must not pretend.
    return Store.open(readonly_fallback=not write)


def _when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t))


def _conv_dict(c: Conversation) -> dict[str, Any]:
    return {
        "id": c.id,
        "title": c.display_title,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
        "pinned": c.pinned,
        "messages": c.message_count,
        "deleted_at": c.deleted_at,
    }


def _list(args: argparse.Namespace) -> int:
    try:
        with _open(write=False) as store:
            convs = store.list_conversations(trashed=args.trash, limit=args.limit)
    except StoreError as exc:
        return _fail(exc)
    if args.json:
        print(json.dumps([_conv_dict(c) for c in convs], ensure_ascii=False, indent=2))
        return 0
    if not convs:
        print("The trash is empty." if args.trash else "No saved conversations yet.")
        return 0
    for c in convs:
        mark = "*" if c.pinned else " "
        print(
            f"{c.id:>6} {mark} {_when(c.updated_at)}  {c.message_count:>5} msgs  {c.display_title}"
        )
    return 0


def _show(args: argparse.Namespace) -> int:
    try:
        with _open(write=False) as store:
            conv = store.get_conversation(args.id)
            path = store.active_path(args.id)
            branches = {m.id: store.siblings(m.id) for m in path}
    except StoreError as exc:
        return _fail(exc)
    if args.json:
        out = _conv_dict(conv) | {
            "settings": conv.settings,
            "path": [
                m.to_dict() | {"branch": [branches[m.id].position, branches[m.id].count]}
                for m in path
            ],
        }
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return 0
    print(f"# {conv.display_title}" + ("  (in the trash)" if conv.trashed else ""))
    for m in path:
        sib = branches[m.id]
        branch = f"  ‹ {sib.position}/{sib.count} ›" if sib.count > 1 else ""
        status = "" if m.status == "done" else f"  [{m.status}]"
        who = {"user": "You", "assistant": "Assistant", "tool": f"Tool {m.name or ''}"}.get(
            m.role, m.role.title()
        )
        print(f"\n## {who}{branch}{status}")
        if m.reasoning:
            print("(reasoning) " + m.reasoning.strip())
        if m.content:
            print(m.content.rstrip())
        if m.error:
            print(f"(error: {m.error})")
    return 0


def _search(args: argparse.Namespace) -> int:
    query = " ".join(args.query)
    try:
        with _open(write=False) as store:
            hits = store.search(query, limit=args.limit)
    except StoreError as exc:
        return _fail(exc)
    if args.json:
        rows = [
            {
                "conversation_id": h.conversation_id,
                "title": h.conversation_title,
                "message_id": h.message_id,
                "role": h.role,
                "snippet": h.snippet_text("[", "]"),
                "rank": h.rank,
            }
            for h in hits
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not hits:
        print(f"No messages match {query!r}.")
        return 0
    bold = sys.stdout.isatty()
    for h in hits:
        snippet = " ".join(h.snippet.split())
        snippet = (
            snippet.replace(MARK_START, "\x1b[1m").replace(MARK_END, "\x1b[0m")
            if bold
            else snippet.replace(MARK_START, "[").replace(MARK_END, "]")
        )
        title = h.conversation_title or "New chat"
        print(f"{h.conversation_id:>6}  {title}  (message {h.message_id})")
        print(f"        {snippet}")
    return 0


def _export(args: argparse.Namespace) -> int:
    fmt = "json" if args.format == "json" else "md"
    try:
        with _open(write=False) as store:
            if args.output is None:
                sys.stdout.write(export_chat_text(store, args.id, fmt))
                return 0
            export_chat(store, args.id, args.output, fmt)
    except StoreError as exc:
        return _fail(exc)
    except OSError as exc:
        print(
            f"hearth history: cannot write {args.output}: {exc.strerror}. "
            "Choose another file or folder.",
            file=sys.stderr,
        )
        return 1
    print(f"Exported conversation {args.id} to {args.output}")
    return 0


def _import(args: argparse.Namespace) -> int:
    try:
        with _open(write=True) as store:
            cid = import_file(store, args.file)
            title = store.get_conversation(cid).display_title
    except StoreError as exc:
        return _fail(exc)
    print(f"Imported {args.file} as conversation {cid}: {title}")
    return 0


def _rename(args: argparse.Namespace) -> int:
    try:
        with _open(write=True) as store:
            store.rename(args.id, " ".join(args.title))
    except StoreError as exc:
        return _fail(exc)
    print(f"Renamed conversation {args.id}.")
    return 0


def _pin(args: argparse.Namespace) -> int:
    try:
        with _open(write=True) as store:
            store.set_pinned(args.id, args.pinned)
    except StoreError as exc:
        return _fail(exc)
    print(f"{'Pinned' if args.pinned else 'Unpinned'} conversation {args.id}.")
    return 0


def _delete(args: argparse.Namespace) -> int:
    try:
        with _open(write=True) as store:
            store.trash(args.id)
    except StoreError as exc:
        return _fail(exc)
    print(
        f"Moved conversation {args.id} to the trash. Undo with `hearth history restore {args.id}`."
    )
    return 0


def _restore(args: argparse.Namespace) -> int:
    try:
        with _open(write=True) as store:
            store.restore(args.id)
    except StoreError as exc:
        return _fail(exc)
    print(f"Restored conversation {args.id}.")
    return 0


def _empty_trash(args: argparse.Namespace) -> int:
    try:
        with _open(write=True) as store:
            purged, files = empty_trash(store)
    except (StoreError, LibraryError) as exc:
        return _fail(exc)
    n = len(purged)
    attached = f" and {files} attached file{'s' if files != 1 else ''}" if files else ""
    print(f"Deleted {n} conversation{'s' if n != 1 else ''}{attached} from the trash for good.")
    return 0
