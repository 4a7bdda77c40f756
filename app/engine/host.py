"""The engine host: a child process that owns llama.cpp and answers over its stdin/stdout pipes.

Run as ``python -m app.engine.host`` (or ``hearth engine-host`` in a frozen bundle). A crash, an
abort or a GPU out-of-memory in llama.cpp ends this process, never the app that started it.

The protocol (app/engine/protocol.py) takes over the original stdout; file descriptor 1 is then
pointed at stderr, so anything llama.cpp or a library prints can't corrupt a frame. Commands are
read on a thread, so a ``cancel`` reaches the generation loop while it runs (it stops within a
token; a long prefill is interrupted through llama.cpp's abort callback).

Replies are rendered with Harmony, parsed with its StreamParser, and sent as coalesced events: the
first text at once, then a batch every ~16 ms (a frame per token would cost the reply speed).
"""

from __future__ import annotations

import codecs
import logging
import os
import queue
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import IO, Any

from app.engine.errors import EngineError
from app.engine.events import (
    ContentEvent,
    DoneEvent,
    EngineEvent,
    ErrorEvent,
    PreambleEvent,
    PrefillEvent,
    ReasoningEvent,
    ToolCallEvent,
    TrimmedEvent,
)
from app.engine.literal import protect
from app.engine.options import LoadOptions
from app.engine.protocol import GenerateRequest, encode_frame, read_frame

log = logging.getLogger("hearth.engine.host")

FLUSH_INTERVAL = 0.016


