"""``hearth remotes``: the OpenAI-compatible servers Hearth can chat through.

    hearth remotes add gpu http://gpu-box:8000/v1 --model openai/gpt-oss-120b --api-key-stdin
    hearth remotes list [--json]
    hearth remotes test gpu
    hearth remotes remove gpu
    hearth chat --remote gpu "Why is the sky blue?"

The API key is read from stdin (or asked for on a terminal), never from the command line, so it
stays out of the shell history and the process list. It goes to the OS keyring; where there is
none, to a file only you can read, and ``add`` says so. No command prints a key.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any

from app.cli.chat_cmd import _number, one_line_errors
from app.hub.fmt import plural
from app.remote.connections import (
    DEFAULT_STALL_S,
    Connection,
    RemoteError,
    Remotes,
    clear_text_warning,
    normalise_url,
)
from app.remote.keys import FILE, KeyStoreError, key_file


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "remotes",
        help="servers to chat through (vLLM, llama-server, Ollama, another Hearth)",
        description="Connections to OpenAI-compatible servers. A chat can use one instead of a "
        "local model: `hearth chat --remote NAME`, or pick it in the app's models dialog.",
    )
    one_line_errors(p)
    sub2 = p.add_subparsers(dest="remotes_command", metavar="ACTION", required=True)

    add = sub2.add_parser("add", help="add or change a connection")
    add.add_argument("name", metavar="NAME", help="what to call it (letters, digits, . _ -)")
    add.add_argument(
        "url", metavar="URL", help="the server's API address, e.g. http://host:8000/v1"
    )
    add.add_argument("--model", metavar="M", help="the model to use (default: the server's first)")
    keys = add.add_mutually_exclusive_group()
    keys.add_argument(
        "--api-key-stdin",
        action="store_true",
        help="read the API key from stdin (asked for on a terminal)",
    )
    keys.add_argument("--no-api-key", action="store_true", help="forget the connection's key")
    add.add_argument(
        "--ca-bundle",
        metavar="FILE",
        help="PEM file of the CA that signed the server's certificate",
    )
    add.add_argument(
        "--stall-timeout",
        type=_number(float),
        metavar="S",
        help=f"give up when the server sends nothing for S seconds (default {DEFAULT_STALL_S:g})",
    )
    add.add_argument(
        "--extra-body",
        metavar="JSON",
        help="fields added to every request, e.g. '{\"chat_template_kwargs\": {...}}'",
    )
    add.add_argument("--no-test", action="store_true", help="do not contact the server now")
    add.set_defaults(func=run_add)
    one_line_errors(add)

    ls = sub2.add_parser("list", help="list the connections")
    ls.add_argument("--json", action="store_true", help="one JSON object per line (no keys)")
    ls.set_defaults(func=run_list)
    one_line_errors(ls)

    test = sub2.add_parser("test", help="list the server's models and ask for a short reply")
    test.add_argument("name", metavar="NAME")
    test.set_defaults(func=run_test)
    one_line_errors(test)

    rm = sub2.add_parser("remove", help="forget a connection and its key")
    rm.add_argument("name", metavar="NAME")
    rm.set_defaults(func=run_remove)
    one_line_errors(rm)


def _err(message: str, code: int = 1) -> int:
    print(f"hearth remotes: {message}", file=sys.stderr)
    return code


def _read_key() -> str:
    tty = sys.stdin.isatty()
    key = (getpass.getpass("API key (not shown): ") if tty else sys.stdin.readline()).strip()
    if not key:
        raise RemoteError("No API key was given on stdin.")
    return key


def run_add(args: argparse.Namespace) -> int:
    remotes = Remotes()
    try:
        extra: dict[str, Any] = {}
        if args.extra_body:
            try:
                extra = json.loads(args.extra_body)
            except ValueError as e:
                return _err(f"--extra-body is not JSON ({e})", 2)
            if not isinstance(extra, dict):
                return _err("--extra-body must be a JSON object", 2)
        if args.stall_timeout is not None and args.stall_timeout <= 0:
            return _err("--stall-timeout must be above 0", 2)
        try:
            old: Connection | None = remotes.get(args.name)
        except RemoteError:
            old = None
        url = normalise_url(args.url)
        conn = Connection(name=args.name, base_url=url)
        if old is not None:  # changing a connection keeps what was not given again
            conn = Connection.from_dict({**old.to_dict(), "base_url": url})
            if conn.base_url != old.base_url:
                conn.reasoning_format = ""  # another server: learn it again
        if args.model is not None:
            conn.model = args.model
        if args.ca_bundle is not None:
            conn.ca_bundle = args.ca_bundle
        if args.stall_timeout is not None:
            conn.stall_timeout = args.stall_timeout
        if args.extra_body is not None:
            conn.extra_body = extra
        key = _read_key() if args.api_key_stdin else ("" if args.no_api_key else None)
        where = remotes.save(conn, key)
    except (RemoteError, KeyStoreError) as e:
        return _err(str(e), 2 if isinstance(e, RemoteError) else 1)
    print(f"Saved '{conn.name}': {conn.base_url}", file=sys.stderr)
    if where == FILE:
        print(
            f"No system keyring is available here: the API key is kept in {key_file()}, "
            "readable only by you.",
            file=sys.stderr,
        )
    warning = clear_text_warning(conn)
    if warning:
        print(f"Warning: {warning}", file=sys.stderr)
    if args.no_test:
        return 0
    return _probe(remotes, conn.name, chat=False)


def run_list(args: argparse.Namespace) -> int:
    try:
        conns = Remotes().connections()
    except RemoteError as e:
        return _err(str(e))
    if args.json:
        for c in conns:
            d = c.to_dict()
            d["has_key"] = c.has_key
            print(json.dumps(d, ensure_ascii=False))
        return 0
    if not conns:
        print("No connections. Add one: hearth remotes add NAME URL [--model M] [--api-key-stdin]")
        return 0
    for c in conns:
        key = {"keyring": "key in keyring", "file": "key in file"}.get(c.key_storage, "no key")
        learned = f", reasoning: {c.reasoning_format}" if c.reasoning_format else ""
        print(f"{c.name}\t{c.base_url}\t{c.model or '(server default)'}\t{key}{learned}")
    return 0


def run_test(args: argparse.Namespace) -> int:
    return _probe(Remotes(), args.name, chat=True)


def run_remove(args: argparse.Namespace) -> int:
    try:
        conn = Remotes().remove(args.name)
    except (RemoteError, KeyStoreError) as e:
        return _err(str(e))
    print(f"Removed '{conn.name}'" + (" and its API key." if conn.has_key else "."))
    return 0


def _probe(remotes: Remotes, name: str, *, chat: bool) -> int:
    """Ask the server for its models (and, with ``chat``, for a short reply); print what
    happened. 0 when the server answered as expected."""
    from app.remote.engine import RemoteEngine, RemoteFailure

    try:
        engine = RemoteEngine.open(name, remotes)
    except (RemoteError, KeyStoreError) as e:
        return _err(str(e))
    try:
        asked = engine.connection.model
        try:
            models = engine.list_models()
        except RemoteFailure as e:
            return _err(e.event.message)
        ids = [m["id"] for m in models]
        print(f"{name}: {plural(len(ids), 'model')}: {', '.join(ids) or 'none'}")
        if asked and ids and asked not in ids:
            return _err(
                f"'{name}' does not list the model '{asked}'. Pick one of: {', '.join(ids)}"
            )
        info = engine.connect()
        if not asked and info.name:
            print(f"Using {info.name} (the server's first model).")
        if not chat:
            return 0
        return _short_reply(engine)
    finally:
        engine.close()


def _short_reply(engine: Any) -> int:
    from app.engine.events import DoneEvent, ErrorEvent, ReasoningEvent
    from app.engine.options import SamplingOptions
    from app.engine.protocol import GenerateRequest
    from app.harmony import Message, PromptSettings

    request = GenerateRequest(
        messages=[Message("user", "Reply with the single word: ready")],
        settings=PromptSettings(effort="low"),
        sampling=SamplingOptions(max_tokens=64),
    )
    reasoning = False
    for ev in engine.stream(request):
        if isinstance(ev, ReasoningEvent):
            reasoning = True
        elif isinstance(ev, ErrorEvent):
            return _err(ev.message)
        elif isinstance(ev, DoneEvent):
            s = ev.stats
            fmt = engine.connection.reasoning_format or "none seen"
            print(
                f"Chat: ok ({s.generated_tokens} tokens, first token {s.ttft_s:.2f} s, "
                f"{s.generation_tps:.1f} tok/s; reasoning: "
                f"{fmt if reasoning or fmt != 'plain' else 'none seen'})."
            )
    return 0
