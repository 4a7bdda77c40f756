"""Per-chat KV state on disk, in the engine host: restored before a reply, saved after one.

A request that names its chat (``GenerateRequest.kv_key``) gets two things:

- Before the reply (``StateCache.prepare``): if the chat's state file holds a longer prefix of
  the prompt than the context does, the context is replaced by it (llama.cpp's sequence-state
  API) and only the tokens after it are evaluated. Restoring takes a read and a checksum; reading
  the chat again takes its whole length in prefill.
- After the reply, once its done event has been sent (``StateCache.save``): the context is cut
  to the prefix the chat's *next* prompt will share (Harmony drops a finished turn's analysis,
  so that is usually the history up to the reply's first token; it is found by rendering the
  next prompt, not assumed), that state is copied out of llama.cpp and written by a background
  thread (``app.engine.kvfiles``), so neither this reply nor the next waits for the disk.

gpt-oss alternates full-attention layers with 128-token sliding-window layers, and llama.cpp
saves a window layer's cells only within the window of the sequence's last position. A restored
context therefore holds every position for the full layers but only the last window for the
others, and it must never be rolled back more than one token: a prompt that shares less of it
is evaluated from the start (``_respect_floor``), and such a context is never saved shorter.
That is the case that has broken restored gpt-oss continuations elsewhere; the tests compare a
restored continuation with a full re-read token for token.
"""

from __future__ import annotations

import codecs
import ctypes
import logging
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import llama_cpp as L

from app.engine import kvfiles
from app.engine.events import GenerationStats
from app.engine.generator import PREFILL_CHUNK, Generator, _common_prefix
from app.harmony import SPECIAL_TOKENS, Message, StreamParser

log = logging.getLogger("hearth.engine.kvstate")

MIN_TOKENS = 64  # a shorter prefix is read again faster than a file is written and read
_SPECIAL_BYTES = frozenset(t.encode() for t in SPECIAL_TOKENS)
# Stands in for the chat's next message when the next prompt is rendered to find what it shares.
_NEXT_USER = Message("user", "…")


