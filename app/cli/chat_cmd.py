"""``hearth chat``: one prompt, one streamed reply, in the terminal.

    hearth chat --model gpt-oss-20b-mxfp4.gguf "Why is the sky blue?"
    echo "Summarise this" | hearth chat --model M.gguf -
    hearth chat --model M.gguf "What does it conclude?" --attach paper.pdf notes.md

The answer goes to stdout; the model's reasoning goes to stderr (dimmed on a terminal), so
``hearth chat ... > answer.txt`` keeps only the answer. On a terminal a short stats line follows.
Ctrl-C stops the reply (what was generated is kept) and exits with 130.

``--jsonl`` (a stable interface for scripts) prints one JSON object per line on stdout, each with a
``type`` field:

    {"type": "reasoning", "text": "..."}        a piece of the chain of thought (analysis)
    {"type": "content", "text": "..."}          a piece of the answer (final channel)
    {"type": "preamble", "text": "..."}         text shown before tool calls (commentary)
    {"type": "tool_call", "recipient": "functions.get_weather", "arguments": "{...}",
     "constrain": "json", "channel": "commentary"}
    {"type": "trimmed", "dropped_messages": 2, "message": "..."}
    {"type": "done", "stats": {"prompt_tokens": 85, "cached_tokens": 0, "generated_tokens": 40,
     "prefill_tps": 912.5, "generation_tps": 31.2, "ttft_s": 0.21, "context_used": 125,
     "context_size": 8192, "stop_reason": "return", "total_s": 1.5}}
    {"type": "error", "kind": "truncated", "message": "File is truncated: ..."}

``done`` or ``error`` is always the last line. stop_reason is one of return, call, max_tokens,
cancelled, context_full. Exit status: 0 done, 1 engine or model error, 2 bad arguments,
130 interrupted.

The turn itself is ``app.chat``'s (the same path the window uses); this module parses the
arguments, starts the engine and picks the printer (``app.cli.printers``) and the conversation
(``app.cli.saved_chat``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

from app import chat
from app.attachments import (
    Attachment,
    AttachmentError,
    AttachmentRef,
    attach,
    message_text,
    plan,
)
from app.chat.documents import attachment_budget, chat_browser, history_tokens
from app.chat.testaid import hook_from_env
from app.chat.tools import chat_tools
from app.cli.consent import ask_on_terminal
from app.cli.interrupt import ctrl_c_stops
from app.cli.printers import DIM, RESET, JsonlPrinter, TerminalPrinter
from app.cli.saved_chat import SavedChat
from app.engine.client import EngineClient
from app.engine.errors import EngineError
from app.engine.events import EngineEvent, ErrorEvent
from app.engine.options import LoadOptions
from app.engine.protocol import GenerateRequest
from app.harmony import EFFORTS, Message, PromptSettings
from app.library import LibraryError
from app.library.browser_tool import BrowserTool
from app.store import Message as StoredMessage
from app.store import StoreError

if TYPE_CHECKING:
    from app.remote.engine import RemoteEngine

DEFAULT_CTX = 8192


# -- argument checking ---------------------------------------------------------------------


class UsageError(Exception):
    pass


def _check_args(args: argparse.Namespace) -> None:
    def need(cond: bool, msg: str) -> None:
        if not cond:
            raise UsageError(msg)

    need(not (args.model and args.remote), "give --model PATH or --remote NAME, not both")
    need(args.max_tokens is None or args.max_tokens >= 1, "--max-tokens must be at least 1")
    need(
        args.reasoning_budget is None or args.reasoning_budget >= 1,
        f"--reasoning-budget must be at least 1 (got {args.reasoning_budget})",
    )
    need(
        args.temperature is None or 0.0 <= args.temperature <= 5.0,
        f"--temperature must be between 0 and 5 (got {args.temperature})",
    )
    need(
        args.top_p is None or 0.0 < args.top_p <= 1.0,
        f"--top-p must be above 0 and at most 1 (got {args.top_p})",
    )
    need(args.top_k is None or args.top_k >= 0, f"--top-k must be 0 or more (got {args.top_k})")
    need(args.ctx is None or args.ctx >= 256, f"--ctx must be at least 256 (got {args.ctx})")
    need(args.ngl is None or args.ngl >= -1, f"--ngl must be -1 (all) or more (got {args.ngl})")
    need(
        args.threads is None or args.threads >= 1,
        f"--threads must be at least 1 (got {args.threads})",
    )


def _number(kind: type) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            return kind(text)
        except ValueError:
            what = "a whole number" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None

    parse.__name__ = kind.__name__
    return parse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "chat",
        help="one prompt, one streamed reply in the terminal",
        description="Stream a reply from a local gpt-oss model. The answer goes to stdout, the "
        "reasoning to stderr. --jsonl prints one JSON event per line (see the docs).",
    )
    p.add_argument(
        "--model",
        metavar="PATH",
        help="the GGUF model file (default: the model used last, or the only one installed)",
    )
    p.add_argument(
        "--remote", metavar="NAME", help="chat through a saved server instead (hearth remotes)"
    )
    p.add_argument("--effort", choices=EFFORTS, help="reasoning effort (default medium)")
    p.add_argument(
        "--reasoning-budget",
        type=_number(int),
        metavar="N",
        help="after about N tokens of thinking, make the model answer (saved with the chat)",
    )
    p.add_argument("--system", metavar="TEXT", default="", help="instructions for the model")
    p.add_argument("--max-tokens", type=_number(int), metavar="N", help="reply length limit")
    p.add_argument("--temperature", type=_number(float), metavar="T", help="default 1.0")
    p.add_argument("--top-p", type=_number(float), metavar="P", help="default 1.0")
    p.add_argument("--top-k", type=_number(int), metavar="K", help="default 40 (0: off)")
    p.add_argument("--seed", type=_number(int), metavar="N", help="sampling seed")
    p.add_argument("--ctx", type=_number(int), metavar="N", help="context size in tokens")
    p.add_argument("--ngl", type=_number(int), metavar="N", help="layers on the GPU (-1: all)")
    p.add_argument("--threads", type=_number(int), metavar="N", help="CPU threads (default: cores)")
    p.add_argument("--jsonl", action="store_true", help="print one JSON event per line")
    p.add_argument("prompt", metavar="PROMPT", help="the message; - reads it from stdin")
    p.add_argument(
        "--attach",
        action="extend",
        nargs="+",
        default=[],
        metavar="FILE",
        help="attach text, Markdown, code, PDF or Word files (put PROMPT first, or repeat "
        "--attach); what does not fit in the context is searched with the browser tool",
    )
    # Persistence (app.chat + app.store): each exchange is saved unless --no-save.
    p.add_argument("--no-save", action="store_true", help="do not save this exchange")
    which = p.add_mutually_exclusive_group()
    which.add_argument(
        "--continue",
        dest="continue_latest",
        action="store_true",
        help="go on with the most recent saved conversation (its history is sent)",
    )
    which.add_argument(
        "--conversation", type=_number(int), metavar="ID", help="go on with conversation ID"
    )
    p.set_defaults(func=run)
    one_line_errors(p)


def one_line_errors(p: argparse.ArgumentParser) -> None:
    """Bad arguments get one line ("hearth chat: --top-k: 'x' is not a whole number"), exit 2."""

    def error(message: str) -> NoReturn:
        print(f"{p.prog}: {message.replace('argument ', '')}", file=sys.stderr)
        raise SystemExit(2)

    p.error = error  # type: ignore[method-assign]


def load_options_from_args(args: argparse.Namespace) -> LoadOptions:
    """The context defaults to 8k tokens, or the model's own maximum if that is smaller."""
    from app.engine.gguf_info import inspect_gguf

    n_ctx = args.ctx
    if n_ctx is None:
        trained = inspect_gguf(args.model).context_length
        n_ctx = min(DEFAULT_CTX, trained) if trained else DEFAULT_CTX
    return LoadOptions(
        model_path=str(args.model),
        n_ctx=n_ctx,
        n_gpu_layers=args.ngl if args.ngl is not None else 0,
        n_threads=args.threads,
    )


