"""``hearth chat``: one prompt, one streamed reply, in the terminal.

    hearth chat --model gpt-oss-20b-mxfp4.gguf "Why is the sky blue?"
    echo "Summarise this" | hearth chat --model M.gguf -

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

``run_turn`` runs one turn given messages and is what other commands wrap.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any, NoReturn

from app.engine.client import EngineClient, EngineError, GenerateRequest
from app.engine.events import (
    ContentEvent,
    DoneEvent,
    EngineEvent,
    ErrorEvent,
    GenerationStats,
    PreambleEvent,
    ReasoningEvent,
    ToolCallEvent,
    TrimmedEvent,
)
from app.engine.options import LoadOptions, SamplingOptions
from app.harmony import EFFORTS, Message, PromptSettings
from app.store import NotFoundError, Store, StoreError

DIM, RESET = "\x1b[2m", "\x1b[0m"
DEFAULT_CTX = 8192


@dataclass
class TurnResult:
    """What one reply produced; ``messages()`` gives it as Harmony messages to store."""

    reasoning: str = ""
    content: str = ""
    preamble: str = ""
    tool_calls: list[ToolCallEvent] = field(default_factory=list)
    stats: GenerationStats | None = None
    error: ErrorEvent | None = None
    trimmed: TrimmedEvent | None = None
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None

    def messages(self) -> list[Message]:
        out: list[Message] = []
        if self.reasoning:
            out.append(Message("assistant", self.reasoning, channel="analysis"))
        if self.preamble:
            out.append(Message("assistant", self.preamble, channel="commentary"))
        for call in self.tool_calls:
            out.append(
                Message(
                    "assistant",
                    call.arguments,
                    channel=call.channel or "commentary",
                    recipient=call.recipient,
                    content_type=call.constrain,
                )
            )
        if self.content:
            out.append(Message("assistant", self.content, channel="final"))
        return out


class TerminalPrinter:
    """Answer to ``out``; reasoning to ``err`` (dimmed when ``err`` is a terminal)."""

    def __init__(self, out: IO[str], err: IO[str]) -> None:
        self.out, self.err = out, err
        self.dim = err.isatty()
        self._in_reasoning = False
        self._wrote_answer = False

    def _end_reasoning(self) -> None:
        if self._in_reasoning:
            self.err.write((RESET if self.dim else "") + "\n")
            self.err.flush()
            self._in_reasoning = False

    def __call__(self, ev: EngineEvent) -> None:
        if isinstance(ev, ReasoningEvent):
            if not self._in_reasoning:
                self.err.write(DIM if self.dim else "")
                self._in_reasoning = True
            self.err.write(ev.text)
            self.err.flush()
        elif isinstance(ev, ContentEvent | PreambleEvent):
            self._end_reasoning()
            self.out.write(ev.text)
            self.out.flush()
            self._wrote_answer = True
        elif isinstance(ev, ToolCallEvent):
            self._end_reasoning()
            self.out.write(f"\n[tool call] {ev.recipient} {ev.arguments}\n")
            self.out.flush()
        elif isinstance(ev, TrimmedEvent):
            self.err.write(f"Note: {ev.message}\n")
        elif isinstance(ev, DoneEvent):
            self._end_reasoning()
            if self._wrote_answer:
                self.out.write("\n")
                self.out.flush()
            if self.err.isatty():
                s = ev.stats
                line = (
                    f"{s.generated_tokens} tokens · {s.generation_tps:.1f} tok/s · first token "
                    f"{s.ttft_s:.2f} s · context {s.context_used:,}/{s.context_size:,}"
                )
                if s.stop_reason not in ("return", "call"):
                    line += f" · stopped: {s.stop_reason.replace('_', ' ')}"
                self.err.write(f"{DIM}{line}{RESET}\n")
        elif isinstance(ev, ErrorEvent):
            self._end_reasoning()
            self.err.write(f"hearth chat: {ev.message}\n")
        self.err.flush()


class JsonlPrinter:
    def __init__(self, out: IO[str]) -> None:
        self.out = out

    def __call__(self, ev: EngineEvent) -> None:
        self.out.write(json.dumps(ev.to_dict(), ensure_ascii=False) + "\n")
        self.out.flush()


def run_turn(
    client: EngineClient,
    messages: list[Message],
    *,
    settings: PromptSettings | None = None,
    sampling: SamplingOptions | None = None,
    on_event: Callable[[EngineEvent], None] | None = None,
) -> TurnResult:
    """Stream one reply to ``messages`` from a loaded engine, passing each event to
    ``on_event``. A Ctrl-C cancels the reply; the events up to then are kept and the result is
    marked ``interrupted``."""
    request = GenerateRequest(
        messages=messages,
        settings=settings or PromptSettings(),
        sampling=sampling or SamplingOptions(),
    )
    result = TurnResult()
    stream = client.stream(request)

    def on_sigint(_signum: int, _frame: Any) -> None:
        # First Ctrl-C: ask the engine to stop; the reply then ends normally with its done event
        # (cancelled), so nothing generated is lost. A second one stops waiting.
        if result.interrupted:
            raise KeyboardInterrupt
        result.interrupted = True
        client.cancel()

    previous: Any = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        while True:
            try:
                try:
                    ev = next(stream)
                except StopIteration:
                    break
                _accumulate(result, ev)
                if on_event is not None:
                    on_event(ev)
            except KeyboardInterrupt:
                if result.interrupted:
                    stream.close()
                    break
                result.interrupted = True
                client.cancel()
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    return result


def _accumulate(result: TurnResult, ev: EngineEvent) -> None:
    if isinstance(ev, ReasoningEvent):
        result.reasoning += ev.text
    elif isinstance(ev, ContentEvent):
        result.content += ev.text
    elif isinstance(ev, PreambleEvent):
        result.preamble += ev.text
    elif isinstance(ev, ToolCallEvent):
        result.tool_calls.append(ev)
    elif isinstance(ev, TrimmedEvent):
        result.trimmed = ev
    elif isinstance(ev, DoneEvent):
        result.stats = ev.stats
    elif isinstance(ev, ErrorEvent):
        result.error = ev


# -- argument checking ---------------------------------------------------------------------


class UsageError(Exception):
    pass


def _check_args(args: argparse.Namespace) -> None:
    def need(cond: bool, msg: str) -> None:
        if not cond:
            raise UsageError(msg)

    need(args.max_tokens is None or args.max_tokens >= 1, "--max-tokens must be at least 1")
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
    p.add_argument("--model", required=True, metavar="PATH", help="the GGUF model file")
    p.add_argument("--effort", choices=EFFORTS, help="reasoning effort (default medium)")
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
    if not text.strip():
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


def start_engine(args: argparse.Namespace) -> EngineClient:
    """A started client with the model loaded; EngineError (from the GGUF check or the load)."""
    from app.engine.gguf_info import GGUFError

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
    return client


def run(args: argparse.Namespace) -> int:
    try:
        _check_args(args)
        prompt = read_prompt(args)
    except UsageError as e:
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
    if saved.store is not None and not args.no_save:
        try:
            return saved.run(client, args, prompt, printer)
        finally:
            client.close()
            saved.close()
    try:
        result = run_turn(
            client,
            [*saved.history(), Message("user", prompt)],
            settings=saved.prompt_settings(settings),
            sampling=saved.sampling(args),
            on_event=printer,
        )
    finally:
        client.close()
        saved.close()
    if result.interrupted:
        return 130
    return 0 if result.ok else 1


# -- saving (app.chat / app.store) -----------------------------------------------------------


class SavedChat:
    """Where ``hearth chat`` keeps the exchange: a new conversation, the latest (``--continue``)
    or a given one (``--conversation``). With ``--no-save`` an existing conversation only lends
    its history. A store that cannot be written (read-only, locked, full) turns saving off with
    a note on stderr; the reply still comes."""

    def __init__(self, store: Store | None, conversation_id: int | None) -> None:
        self.store = store
        self.conversation_id = conversation_id

    @classmethod
    def open(cls, args: argparse.Namespace) -> SavedChat:
        continuing = args.continue_latest or args.conversation is not None
        if args.no_save and not continuing:
            return cls(None, None)
        try:
            store = Store.open(readonly_fallback=True)
        except StoreError as e:
            if continuing:
                raise
            # A damaged or too-new history must not stop a one-off question.
            print(f"hearth chat: this exchange will not be saved: {e}", file=sys.stderr)
            return cls(None, None)
        try:
            cid: int | None = None
            if args.conversation is not None:
                conv = store.get_conversation(args.conversation)
                if conv.trashed:
                    # Replies saved there would vanish from the list and go with the trash.
                    raise NotFoundError(
                        f"Conversation {conv.id} is in the trash.",
                        f"Restore it with `hearth history restore {conv.id}` first.",
                    )
                cid = conv.id
            elif args.continue_latest:
                latest = store.latest_conversation()
                if latest is None:
                    raise NotFoundError(
                        "There is no saved conversation to continue.",
                        "Start one without --continue.",
                    )
                cid = latest.id
            if store.readonly and not args.no_save:
                reason = store.readonly_reason
                print(f"hearth chat: this exchange will not be saved: {reason}", file=sys.stderr)
                if not continuing:
                    store.close()
                    return cls(None, None)
        except BaseException:
            store.close()
            raise
        return cls(store, cid)

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None

    def _settings(self) -> dict[str, Any]:
        if self.store is None or self.conversation_id is None:
            return {}
        return self.store.get_conversation(self.conversation_id).settings

    def history(self) -> list[Message]:
        from app.chat import harmony_history

        if self.store is None or self.conversation_id is None:
            return []
        return harmony_history(self.store.active_path(self.conversation_id))

    def prompt_settings(self, given: PromptSettings) -> PromptSettings:
        stored = self._settings()
        if not stored:
            return given
        from app.chat import prompt_settings

        merged = prompt_settings(stored)
        if given.instructions:
            merged.instructions = given.instructions
        return merged

    def sampling(self, args: argparse.Namespace) -> SamplingOptions:
        """The chat's stored sampling, with the options given on this command line on top."""
        stored = self._settings().get("sampling") or {}
        return SamplingOptions.from_dict({**stored, **_given_sampling(args)})

    def run(
        self,
        client: EngineClient,
        args: argparse.Namespace,
        prompt: str,
        printer: Callable[[EngineEvent], None],
    ) -> int:
        from app import chat

        assert self.store is not None
        store = self.store
        try:
            if self.conversation_id is None:
                settings: dict[str, Any] = {
                    "model": str(args.model),
                    "effort": args.effort or "medium",
                }
                if args.system:
                    settings["instructions"] = args.system
                if _given_sampling(args):
                    settings["sampling"] = _given_sampling(args)
                self.conversation_id = store.create_conversation(settings=settings).id
            else:
                changes: dict[str, Any] = {"model": str(args.model)}
                if args.effort:
                    changes["effort"] = args.effort
                if args.system:
                    changes["instructions"] = args.system
                store.update_settings(self.conversation_id, changes)
            # As in run_turn: a first Ctrl-C only cancels, so the reply still ends with its done
            # event (printed, and saved as cancelled with its stats). Without this handler the
            # KeyboardInterrupt lands inside the engine stream, which then swallows that event.
            interrupted = False

            def on_sigint(_signum: int, _frame: Any) -> None:
                nonlocal interrupted
                if interrupted:
                    raise KeyboardInterrupt
                interrupted = True
                client.cancel()

            previous: Any = None
            if threading.current_thread() is threading.main_thread():
                previous = signal.signal(signal.SIGINT, on_sigint)
            try:
                outcome = chat.run_turn(
                    store,
                    client,
                    self.conversation_id,
                    prompt,
                    sampling=self.sampling(args),
                    on_event=printer,
                )
            finally:
                if previous is not None:
                    signal.signal(signal.SIGINT, previous)
        except StoreError as e:
            return fail(str(e), jsonl=args.jsonl, kind="store")
        if outcome.save_error is not None:
            print(
                f"hearth chat: the reply was not fully saved: {outcome.save_error}", file=sys.stderr
            )
        elif sys.stderr.isatty():
            print(
                f"{DIM}Saved as conversation {outcome.conversation_id} "
                f"(hearth chat --conversation {outcome.conversation_id} ...){RESET}",
                file=sys.stderr,
            )
        if outcome.interrupted or interrupted:
            return 130
        return 0 if outcome.ok and outcome.save_error is None else 1


def _given_sampling(args: argparse.Namespace) -> dict[str, Any]:
    given = {
        "temperature": args.temperature,
        "top_p": args.top_p,
        "top_k": args.top_k,
        "max_tokens": args.max_tokens,
        "seed": args.seed,
    }
    return {k: v for k, v in given.items() if v is not None}