def identity(gen: Generator) -> dict[str, Any]:
    """What a saved state depends on besides its tokens: the model file, the llama.cpp build and
    every load option that changes what the KV cache holds or how it was computed."""
    opts = gen.options
    model = Path(opts.model_path)
    st = model.stat()
    cp = L.llama_context_default_params()  # the generator leaves these at their defaults
    return {
        "llama_cpp": L.__version__,
        "model": {"path": str(model.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns},
        "n_ctx": gen.n_ctx,
        "n_batch": PREFILL_CHUNK,
        "flash_attn": bool(opts.flash_attn),
        "type_k": int(cp.type_k),
        "type_v": int(cp.type_v),
        "swa_full": bool(cp.swa_full),
        "n_swa": int(L.llama_model_n_swa(gen.model)),
        "n_gpu_layers": int(opts.n_gpu_layers),
        "n_cpu_moe": int(opts.n_cpu_moe),
        "gpu_offload": bool(gen.gpu_offload),
    }


def reply_messages(gen: Generator, tokens: list[int]) -> list[Message]:
    """The reply in ``tokens`` as the chat will store it and render it next time: its analysis
    (which Harmony drops once the turn is finished) and its answer."""
    parser = StreamParser()
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    events: list[Any] = []
    buf = b""
    for tok in tokens:
        piece = gen.pieces.piece(tok)
        if gen.pieces.is_control(tok) or piece in _SPECIAL_BYTES:
            if buf:
                events.extend(parser.feed(decoder.decode(buf), False))
                buf = b""
            events.extend(parser.feed(piece.decode("utf-8", "replace"), True))
        else:
            buf += piece
    text = decoder.decode(buf, final=True)
    if text:
        events.extend(parser.feed(text, False))
    events.extend(parser.finish())
    reasoning = "".join(e.text for e in events if type(e).__name__ == "ReasoningDelta")
    content = "".join(
        e.text for e in events if type(e).__name__ in ("ContentDelta", "PreambleDelta")
    )
    out = []
    if reasoning:
        out.append(Message("assistant", reasoning, channel="analysis"))
    if content:
        out.append(Message("assistant", content, channel="final"))
    return out


@dataclass
class _Job:
    path: Path
    key: str
    identity: dict[str, Any]
    tokens: list[int]
    state: Any  # a ctypes byte array copied out of llama.cpp


class _Writer:
    """Writes state files on its own thread, the newest state of each chat only."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._jobs: dict[Path, _Job] = {}
        self._busy: Path | None = None
        self._thread: threading.Thread | None = None

    def put(self, job: _Job) -> None:
        with self._cond:
            self._jobs.pop(job.path, None)  # an older state of this chat not written yet
            self._jobs[job.path] = job
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="kv-writer", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def wait(self, path: Path | None = None, timeout: float = 120.0) -> bool:
        """Until ``path`` (or every file) is written."""

        def done() -> bool:
            if path is None:
                return not self._jobs and self._busy is None
            return path not in self._jobs and self._busy != path

        with self._cond:
            return self._cond.wait_for(done, timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._jobs))
                path = next(iter(self._jobs))
                job = self._jobs.pop(path)
                self._busy = path
            try:
                _write(job)
            except Exception:
                log.exception("could not save the KV state %s", path.name)
            finally:
                with self._cond:
                    self._busy = None
                    self._cond.notify_all()


def _write(job: _Job) -> None:
    t0 = time.perf_counter()
    size = len(job.state)
    budget = kvfiles.budget_bytes(job.path.parent)
    if size > budget:
        kvfiles.remove(job.path)  # an older, shorter state of this chat: stale now
        log.info("KV state of %s (%s) not saved: over the budget", job.key, kvfiles.human(size))
        return
    written = kvfiles.write_state(job.path, job.key, job.identity, job.tokens, job.state)
    removed = kvfiles.enforce_budget(budget, keep=job.path, base=job.path.parent)
    log.info(
        "saved the KV state of %s: %d tokens, %s in %.3f s%s",
        job.key,
        len(job.tokens),
        kvfiles.human(written),
        time.perf_counter() - t0,
        f"; {len(removed)} older file(s) removed for the budget" if removed else "",
    )


class StateCache:
    """The engine host's side of the cache: one per host, whatever model it loads."""

    def __init__(self) -> None:
        self._writer = _Writer()
        self._identity: tuple[Any, dict[str, Any]] | None = None
        # After a restore: the context's shortest prefix that may be kept (see the module doc).
        self._floor = 0
        self._floor_gen: Any = None

    def _identity_of(self, gen: Generator) -> dict[str, Any]:
        if self._identity is None or self._identity[0]() is not gen:
            self._identity = (weakref.ref(gen), identity(gen))
        return self._identity[1]

    def _floor_of(self, gen: Generator) -> int:
        return self._floor if self._floor_gen is not None and self._floor_gen() is gen else 0

    def _set_floor(self, gen: Generator | None, floor: int) -> None:
        self._floor, self._floor_gen = floor, (weakref.ref(gen) if gen is not None else None)

    # -- before a reply --------------------------------------------------------------------------

    def prepare(self, gen: Generator, key: str | None, prompt: list[int]) -> int:
        """Make the context ready for ``prompt``; returns how many tokens came from disk."""
        self._respect_floor(gen, prompt)
        if not key or not prompt:
            return 0
        path = kvfiles.path_for(key)
        self._writer.wait(path)  # this chat's last state may still be on its way to disk
        if not path.exists():
            return 0
        t0 = time.perf_counter()
        try:
            n = self._restore(gen, key, path, prompt)
        except kvfiles.InvalidState as e:
            log.warning("KV state %s ignored and removed: %s", path.name, e)
            kvfiles.remove(path)
            return 0
        except OSError as e:
            log.warning("KV state %s could not be read: %s", path.name, e)
            return 0
        except Exception:  # the cache must never cost a reply: read the chat instead
            log.exception("KV state %s could not be restored; removed", path.name)
            gen.reset_cache()
            self._set_floor(None, 0)
            kvfiles.remove(path)
            return 0
        if n:
            log.info("restored %d tokens of %s in %.3f s", n, key, time.perf_counter() - t0)
        return n

    def _respect_floor(self, gen: Generator, prompt: list[int]) -> None:
        floor = self._floor_of(gen)
        if floor and min(_common_prefix(gen.cache, prompt), len(prompt) - 1) < floor:
            gen.reset_cache()
            self._set_floor(None, 0)

    def _restore(self, gen: Generator, key: str, path: Path, prompt: list[int]) -> int:
        live = min(_common_prefix(gen.cache, prompt), len(prompt) - 1)
        with kvfiles.StateFile(path) as sf:
            if sf.key != key:
                raise kvfiles.InvalidState("it belongs to another chat")
            if sf.identity != self._identity_of(gen):
                raise kvfiles.InvalidState("it was made with another model or other options")
            n = sf.n_tokens
            if n - 1 <= live:
                return 0  # the context already holds as much
            tokens = sf.tokens()
            if min(_common_prefix(tokens, prompt), len(prompt) - 1) < n - 1:
                return 0  # the chat changed inside the saved part (an edit): read it again
            state = sf.state()
        arr = (ctypes.c_uint8 * len(state)).from_buffer(state)
        L.llama_memory_clear(gen.mem, True)
        gen.cache.clear()
        self._set_floor(None, 0)
        read = L.llama_state_seq_set_data(gen.ctx, arr, len(state), 0)
        last = L.llama_memory_seq_pos_max(gen.mem, 0)
        if read != len(state) or last != n - 1:
            L.llama_memory_clear(gen.mem, True)
            raise kvfiles.InvalidState(
                f"llama.cpp did not accept it (read {read:,} of {len(state):,} bytes, "
                f"last position {last} of {n - 1})"
            )
        gen.cache.extend(tokens)
        if self._identity_of(gen)["n_swa"] > 0:
            self._set_floor(gen, n - 1)
        kvfiles.touch(path)
        return n

    # -- after a reply ---------------------------------------------------------------------------

    def save(
        self,
        gen: Generator,
        key: str | None,
        prompt: list[int],
        stats: GenerationStats,
        next_tokens: Callable[[list[Message]], list[int]],
    ) -> None:
        """Keep the part of the context the chat's next prompt will share, and save it.
        ``next_tokens(messages)`` tokenizes this reply's history followed by ``messages``."""
        if not key or stats.stop_reason == "call":  # a tool call: the turn goes on at once
            return
        try:
            self._save(gen, key, prompt, next_tokens)
        except Exception:  # the cache must never cost a reply: log it and carry on
            log.exception("could not save the KV state of %s", key)

    def _save(
        self,
        gen: Generator,
        key: str,
        prompt: list[int],
        next_tokens: Callable[[list[Message]], list[int]],
    ) -> None:
        t0 = time.perf_counter()
        cache = gen.cache
        n_prompt = len(prompt)
        ok = len(cache) > n_prompt and cache[:n_prompt] == prompt
        reply = reply_messages(gen, cache[n_prompt:]) if ok else []
        n = _common_prefix(cache, next_tokens([*reply, _NEXT_USER]))
        if n <= n_prompt + 1:
            # Usually the reply's first token (<|channel|>, then "analysis" where the history
            # will have "final"): left out, so a regenerated reply (the same prompt) can use the
            # state too, which needs its last prompt token evaluated again.
            n = min(n, n_prompt)
        if n < self._floor_of(gen):
            gen.reset_cache()  # (see the module doc) and nothing worth saving
            self._set_floor(None, 0)
            return
        if n < MIN_TOKENS:
            return
        if n < len(cache):
            if not L.llama_memory_seq_rm(gen.mem, 0, n, -1):
                gen.reset_cache()
                return
            del cache[n:]
        path = kvfiles.path_for(key)
        size = L.llama_state_seq_get_size(gen.ctx, 0)
        if size > kvfiles.budget_bytes(path.parent):  # (not even copied out of llama.cpp)
            kvfiles.remove(path)  # an older, shorter state of this chat: stale now
            log.info("KV state of %s (%s) not saved: over the budget", key, kvfiles.human(size))
            return
        buf = (ctypes.c_uint8 * size)()
        if L.llama_state_seq_get_data(gen.ctx, buf, size, 0) != size:
            log.warning("llama.cpp did not copy the state of %s", key)
            return
        self._writer.put(_Job(path, key, self._identity_of(gen), list(cache), buf))
        log.info(
            "state of %s: %d tokens, %s copied in %.3f s",
            key,
            n,
            kvfiles.human(size),
            time.perf_counter() - t0,
        )

    def flush(self, timeout: float = 120.0) -> bool:
        """Wait until every state is on disk (before the host exits)."""
        return self._writer.wait(None, timeout)


__all__ = ["StateCache", "identity", "reply_messages"]