def fail(message: str, *, jsonl: bool, kind: str = "bad_request", code: int = 1) -> int:
    if jsonl:
        print(json.dumps(ErrorEvent(kind, message).to_dict(), ensure_ascii=False), flush=True)
    print(f"hearth chat: {message}", file=sys.stderr)
    return code


def read_prompt(args: argparse.Namespace) -> str:
    text: str = sys.stdin.read() if args.prompt == "-" else args.prompt
    if not text.strip() and not args.attach:
        raise UsageError(
            "the prompt is empty" + (" (nothing on stdin)" if args.prompt == "-" else "")
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        # Python keeps bytes that are not UTF-8 (argv, stdin) as unpaired surrogates, which can
        # be neither saved nor sent to the engine: say so before a chat or the model is touched.
        code = ord(text[e.start])
        what = f"byte 0x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"U+{code:04X}"
        raise UsageError(
            f"the prompt is not UTF-8 text ({what} at character {e.start}); "
            "convert it to UTF-8 first (e.g. iconv -t UTF-8)"
        ) from None
    return text.strip("\n")


def start_engine(args: argparse.Namespace) -> EngineClient | RemoteEngine:
    """A started client with the model loaded, or the connected remote server (--remote);
    EngineError (from the GGUF check, the load or the server)."""
    from app.engine.gguf_info import GGUFError

    if args.remote:
        from app.remote.engine import start_remote

        remote = start_remote(args.remote)
        args.remote_model = remote.connection.model  # what the saved chat records
        return remote
    try:
        options = load_options_from_args(args)
    except GGUFError as e:
        raise EngineError(e.kind, e.message) from None
    client = EngineClient()
    try:
        client.start()
        client.load(options)
    except BaseException:
        client.close()
        raise
    from app.hub.recent import remember_model

    remember_model(options.model_path)  # the next `hearth chat` without --model uses it
    return client


def choose_model(args: argparse.Namespace) -> None:
    """Without --model or --remote: the model used last, or the only one installed; said on
    stderr, so the user knows which (UsageError when there is no clear choice)."""
    if args.model or args.remote:
        return
    from app.hub.installed import ModelLibrary
    from app.hub.recent import last_model

    last = last_model()
    if last is not None:
        args.model = str(last)
        why = "the model used last"
    else:
        usable = [m for m in ModelLibrary().models(inspect=False) if m.path.is_file()]
        if len(usable) != 1:
            names = ", ".join(str(m.path) for m in usable[:5])
            raise UsageError(
                "no model given and none installed: give --model PATH or --remote NAME, or "
                "download one (hearth models download)"
                if not usable
                else f"no model given and {len(usable)} are installed ({names}"
                + (", …" if len(usable) > 5 else "")
                + "): choose one with --model PATH"
            )
        args.model = str(usable[0].path)
        why = "the only model installed"
    print(f"hearth chat: using {args.model} ({why}; --model PATH for another)", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    try:
        _check_args(args)
        choose_model(args)
        prompt = read_prompt(args)
        attachments = [attach(path) for path in args.attach]
    except (UsageError, AttachmentError) as e:
        return fail(str(e), jsonl=args.jsonl, code=2)
    settings = PromptSettings(effort=args.effort or "medium", instructions=args.system or "")
    try:
        saved = SavedChat.open(args)
    except StoreError as e:
        return fail(str(e), jsonl=args.jsonl, kind="store")
    try:
        client = start_engine(args)
    except EngineError as e:
        saved.close()
        return fail(e.message, jsonl=args.jsonl, kind=e.kind)
    except KeyboardInterrupt:
        saved.close()
        return 130
    printer: Callable[[EngineEvent], None] = (
        JsonlPrinter(sys.stdout) if args.jsonl else TerminalPrinter(sys.stdout, sys.stderr)
    )
    control = chat.TurnControl()
    try:
        with ctrl_c_stops(control) as ctrl_c:
            if saved.store is not None and saved.saving and not args.no_save:
                try:
                    cid = saved.begin(args)
                    store = saved.store
                    refs = _plan(attachments, client, store.active_path(cid))
                    info = client.model_info
                    turn = chat.prepare_turn(
                        store,
                        cid,
                        prompt,
                        model=info.name if info and info.name else None,
                        sampling=saved.sampling(args),
                        attachments=refs,
                    )
                    browser = chat_browser(store, cid, texts=_texts(attachments))
                    outcome = chat.stream_turn(
                        store,
                        client,
                        turn,
                        control=control,
                        on_event=printer,
                        tools=_tools(cid, control, browser),
                        before_send=hook_from_env(),
                    )
                except StoreError as e:
                    return fail(str(e), jsonl=args.jsonl, kind="store")
                except LibraryError as e:
                    return fail(str(e), jsonl=args.jsonl, kind="library")
                _report_saved(outcome)
            else:
                refs = _plan(attachments, client, saved.path())
                try:
                    browser = chat_browser(
                        None,
                        None,
                        settings=saved.settings(),
                        path=[*saved.path(), _unsaved_user(refs)],
                        texts=_texts(attachments),
                    )
                except LibraryError as e:
                    return fail(str(e), jsonl=args.jsonl, kind="library")
                request = GenerateRequest(
                    messages=[*saved.history(), Message("user", message_text(prompt, refs))],
                    settings=saved.prompt_settings(settings),
                    sampling=saved.sampling(args),
                    reasoning_budget=args.reasoning_budget or saved.reasoning_budget(),
                )
                outcome = chat.run_unsaved(
                    client,
                    request,
                    control=control,
                    on_event=printer,
                    tools=_tools(saved.conversation_id, control, browser),
                    before_send=hook_from_env(),
                )
    finally:
        client.close()
        saved.close()
    if ctrl_c.pressed:
        return 130
    return 0 if outcome.ok and outcome.save_error is None else 1


def _tools(
    conversation_id: int | None, control: chat.TurnControl, browser: BrowserTool | None = None
) -> chat.TurnTools | None:
    """The tools this chat has turned on (``hearth tools python --mode …``, MCP servers, the
    browser over its documents), or None: then the model is told of none."""
    tools, problems = chat_tools(conversation_id, control.stop_event, ask_on_terminal, browser)
    for name, why in problems.items():
        print(f"hearth chat: {name} is not available: {why}", file=sys.stderr)
    return tools


def _plan(
    attachments: list[Attachment], engine: Any, path: list[StoredMessage]
) -> list[AttachmentRef]:
    """Decide which attachments go in full (the rest are searched with the browser tool), as
    the window does; say on stderr when some do not fit."""
    if not attachments:
        return []
    info = engine.model_info
    n_ctx = info.n_ctx if info is not None and info.n_ctx else DEFAULT_CTX
    p = plan(attachments, attachment_budget(n_ctx, history_tokens(path)))
    for a in attachments:
        print(
            f"{DIM}Attached {a.chip}{RESET}" if sys.stderr.isatty() else f"Attached {a.chip}",
            file=sys.stderr,
        )
    if p.warning:
        print(f"hearth chat: {p.warning}", file=sys.stderr)
    return [a.ref for a in attachments]


def _texts(attachments: list[Attachment]) -> dict[str, str]:
    return {a.ref.sha256: a.text for a in attachments}


def _unsaved_user(refs: list[AttachmentRef]) -> StoredMessage:
    """The --no-save message as the browser looks for long attachments in a chat's messages."""
    return StoredMessage(0, 0, None, "user", attachments=[r.to_dict() for r in refs])


def _report_saved(outcome: chat.TurnOutcome) -> None:
    if outcome.save_error is not None:
        print(f"hearth chat: the reply was not fully saved: {outcome.save_error}", file=sys.stderr)
    elif sys.stderr.isatty():
        print(
            f"{DIM}Saved as conversation {outcome.conversation_id} "
            f"(hearth chat --conversation {outcome.conversation_id} ...){RESET}",
            file=sys.stderr,
        )
