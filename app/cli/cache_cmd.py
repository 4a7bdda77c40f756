"""``hearth cache``: the chats' KV state kept on disk so a chat reopens without being read again.

    hearth cache list [--json]     every saved state: chat, tokens, size, model, last used
    hearth cache clear             remove them all (chats are then read again once)
    hearth cache budget [MB|auto]  show or set the space it may use

The files are a cache (``app.engine.kvfiles``): clearing them loses nothing but time.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("cache", help="the chats' saved KV state (instant reopen): list, clear")
    p.set_defaults(func=_list)
    cs = p.add_subparsers(dest="cache_command", metavar="ACTION")
    ls = cs.add_parser("list", help="every saved state, most recently used first")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    ls.set_defaults(func=_list)
    cl = cs.add_parser("clear", help="remove every saved state")
    cl.set_defaults(func=_clear)
    bu = cs.add_parser("budget", help="show or set the disk space the cache may use")
    bu.add_argument("size", nargs="?", metavar="MB|auto", help="megabytes, or 'auto'")
    bu.set_defaults(func=_budget)


def _titles(keys: list[str]) -> dict[str, str]:
    """The chats' titles, where the store has them (a state outlives a deleted chat until the
    budget removes it)."""
    ids = {k: int(m.group(1)) for k in keys if (m := re.fullmatch(r"chat-(\d+)", k))}
    if not ids:
        return {}
    out: dict[str, str] = {}
    try:
        from app.store import Store, StoreError

        store = Store.open(readonly=True)
    except Exception:
        return out
    try:
        for key, cid in ids.items():
            try:
                out[key] = store.get_conversation(cid).display_title
            except StoreError:
                out[key] = "(deleted chat)"
    finally:
        store.close()
    return out


def _budget_line() -> str:
    from app.engine import kvfiles

    chosen = kvfiles.budget_setting()
    budget = kvfiles.budget_bytes()
    how = "automatic: 2 GB or 5 % of the free space" if chosen is None else "set"
    return f"budget {kvfiles.human(budget)} ({how})"


def _list(args: argparse.Namespace) -> int:
    from app.engine import kvfiles

    entries = kvfiles.entries()
    titles = _titles([e.key for e in entries])
    if getattr(args, "json", False):
        rows: list[dict[str, Any]] = [
            {
                "key": e.key,
                "chat": titles.get(e.key),
                "tokens": e.n_tokens,
                "bytes": e.size,
                "model": e.model,
                "last_used": e.last_used,
                "valid": e.valid,
                "path": str(e.path),
            }
            for e in entries
        ]
        json.dump(
            {
                "folder": str(kvfiles.folder()),
                "bytes": sum(e.size for e in entries),
                "budget_bytes": kvfiles.budget_bytes(),
                "entries": rows,
            },
            sys.stdout,
            indent=2,
        )
        sys.stdout.write("\n")
        return 0
    total = sum(e.size for e in entries)
    print(
        f"{len(entries)} saved state{'s' if len(entries) != 1 else ''}, "
        f"{kvfiles.human(total)} of a {_budget_line()}, in {kvfiles.folder()}"
    )
    for e in entries:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(e.last_used))
        what = titles.get(e.key) or e.key
        if not e.valid:
            note = "unreadable: removed when its chat is next used"
            print(f"  {when}  {kvfiles.human(e.size):>9}  {e.path.name}: {note}")
            continue
        print(f"  {when}  {kvfiles.human(e.size):>9}  {e.n_tokens:>7,} tokens  {what}  [{e.model}]")
    return 0


def _clear(args: argparse.Namespace) -> int:
    from app.engine import kvfiles

    n, size = kvfiles.clear()
    print(f"Removed {n} saved state{'s' if n != 1 else ''} ({kvfiles.human(size)}).")
    return 0


def _budget(args: argparse.Namespace) -> int:
    from app.engine import kvfiles

    if args.size is not None:
        text = args.size.strip().lower()
        if text == "auto":
            kvfiles.set_budget(None)
        else:
            try:
                mb = float(text)
            except ValueError:
                print(
                    f"hearth cache budget: {args.size!r} is not a size. "
                    "Give megabytes (e.g. 2000) or 'auto'.",
                    file=sys.stderr,
                )
                return 2
            if mb < 0:
                print("hearth cache budget: the size cannot be negative.", file=sys.stderr)
                return 2
            kvfiles.set_budget(int(mb * 1_000_000))
        kvfiles.enforce_budget()
    print(_budget_line())
    return 0
