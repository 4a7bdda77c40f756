"""``hearth tools``: the tools the model may call, and running one call by hand.

    hearth tools list [--json] [--chat ID]
    hearth tools call NAME [--chat ID] [--json] (TEXT | -)
    hearth tools python [--mode off|ask|auto] [--chat ID] [--isolation sandbox|none] [limits]
    hearth tools mcp add [--env K=V]… NAME COMMAND [ARGS…]   (or: add --url URL NAME)
    hearth tools mcp remove NAME | import FILE|- | mode NAME MODE [--chat ID]

``call`` runs exactly what the model would send (code for python, a JSON object for a function)
the way the model's call runs (same sandbox, same limits, same result text) and prints what the
model would read; ``--json`` adds the status, duration, truncation and files. Running it is the
user's own consent: the chat's "ask"/"off" mode does not apply. Exit status: 0 the tool ran
(even if the code raised or timed out), 1 it could not run, 2 bad arguments.
A CLI call starts its own kernel: it does not share state with the app's kernel for that chat.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from app.tools.base import ToolCall, ToolResult
from app.tools.settings import MODES, McpServerConfig, ToolSettings, parse_mcp_servers

RAN = ("ok", "error", "timeout", "interrupted")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tools", help="list the model's tools, run one call, manage MCP servers")
    p.set_defaults(func=lambda args: _usage(p))
    ts = p.add_subparsers(dest="tools_command", metavar="ACTION")

    ls = ts.add_parser("list", help="built-in and MCP tools, their schemas and status")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    ls.add_argument("--chat", type=int, metavar="ID", help="the modes for this chat")
    ls.set_defaults(func=_list)

    call = ts.add_parser("call", help="run one call as the model's would run; print its result")
    call.add_argument("name", metavar="NAME", help="python, or a function name from 'list'")
    call.add_argument("text", metavar="TEXT", help="the code or JSON object; - reads stdin")
    call.add_argument("--chat", type=int, metavar="ID", help="run in this chat's folder")
    call.add_argument("--json", action="store_true", help="status, duration, files as JSON")
    call.set_defaults(func=_call)

    py = ts.add_parser("python", help="show or change the python tool's settings")
    py.add_argument("--mode", choices=MODES, help="off, ask before each run, or run automatically")
    py.add_argument("--chat", type=int, metavar="ID", help="set --mode for this chat only")
    py.add_argument(
        "--isolation",
        choices=("sandbox", "none"),
        help="'none' runs code WITHOUT isolation (with your rights, files and network)",
    )
    py.add_argument("--timeout", type=float, metavar="S", help="seconds per call (default 120)")
    py.add_argument("--memory", type=int, metavar="MB", help="memory cap per process")
    py.add_argument("--processes", type=int, metavar="N", help="processes and threads cap")
    py.set_defaults(func=_python)

    mcp = ts.add_parser("mcp", help="add, remove or import MCP servers")
    mcp.set_defaults(func=lambda args: _usage(mcp))
    ms = mcp.add_subparsers(dest="mcp_command", metavar="ACTION")
    add = ms.add_parser(
        "add",
        help="add a server: [OPTIONS] NAME COMMAND [ARGS…], or --url URL NAME",
        description="Options go before NAME; everything after NAME is the server's command "
        "line (as with `docker run`), e.g. hearth tools mcp add --env KEY=v files npx -y "
        "@modelcontextprotocol/server-filesystem ~/Documents",
    )
    add.add_argument("--url", help="a streamable-HTTP endpoint, e.g. http://127.0.0.1:8000/mcp")
    add.add_argument("--header", action="append", default=[], metavar="K=V")
    add.add_argument("--env", action="append", default=[], metavar="K=V")
    add.add_argument("--mode", choices=MODES, default="ask")
    add.add_argument("--timeout", type=float, metavar="S", help="seconds per call (default 60)")
    add.add_argument("name")
    add.add_argument("command", nargs=argparse.REMAINDER, help="COMMAND [ARGS…]")
    add.set_defaults(func=_mcp_add)
    rm = ms.add_parser("remove", help="remove a server")
    rm.add_argument("name")
    rm.set_defaults(func=_mcp_remove)
    im = ms.add_parser(
        "import", help="import 'mcpServers' JSON (Claude Desktop, Cursor, LM Studio)"
    )
    im.add_argument("file", help="the JSON file, or - for stdin")
    im.set_defaults(func=_mcp_import)
    md = ms.add_parser("mode", help="off, ask or auto for one server")
    md.add_argument("name")
    md.add_argument("mode", choices=MODES)
    md.add_argument("--chat", type=int, metavar="ID", help="for this chat only")
    md.set_defaults(func=_mcp_mode)

    # Hidden: the python tool's kernel in a frozen bundle (no ``python -m`` there).
    k = sub.add_parser("python-kernel")
    k.add_argument("rest", nargs=argparse.REMAINDER)
    k.set_defaults(func=_kernel)


def _usage(p: argparse.ArgumentParser) -> int:
    p.print_help(sys.stderr)
    return 2


def _fail(message: str, code: int = 2) -> int:
    print(message, file=sys.stderr)
    return code


# -- list --------------------------------------------------------------------------------------


def _list(args: argparse.Namespace) -> int:
    from app.tools.mcp.tool import HUB
    from app.tools.python.tool import PythonTool

    settings = ToolSettings.load()
    chat = args.chat
    python = PythonTool(settings.python)
    status = python.status()
    entries: list[dict[str, Any]] = [
        {
            "name": "python",
            "kind": "builtin",
            "mode": settings.mode_for("python", chat),
            "available": status.available,
            "status": status.message,
            "isolation": status.kind if settings.python.isolation == "sandbox" else "none",
            "limits": asdict(settings.python.limits),
            "description": python.namespace().description,
        }
    ]
    configs = [c for c in settings.servers.values() if not c.disabled]
    tools, statuses = HUB.tools_for(configs) if configs else ([], {})
    by_server = {t.name: t for t in tools}
    for config in settings.servers.values():
        server = by_server.get(config.name)
        entries.append(
            {
                "name": config.name,
                "kind": "mcp",
                "transport": config.transport,
                "target": config.url or " ".join([config.command, *config.args]),
                "mode": settings.mode_for(f"mcp:{config.name}", chat),
                "available": server is not None,
                "status": "Disabled." if config.disabled else statuses.get(config.name, ""),
                "functions": [
                    {"name": f.name, "description": f.description, "parameters": f.parameters}
                    for f in (server.functions() if server else [])
                ],
            }
        )
    if args.json:
        print(json.dumps({"tools": entries}, indent=2, ensure_ascii=False))
        return 0
    for e in entries:
        print(f"{e['name']}  [{e['kind']}, {e['mode']}]  {e['status']}")
        for f in e.get("functions", []):
            first = (f["description"] or "").strip().splitlines()
            print(f"  functions.{f['name']}  {first[0] if first else ''}")
    return 0


# -- call --------------------------------------------------------------------------------------


def _call(args: argparse.Namespace) -> int:
    text = sys.stdin.read() if args.text == "-" else args.text
    name = args.name.strip()
    settings = ToolSettings.load()
    if args.chat is not None:
        problem = _check_chat(args.chat)
        if problem:
            return _fail(problem)
    from app.tools import workspace
    from app.tools.base import ToolContext

    ctx = ToolContext(
        work_dir=workspace.work_dir(args.chat),
        conversation_id=args.chat,
        output_dir=workspace.output_dir(args.chat),
    )
    if name == "python":
        from app.tools.python.tool import PythonTool

        tool: Any = PythonTool(settings.python)
        call = ToolCall("python", text, channel="analysis")
    else:
        try:
            value = json.loads(text) if text.strip() else {}
        except ValueError as exc:
            return _fail(f"The arguments are not valid JSON: {exc}.")
        if not isinstance(value, dict):
            return _fail('The arguments must be a JSON object, e.g. \'{"city": "Paris"}\'.')
        recipient = name if name.startswith("functions.") else f"functions.{name}"
        tool, problem = _find_function(settings, recipient)
        if tool is None:
            return _fail(problem, 2 if problem.startswith("No function") else 1)
        call = ToolCall(recipient, text, constrain="json", channel="commentary")
    # Ctrl-C stops the run the way Stop does in the app (the kernel is killed, whole).
    previous = signal.signal(signal.SIGINT, lambda *_: ctx.cancel.set())
    try:
        result = tool.run(call, ctx)
    finally:
        signal.signal(signal.SIGINT, previous)
    _print_result(name, result, args.json)
    return 0 if result.status in RAN else 1


def _find_function(settings: ToolSettings, recipient: str) -> tuple[Any, str]:
    from app.tools.mcp.tool import HUB, function_name

    fname = recipient.removeprefix("functions.")
    configs = [c for c in settings.servers.values() if not c.disabled]
    # Start only the server the name points at, when its prefix says which.
    likely = [c for c in configs if fname.startswith(function_name(c.name, ""))]
    tools, statuses = HUB.tools_for(likely or configs)
    for tool in tools:
        if tool.handles(recipient):
            return tool, ""
    down = [s for n, s in statuses.items() if not any(t.name == n for t in tools)]
    if down and likely:
        return None, " ".join(down)
    names = [f"functions.{f.name}" for t in tools for f in t.functions()]
    known = ", ".join(["python", *names])
    return None, f"No function named '{fname}'. Known tools: {known}."


def _check_chat(chat: int) -> str:
    from app import paths
    from app.store import Store, StoreError

    if not paths.database_path().exists():
        return f"No conversation with id {chat}. List them with `hearth history list`."
    try:
        with Store.open(readonly=True) as store:
            store.get_conversation(chat)
    except StoreError as exc:
        return str(exc)
    return ""


def _print_result(name: str, result: ToolResult, as_json: bool) -> None:
    if as_json:
        d = result.to_dict()
        d["name"] = name
        print(json.dumps(d, indent=2, ensure_ascii=False))
        return
    sys.stdout.write(result.text if result.text.endswith("\n") else result.text + "\n")
    extras = [result.status, f"{result.duration_s:.2f} s"]
    if result.truncated:
        extras.append("output cut for the model")
    extras += [f"image {f.path}" for f in result.images]
    extras += [f"file {f.path}" for f in result.files]
    print(f"[{name} · {' · '.join(extras)}]", file=sys.stderr)


# -- settings ----------------------------------------------------------------------------------


def _python(args: argparse.Namespace) -> int:
    settings = ToolSettings.load()
    changed = False
    if args.mode:
        settings.set_mode("python", args.mode, args.chat)
        changed = True
    if args.isolation:
        settings.python.isolation = args.isolation
        changed = True
    limits = settings.python.limits
    for attr, value in (
        ("timeout_s", args.timeout),
        ("memory_mb", args.memory),
        ("max_processes", args.processes),
    ):
        if value is not None:
            if value <= 0:
                return _fail(f"--{attr.split('_')[0]} must be positive.")
            setattr(limits, attr, type(getattr(limits, attr))(value))
            changed = True
    if changed:
        settings.save()
    print(json.dumps(settings.to_dict()["python"], indent=2))
    return 0


def _pairs(items: list[str], what: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"{what} {item!r} is not KEY=VALUE.")
        out[key] = value
    return out


def _mcp_add(args: argparse.Namespace) -> int:
    command = list(args.command or [])
    if command[:1] == ["--"]:
        command = command[1:]
    if bool(args.url) == bool(command):
        return _fail("Give either --url URL (before NAME) or NAME COMMAND [ARGS…], not both.")
    try:
        headers = _pairs(args.header, "--header")
        env = _pairs(args.env, "--env")
    except ValueError as exc:
        return _fail(str(exc))
    config = McpServerConfig(
        name=args.name,
        url=args.url or "",
        command=command[0] if command else "",
        args=command[1:],
        env=env,
        headers=headers,
        mode=args.mode,
    )
    if args.timeout:
        config.timeout_s = args.timeout
    settings = ToolSettings.load()
    replaced = args.name in settings.servers
    settings.servers[args.name] = config
    settings.save()
    print(f"{'Replaced' if replaced else 'Added'} MCP server '{args.name}' ({config.mode}).")
    return 0


def _mcp_remove(args: argparse.Namespace) -> int:
    settings = ToolSettings.load()
    if args.name not in settings.servers:
        return _fail(f"No MCP server named '{args.name}'. See `hearth tools list`.")
    del settings.servers[args.name]
    for modes in settings.chats.values():
        modes.pop(f"mcp:{args.name}", None)
    settings.save()
    print(f"Removed MCP server '{args.name}'.")
    return 0


def _mcp_import(args: argparse.Namespace) -> int:
    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text("utf-8")
    except OSError as exc:
        return _fail(f"Cannot read {args.file}: {exc.strerror}.")
    try:
        servers = parse_mcp_servers(text)
    except ValueError as exc:
        return _fail(f"Cannot import {args.file}: {exc}")
    settings = ToolSettings.load()
    settings.servers.update(servers)
    settings.save()
    names = ", ".join(servers) or "none"
    print(f"Imported {len(servers)} MCP server{'s' if len(servers) != 1 else ''}: {names}.")
    return 0


def _mcp_mode(args: argparse.Namespace) -> int:
    settings = ToolSettings.load()
    if args.name not in settings.servers:
        return _fail(f"No MCP server named '{args.name}'. See `hearth tools list`.")
    settings.set_mode(f"mcp:{args.name}", args.mode, args.chat)
    settings.save()
    return 0


def _kernel(args: argparse.Namespace) -> int:
    from app.tools.python.launcher import main

    return main(args.rest)
