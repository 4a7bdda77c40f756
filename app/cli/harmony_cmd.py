"""``hearth harmony``: see the exact prompt the engine sends, and how a reply is parsed."""

from __future__ import annotations

import argparse
import json
import sys

from app.harmony import StreamParser, render_prompt
from app.harmony.jsonio import conversation_from_json
from app.harmony.parser import split_special


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("harmony", help="render a conversation as gpt-oss's prompt; parse replies")
    p.set_defaults(func=lambda args: _usage(p))
    hs = p.add_subparsers(dest="harmony_command", metavar="ACTION")

    r = hs.add_parser(
        "render",
        help="print the exact Harmony prompt for a conversation read as JSON on stdin",
        description=(
            'Reads JSON on stdin: a list of messages ({"role", "content", "channel"?, '
            '"recipient"?, "name"?, "content_type"?}) or an object {"messages": [...], '
            '"effort": "low|medium|high", "instructions": "...", "tools": [{"name", '
            '"description", "parameters"}], "current_date": "YYYY-MM-DD"}. Prints the prompt '
            "exactly as the engine sends it, with no newline added."
        ),
    )
    r.add_argument(
        "--no-generation-prompt",
        action="store_true",
        help='leave out the closing "<|start|>assistant" (render a finished transcript)',
    )
    r.set_defaults(func=_render)

    pa = hs.add_parser(
        "parse",
        help="parse generated Harmony text from stdin; print the events as JSON lines",
        description=(
            "Reads what the model generated after <|start|>assistant, splits it on the Harmony "
            "control-token strings and prints one JSON object per event (reasoning, content, "
            "preamble, tool_call, end)."
        ),
    )
    pa.set_defaults(func=_parse)


def _usage(p: argparse.ArgumentParser) -> int:
    p.print_help(sys.stderr)
    return 2


def _read_stdin() -> str:
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"Input is not UTF-8 text (byte {e.start}): save it as UTF-8.") from None


def _fail(message: str) -> int:
    print(f"hearth harmony: {message}", file=sys.stderr)
    return 2


def _render(args: argparse.Namespace) -> int:
    try:
        text = _read_stdin()
        if not text.strip():
            return _fail("No input: pipe a conversation as JSON into stdin.")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            return _fail(
                f"Input is not valid JSON (line {e.lineno}, column {e.colno}: {e.msg}). "
                'Pass a list of messages or an object with "messages".'
            )
        messages, settings = conversation_from_json(data)
    except ValueError as e:
        return _fail(str(e))
    prompt = render_prompt(messages, settings, add_generation_prompt=not args.no_generation_prompt)
    sys.stdout.buffer.write(prompt.encode("utf-8"))
    sys.stdout.buffer.flush()
    return 0


def _parse(args: argparse.Namespace) -> int:
    try:
        text = _read_stdin()
    except ValueError as e:
        return _fail(str(e))
    parser = StreamParser()
    events = []
    for piece, special in split_special(text):
        events += parser.feed(piece, special)
    events += parser.finish()
    out = "".join(json.dumps(e.to_dict(), ensure_ascii=False) + "\n" for e in events)
    sys.stdout.buffer.write(out.encode("utf-8"))
    sys.stdout.buffer.flush()
    return 0