class _Output:
    """Frames to the client; one write per batch of events."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.lock = threading.Lock()

    def send(self, *objs: dict[str, Any]) -> None:
        data = b"".join(encode_frame(o) for o in objs)
        with self.lock:
            self.stream.write(data)
            self.stream.flush()


def fit_messages(
    messages: list[Any], tokens_of: Any, budget: int
) -> tuple[list[Any], int, list[int]]:
    """Leave out the oldest turns until the prompt fits ``budget`` tokens.

    Kept always: the leading system/developer messages and everything from the latest user
    message on. A turn is a user message and what follows it up to the next user message.
    Returns (messages, how many were left out, the prompt's tokens); raises EngineError if even
    that doesn't fit.
    """
    tokens = tokens_of(messages)
    n = len(tokens)
    if n <= budget:
        return messages, 0, tokens
    head = 0
    while head < len(messages) and messages[head].role in ("system", "developer"):
        head += 1
    last_user = max(
        (i for i, m in enumerate(messages) if m.role == "user" and i >= head), default=head
    )
    middle = messages[head:last_user]
    starts = [i for i, m in enumerate(middle) if m.role == "user"] or [0]
    if starts[0] != 0:
        starts.insert(0, 0)
    for cut in [*starts[1:], len(middle)]:
        trimmed = messages[:head] + middle[cut:] + messages[last_user:]
        tokens = tokens_of(trimmed)
        n = len(tokens)
        if n <= budget:
            return trimmed, len(messages) - len(trimmed), tokens
    raise EngineError(
        "context_overflow",
        f"The message is too long for the context: the prompt needs {n:,} tokens and "
        f"{budget:,} are free for it. Shorten the message, or load the model with a larger "
        "context.",
    )


class Host:
    def __init__(self, inp: IO[bytes], out: IO[bytes]) -> None:
        self.inp = inp
        self.out = _Output(out)
        self.commands: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.cancel = threading.Event()
        self.answer_now = threading.Event()  # end the thinking, answer (see ``_generate``)
        self.gen: Any = None
        self._vocab_cache: dict[str, int | None] = {}
        self.kv: Any = None  # app.engine.kvstate.StateCache: chats' KV state on disk

    # -- command reader (own thread) -----------------------------------------------------------

    def _read_commands(self) -> None:
        while True:
            try:
                cmd = read_frame(self.inp)
            except Exception:
                log.exception("bad frame from client")
                cmd = None
            if cmd is None:  # the client is gone: stop what we're doing and exit
                self.cancel.set()
                self.commands.put(None)
                return
            op = cmd.get("op")
            if op == "cancel":
                self.cancel.set()
                continue
            if op == "answer_now":
                self.answer_now.set()
                continue
            if op == "generate":
                # Cleared here, in pipe order, so a cancel sent right after is never lost.
                self.cancel.clear()
                self.answer_now.clear()
            self.commands.put(cmd)

    # -- main loop -----------------------------------------------------------------------------

    def run(self) -> int:
        threading.Thread(target=self._read_commands, name="commands", daemon=True).start()
        self.out.send({"type": "ready", "pid": os.getpid()})
        while True:
            cmd = self.commands.get()
            if cmd is None or cmd.get("op") == "shutdown":
                if self.kv is not None:
                    self.kv.flush()  # the last reply's state is on its way to disk
                self._unload()
                if cmd is not None:
                    self.out.send({"type": "bye"})
                return 0
            op = cmd.get("op")
            try:
                if op == "load":
                    self._load(cmd)
                elif op == "generate":
                    self._generate(cmd)
                elif op == "unload":
                    self._unload()
                    self.out.send({"type": "unloaded"})
                else:
                    self.out.send(ErrorEvent("bad_request", f"Unknown command {op!r}.").to_dict())
            except BrokenPipeError:
                return 0
            except Exception as e:  # never die on a request: report it and keep serving
                log.error("command %s failed:\n%s", op, traceback.format_exc())
                self._send_error(e)

    def _send_error(self, e: BaseException) -> None:
        from app.engine.gguf_info import GGUFError

        if isinstance(e, EngineError | GGUFError):
            ev = ErrorEvent(e.kind, e.message)
        else:
            ev = ErrorEvent("internal", f"The engine failed: {e}. Reload the model to continue.")
        self.out.send(ev.to_dict())

    def _load(self, cmd: dict[str, Any]) -> None:
        from app import paths
        from app.engine.generator import Generator

        self._unload()
        options = LoadOptions.from_dict(cmd.get("options") or {})
        try:
            log_path: Path | None = paths.log_dir() / "llama.log"
        except OSError:
            log_path = None
        self.gen = Generator(options, log_path=log_path)
        self._vocab_cache.clear()
        self.out.send({"type": "loaded", "info": self.gen.model_info().to_dict()})

    def _unload(self) -> None:
        if self.gen is not None:
            self.gen.close()
            self.gen = None

    def _script_tokens(self, script: str | list[str | int]) -> list[int]:
        from app.engine.generator import SAMPLED

        gen = self.gen
        if isinstance(script, str):
            return list(gen.tokenize(script, special=True))
        out: list[int] = []
        for piece in script:
            if isinstance(piece, int):  # sample this many tokens here
                out.extend([SAMPLED] * max(0, piece))
                continue
            if piece not in self._vocab_cache:
                self._vocab_cache[piece] = gen.vocab_token(piece)
            tok = self._vocab_cache[piece]
            out.extend([tok] if tok is not None else gen.tokenize(piece, special=True))
        return out

    def _generate(self, cmd: dict[str, Any]) -> None:
        from app.harmony import StreamParser, render_prompt

        t_start = time.perf_counter()
        gen = self.gen
        if gen is None:
            self.out.send(
                ErrorEvent("not_loaded", "No model is loaded. Load a model first.").to_dict()
            )
            return
        req = GenerateRequest.from_dict(cmd.get("request") or {})
        settings = req.settings

        def tokens_of(msgs: list[Any]) -> list[int]:
            try:
                text = render_prompt(*protect(msgs, settings))
            except ValueError as e:  # e.g. an unknown reasoning effort
                raise EngineError("bad_request", f"The request can't be rendered: {e}.") from e
            return gen.tokenize_prompt(text)

        # Room for the reply: its max_tokens, but never more than a quarter of the context.
        reserve = max(1, min(req.sampling.max_tokens, gen.n_ctx // 4))
        if req.trim:
            msgs, dropped, prompt = fit_messages(list(req.messages), tokens_of, gen.n_ctx - reserve)
        else:  # the caller wants the whole conversation or an error with the numbers
            msgs, dropped, prompt = list(req.messages), 0, tokens_of(list(req.messages))
        if dropped:
            self.out.send(
                TrimmedEvent(
                    dropped,
                    f"The conversation is longer than the context ({gen.n_ctx:,} tokens): "
                    + (
                        "the oldest message was left out of the prompt."
                        if dropped == 1
                        else f"the oldest {dropped} messages were left out of the prompt."
                    ),
                ).to_dict()
            )
        script = self._script_tokens(req.script) if req.script is not None else None

        parser = StreamParser()
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        pieces = gen.pieces
        control = _ControlSet(pieces)
        out = self.out

        budget = req.reasoning_budget
        thought = 0  # tokens of thinking so far, counted only when there is a budget
        reasoning_tokens = 0  # generated tokens of analysis text, exactly (the API's usage)

        def convert(tokens: list[int]) -> list[EngineEvent]:
            nonlocal thought, reasoning_tokens
            events: list[Any] = []
            buf = b""
            n_text = 0  # tokens in buf
            for t in tokens:
                if control.has(t):
                    if buf:
                        # A run of text between control tokens stays in one message.
                        reasoning_tokens += n_text if parser.in_reasoning else 0
                        text = decoder.decode(buf)
                        buf, n_text = b"", 0
                        if text:
                            events.extend(parser.feed(text, False))
                    events.extend(parser.feed(pieces.piece(t).decode("utf-8", "replace"), True))
                else:
                    buf += pieces.piece(t)
                    n_text += 1
            if buf:
                reasoning_tokens += n_text if parser.in_reasoning else 0
                text = decoder.decode(buf)
                if text:
                    events.extend(parser.feed(text, False))
            if budget is not None and parser.in_reasoning:
                thought += len(tokens)  # a batch that ends in thinking counts as thinking
                if thought >= budget:
                    self.answer_now.set()
            return _convert_events(events)

        def sink(tokens: list[int]) -> bool:
            events = convert(tokens)
            if events:
                out.send(*(e.to_dict() for e in events))
            return bool(events)

        if self.kv is None:
            from app.engine.kvstate import StateCache

            self.kv = StateCache()
        restored = self.kv.prepare(gen, req.kv_key, prompt)
        stats = gen.generate(
            prompt,
            req.sampling,
            sink,
            cancel=self.cancel,
            script=script,
            suppress_stop=req.suppress_stop,
            flush_interval=FLUSH_INTERVAL,
            t_start=t_start,
            on_prefill=lambda done, total: out.send(PrefillEvent(done, total).to_dict()),
            grammar=req.grammar,
            grammar_mode=req.grammar_mode,
            answer_now=self.answer_now,
            on_answer_now=lambda: gen.tokenize(parser.switch_to_final(), special=True),
        )
        tail: list[Any] = []
        text = decoder.decode(b"", final=True)
        if text:
            tail.extend(parser.feed(text, False))
        tail.extend(parser.finish())
        final = _convert_events(tail)
        stats.reasoning_tokens = reasoning_tokens
        stats.dropped_tokens = parser.dropped
        stats.restored_tokens = min(restored, stats.cached_tokens)
        out.send(*(e.to_dict() for e in final), DoneEvent(stats).to_dict())
        # After the done event: the user has the whole reply before the state is copied.
        self.kv.save(gen, req.kv_key, prompt, stats, lambda more: tokens_of([*msgs, *more]))


class _ControlSet:
    """Which token ids are Harmony's special tokens, cached. llama.cpp marks some of gpt-oss's
    specials CONTROL and others USER_DEFINED (so they render), hence the check by text too."""

    def __init__(self, pieces: Any) -> None:
        from app.harmony import SPECIAL_TOKENS

        self.pieces = pieces
        self.names = {t.encode() for t in SPECIAL_TOKENS}
        self.known: dict[int, bool] = {}

    def has(self, tok: int) -> bool:
        v = self.known.get(tok)
        if v is None:
            v = self.pieces.is_control(tok) or self.pieces.piece(tok) in self.names
            self.known[tok] = v
        return v


_DELTAS = {
    "ReasoningDelta": ReasoningEvent,
    "ContentDelta": ContentEvent,
    "PreambleDelta": PreambleEvent,
}


def _convert_events(parsed: list[Any]) -> list[EngineEvent]:
    """Harmony parser events -> engine events, with neighbouring deltas of one kind merged."""
    out: list[EngineEvent] = []
    for ev in parsed:
        name = type(ev).__name__
        cls = _DELTAS.get(name)
        if cls is not None:
            text = ev.text
            if not text:
                continue
            if out and type(out[-1]) is cls:
                out[-1].text += text  # type: ignore[attr-defined]
            else:
                out.append(cls(text))
        elif name == "ToolCall":
            out.append(
                ToolCallEvent(
                    recipient=ev.recipient,
                    arguments=ev.arguments,
                    constrain=getattr(ev, "constrain", None),
                    channel=getattr(ev, "channel", None),
                    recipient_first=getattr(ev, "recipient_first", True),
                )
            )
        # End carries nothing the done event doesn't: the stop reason is in the stats.
    return out


def main() -> int:
    # Keep the protocol pipes for ourselves (by descriptor: a windowed frozen app may have no
    # sys.stdin/sys.stdout objects); anything written to fd 1 from now on (llama.cpp, a stray
    # print) goes to stderr, which the client points at a log file.
    inp = os.fdopen(os.dup(0), "rb")
    proto = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    from app import paths

    handlers: list[logging.Handler]
    try:
        handlers = [logging.FileHandler(paths.log_dir() / "engine.log", encoding="utf-8")]
    except OSError:  # a read-only data folder must not stop the engine
        handlers = [logging.NullHandler()]
    logging.basicConfig(
        level=logging.DEBUG if os.environ.get("HEARTH_DEBUG") else logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        handlers=handlers,
    )
    try:
        return Host(inp, proto).run()
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
