"""The generation loop: llama.cpp's low-level decode + sampler chain, with prefix reuse.

One ``Generator`` owns one model and one context. ``generate`` evaluates only the part of the
prompt the KV cache doesn't already hold (the longest common prefix is kept), samples until a stop
token (``<|return|>``, ``<|call|>``, looked up by text in the loaded vocabulary), ``max_tokens``,
a full context, or a cancel, and hands sampled token ids to a sink in batches. The per-token path
is kept to the C calls plus a few Python operations: converting ids to text and parsing happen in
the sink, once per batch, not once per token.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import llama_cpp as L

from app.cpu import generation_threads
from app.engine import native
from app.engine.constrain import Constraint
from app.engine.errors import EngineError
from app.engine.events import GenerationStats, ModelInfo
from app.engine.gguf_info import GGUFError, GGUFInfo, inspect_gguf
from app.engine.literal import restore, text_tokens
from app.engine.options import LoadOptions, SamplingOptions

log = logging.getLogger("hearth.engine")

STOP_TEXTS = ("<|return|>", "<|call|>")
PREFILL_CHUNK = 512  # tokens per llama_decode during prefill: cancel is checked between chunks
# In a ``script``: sample this token (a benchmark aid: a scripted reply's structure with sampled
# text), with every special token of the vocabulary forbidden so the forced structure holds.
SAMPLED = -2


def physical_cores() -> int:
    """llama.cpp's default thread count here (see app.cpu)."""
    return generation_threads()


def _load_failure(options: LoadOptions, info: GGUFInfo) -> EngineError:
    """Turn llama.cpp's bare failure into a reason, from what it logged."""
    lines = native.recent_log()
    text = "".join(lines).lower()
    name = Path(options.model_path).name
    if "unknown model architecture" in text:
        return EngineError(
            "unsupported_architecture",
            f"{name} is a '{info.architecture}' model, an architecture this llama.cpp build "
            "doesn't support. Pick a gpt-oss GGUF, or update Hearth.",
        )
    if "out of memory" in text or "failed to allocate" in text or "cudamalloc" in text:
        return EngineError(
            "out_of_memory",
            f"Not enough memory to load {name}. Offload fewer layers to the GPU, keep more "
            "experts on the CPU, or choose a smaller context.",
        )
    detail = next(
        (ln.strip() for ln in reversed(lines) if "error" in ln.lower() or "failed" in ln.lower()),
        "",
    )
    return EngineError(
        "load_failed",
        f"llama.cpp could not load {name}"
        + (f" ({detail})" if detail else "")
        + ". Check the file with `hearth inspect`, or download it again.",
    )


def _common_prefix(a: list[int], b: list[int]) -> int:
    """The length of the longest common prefix of two token lists.

    Runs every turn over the whole conversation, so it compares slices (a C loop) instead of
    token by token in Python: 8 us instead of 80 us for 4,000 tokens. In a follow-up the whole
    cache is usually a prefix of the new prompt (one comparison); otherwise (an edited message, a
    reasoning channel left out of the history) a halving search over slices finds the first
    difference."""
    n = min(len(a), len(b))
    if a[:n] == b[:n]:
        return n
    lo, hi = 0, n  # a[:lo] == b[:lo]; the first difference is before hi
    while hi - lo > 32:
        mid = (lo + hi) // 2
        if a[lo:mid] == b[lo:mid]:
            lo = mid
        else:
            hi = mid
    while lo < hi and a[lo] == b[lo]:
        lo += 1
    return lo


class Generator:
    """A loaded model and its context. Not thread-safe: one generation at a time; ``cancel`` (a
    threading.Event passed to ``generate``) may be set from any thread."""

    def __init__(self, options: LoadOptions, *, log_path: Path | None = None) -> None:
        t0 = time.perf_counter()
        native.init(log_path)
        self.options = options
        self.info = inspect_gguf(options.model_path)  # GGUFError names a bad file
        self.model: Any = None
        self.ctx: Any = None
        self._overrides: native.CpuMoeOverrides | None = None
        self._chain: Any = None
        self._chain_key: tuple[Any, ...] | None = None
        self._chain_keep: Any = None
        self.cache: list[int] = []  # tokens whose K/V the context holds, in order
        self._specials: tuple[re.Pattern[str] | None, dict[str, int]] | None = None
        self._fragments: dict[str, list[int]] = {}
        self.n_evaluated = 0  # every token ever passed to llama_decode (tests count it)
        # The cancel event of the generation under way: llama.cpp's abort callback reads it
        # between graph nodes, so a cancel ends a long prefill inside its 512-token chunk.
        self._cancel: threading.Event | None = None
        self._abort_cb = L.ggml_abort_callback(self._abort_check)
        self._constraint: Constraint | None = None  # the grammar of the last reply, if any

        mp = L.llama_model_default_params()
        mp.n_gpu_layers = options.n_gpu_layers
        mp.use_mmap = options.use_mmap
        n_cpu_moe = max(0, min(options.n_cpu_moe, self.info.layer_count or options.n_cpu_moe))
        if n_cpu_moe > 0:
            self._overrides = native.CpuMoeOverrides(n_cpu_moe)
            mp.tensor_buft_overrides = self._overrides.pointer
        native.clear_recent_log()
        self.model = L.llama_model_load_from_file(options.model_path.encode(), mp)
        if not self.model:
            raise _load_failure(options, self.info)
        self.vocab = L.llama_model_get_vocab(self.model)
        self.pieces = native.PieceTable(self.vocab)
        self.n_threads = options.n_threads or physical_cores()

        self.gpu_offload = native.has_gpu_offload()
        uses_gpu = self.gpu_offload and options.n_gpu_layers != 0
        mode = options.backend_sampling
        self.backend_sampling = mode == "on" or (mode == "auto" and uses_gpu)

        cp = L.llama_context_default_params()
        n_ctx = options.n_ctx or self.info.context_length or 4096
        cp.n_ctx = n_ctx
        cp.n_batch = PREFILL_CHUNK
        cp.n_ubatch = PREFILL_CHUNK
        cp.n_seq_max = 1
        cp.n_threads = self.n_threads
        cp.n_threads_batch = self.n_threads
        cp.flash_attn_type = (
            L.LLAMA_FLASH_ATTN_TYPE_ENABLED if options.flash_attn else L.LLAMA_FLASH_ATTN_TYPE_AUTO
        )
        cp.no_perf = True
        self.ctx = L.llama_init_from_model(self.model, cp)
        if not self.ctx:
            L.llama_model_free(self.model)
            self.model = None
            raise EngineError(
                "out_of_memory",
                f"Not enough memory for a context of {n_ctx:,} tokens. Choose a smaller context.",
            )
        self.n_ctx = int(L.llama_n_ctx(self.ctx))
        self.mem = L.llama_get_memory(self.ctx)

        self.stop_tokens: dict[int, str] = {}
        for text in STOP_TEXTS:
            tok = self.special_token(text)
            if tok is not None:
                self.stop_tokens[tok] = text.strip("<|>")
        if not self.stop_tokens:
            self.close()
            raise EngineError(
                "not_harmony",
                f"{Path(options.model_path).name} has no <|return|> or <|call|> token: it is not "
                "a gpt-oss model. Pick a gpt-oss GGUF.",
            )
        self._special_table()  # one pass over the vocabulary now, not on the first reply
        self.load_s = time.perf_counter() - t0
        log.info(
            "loaded %s: n_ctx=%d ngl=%d n_cpu_moe=%d threads=%d backend_sampling=%s in %.2fs",
            options.model_path,
            self.n_ctx,
            options.n_gpu_layers,
            n_cpu_moe,
            self.n_threads,
            self.backend_sampling,
            self.load_s,
        )

    # -- facts ---------------------------------------------------------------------------------

    def model_info(self) -> ModelInfo:
        try:
            devs = [d.to_dict() for d in native.devices()]
        except Exception:
            devs = []
        return ModelInfo(
            path=self.options.model_path,
            name=self.info.name,
            architecture=self.info.architecture,
            n_ctx=self.n_ctx,
            n_ctx_train=int(L.llama_model_n_ctx_train(self.model)),
            n_layer=int(L.llama_model_n_layer(self.model)),
            n_params=int(L.llama_model_n_params(self.model)),
            size_bytes=int(L.llama_model_size(self.model)),
            n_gpu_layers=self.options.n_gpu_layers,
            n_cpu_moe=self.options.n_cpu_moe,
            n_threads=self.n_threads,
            flash_attn=self.options.flash_attn,
            gpu_offload=self.gpu_offload,
            backend_sampling=self.backend_sampling,
            load_s=round(self.load_s, 4),
            quantization=self.info.quantization,
            devices=devs,
        )

    # -- tokens --------------------------------------------------------------------------------

    def tokenize(self, text: str, *, special: bool = True) -> list[int]:
        data = text.encode("utf-8")
        cap = len(data) + 16
        buf = (L.llama_token * cap)()
        n = L.llama_tokenize(self.vocab, data, len(data), buf, cap, False, special)
        if n < 0:
            cap = -n
            buf = (L.llama_token * cap)()
            n = L.llama_tokenize(self.vocab, data, len(data), buf, cap, False, special)
        return list(buf[:n])

    def _special_table(self) -> tuple[re.Pattern[str] | None, dict[str, int]]:
        """Every special (control or user-defined) token of the vocabulary, as a regex.

        llama.cpp's tokenizer first cuts the text at special tokens and then tokenizes each piece
        on its own, so a prompt can be tokenized piece by piece with the pieces cached: a long
        conversation's history is then not tokenized again on every turn. Tokens that strip
        neighbouring spaces would break that equivalence: then the table is not used."""
        if self._specials is None:
            ids: dict[str, int] = {}
            strip = L.LLAMA_TOKEN_ATTR_LSTRIP | L.LLAMA_TOKEN_ATTR_RSTRIP
            wanted = L.LLAMA_TOKEN_ATTR_CONTROL | L.LLAMA_TOKEN_ATTR_USER_DEFINED
            usable = True
            for tok in range(self.pieces.n_vocab):
                attr = int(L.llama_vocab_get_attr(self.vocab, tok))
                if attr & wanted:
                    if attr & strip:
                        usable = False
                    text = (L.llama_vocab_get_text(self.vocab, tok) or b"").decode(
                        "utf-8", "replace"
                    )
                    if text:
                        ids.setdefault(text, tok)
            pattern = None
            if usable and ids:
                alts = sorted(ids, key=len, reverse=True)
                pattern = re.compile("|".join(re.escape(t) for t in alts))
            self._specials = (pattern, ids)
        return self._specials

    def tokenize_prompt(self, text: str) -> list[int]:
        """Tokenize a rendered prompt (special tokens parsed), reusing the tokens of the text
        between special tokens from earlier prompts. Text marked by ``literal.protect`` is
        ordinary text (its ``<|`` is not the start of a control token)."""
        pattern, ids = self._special_table()
        if pattern is None:
            return self.tokenize(restore(text), special=True)
        cache = self._fragments
        if len(cache) > 20_000:
            cache.clear()
        out: list[int] = []
        pos = 0
        for m in pattern.finditer(text):
            if m.start() > pos:
                frag = text[pos : m.start()]
                toks = cache.get(frag)
                if toks is None:
                    toks = cache[frag] = text_tokens(self._plain_tokens, frag)
                out.extend(toks)
            out.append(ids[m.group()])
            pos = m.end()
        if pos < len(text):
            frag = text[pos:]
            toks = cache.get(frag)
            if toks is None:
                toks = cache[frag] = text_tokens(self._plain_tokens, frag)
            out.extend(toks)
        return out

    def _plain_tokens(self, text: str) -> list[int]:
        return self.tokenize(text, special=False)

    def special_token(self, text: str) -> int | None:
        """The id of a control token, found by its text in the loaded vocabulary."""
        toks = self.tokenize(text, special=True)
        if len(toks) == 1 and self.pieces.piece(toks[0]) == text.encode():
            return toks[0]
        return None

    def vocab_token(self, text: str) -> int | None:
        """The id of the token whose vocabulary text is exactly ``text`` (e.g. "Ġworld")."""
        raw = text.encode("utf-8")
        for tok in range(self.pieces.n_vocab):
            if L.llama_vocab_get_text(self.vocab, tok) == raw:
                return tok
        return None

    # -- sampling ------------------------------------------------------------------------------

    def _sampler(self, s: SamplingOptions, suppress: str = "") -> Any:
        """The sampler chain; ``suppress``: "" nothing, "stop" the stop tokens, "special" every
        special (control or user-defined) token of the vocabulary."""
        seed = L.LLAMA_DEFAULT_SEED if s.seed is None else int(s.seed) & 0xFFFFFFFF
        key = (s.temperature, s.top_p, s.top_k, seed, suppress)
        if self._chain is not None and key == self._chain_key:
            L.llama_sampler_reset(self._chain)
            return self._chain
        self._free_chain()
        chain = L.llama_sampler_chain_init(L.llama_sampler_chain_default_params())
        keep: list[Any] = []
        if suppress:
            stops = list(self.stop_tokens)
            if suppress == "special":
                stops = sorted(set(stops) | set(self._special_table()[1].values()))
            arr = (L.llama_logit_bias * len(stops))()
            for i, tok in enumerate(stops):
                arr[i].token = tok  # type: ignore[assignment]
                arr[i].bias = float("-inf")
            keep.append(arr)
            L.llama_sampler_chain_add(
                chain, L.llama_sampler_init_logit_bias(self.pieces.n_vocab, len(stops), arr)
            )
        if s.temperature <= 0:
            L.llama_sampler_chain_add(chain, L.llama_sampler_init_greedy())
        else:
            if s.top_k and s.top_k > 0:
                L.llama_sampler_chain_add(chain, L.llama_sampler_init_top_k(int(s.top_k)))
            if s.top_p < 1.0:
                L.llama_sampler_chain_add(chain, L.llama_sampler_init_top_p(float(s.top_p), 1))
            L.llama_sampler_chain_add(chain, L.llama_sampler_init_temp(float(s.temperature)))
            L.llama_sampler_chain_add(chain, L.llama_sampler_init_dist(seed))
        if self.backend_sampling and not L.llama_set_sampler(self.ctx, 0, chain):
            log.warning("backend sampling refused this chain; sampling on the host")
            self.backend_sampling = False
        self._chain, self._chain_key, self._chain_keep = chain, key, keep
        return chain

    def _free_chain(self) -> None:
        if self._chain is None:
            return
        if self.backend_sampling and self.ctx:
            L.llama_set_sampler(self.ctx, 0, None)
        L.llama_sampler_free(self._chain)
        self._chain = self._chain_key = self._chain_keep = None

    # -- the loop ------------------------------------------------------------------------------

    def _abort_check(self, _data: Any) -> bool:
        cancel = self._cancel
        return cancel is not None and cancel.is_set()

    def _reuse_prefix(self, prompt: Sequence[int]) -> int:
        """Keep the longest common prefix of the cache and the prompt; drop the rest of the KV."""
        cache = self.cache
        i = _common_prefix(cache, prompt if isinstance(prompt, list) else list(prompt))
        if i >= len(prompt):
            i = len(prompt) - 1  # at least one token must be evaluated to get logits
        if i < len(cache):
            if not L.llama_memory_seq_rm(self.mem, 0, i, -1):
                L.llama_memory_clear(self.mem, True)
                i = 0
            del cache[i:]
        return i

    def generate(
        self,
        prompt: Sequence[int],
        sampling: SamplingOptions,
        sink: Callable[[list[int]], bool],
        *,
        cancel: threading.Event,
        script: Sequence[int] | None = None,
        suppress_stop: bool = False,
        flush_interval: float = 0.016,
        t_start: float | None = None,
        on_prefill: Callable[[int, int], None] | None = None,
        answer_now: threading.Event | None = None,
        on_answer_now: Callable[[], list[int]] | None = None,
        grammar: str | None = None,
        grammar_mode: str = "final",
    ) -> GenerationStats:
        """Evaluate ``prompt`` and sample a reply. ``sink(tokens)`` gets the sampled ids in order,
        including the stop token; it returns True once it has shown the user something, after
        which calls are spaced ``flush_interval`` apart (before that every token is passed at
        once, so the first text appears without delay). ``script`` forces these tokens instead of
        sampling (a testing aid: the real decode, pieces, parser and events all run); a
        ``SAMPLED`` element samples that token instead, with the special tokens forbidden (a
        benchmark aid: a reply that thinks, then answers, at the speed of real sampling).
        ``on_prefill(evaluated, total)`` hears of a prompt longer than one chunk, before each
        chunk. When ``answer_now`` is set, the tokens sampled so far go to the sink and the
        tokens ``on_answer_now()`` returns are forced next ("answer now": the Harmony tokens that
        end the thinking and open the final answer). ``grammar``/``grammar_mode`` constrain the
        reply (``app.engine.constrain``)."""
        t0 = time.perf_counter() if t_start is None else t_start
        if not prompt:
            raise EngineError("bad_request", "The prompt is empty.")
        if len(prompt) >= self.n_ctx:
            raise EngineError(
                "context_overflow",
                f"The prompt has {len(prompt):,} tokens; the context holds {self.n_ctx:,}. "
                "Shorten the conversation or load the model with a larger context.",
            )
        stats = GenerationStats(prompt_tokens=len(prompt), context_size=self.n_ctx)
        forced = list(script) if script is not None else None
        sampled_script = forced is not None and SAMPLED in forced
        self._end_constraint()
        chain = self._sampler(
            sampling, "special" if sampled_script else "stop" if suppress_stop else ""
        )
        if grammar:
            self._constraint = Constraint(self, grammar, grammar_mode, chain)
            if self.backend_sampling:  # the grammar needs the logits on the host
                L.llama_set_sampler(self.ctx, 0, None)
        cached = self._reuse_prefix(prompt)
        stats.cached_tokens = cached
        ctx = self.ctx
        decode = L.llama_decode
        get_one = L.llama_batch_get_one
        cache = self.cache

        # Prefill, in chunks; a long one can be interrupted inside a chunk too.
        pos = cached
        n_new = len(prompt) - cached
        use_abort = n_new > 64
        if use_abort:
            self._cancel = cancel
            L.llama_set_abort_callback(ctx, self._abort_cb, None)
        report = on_prefill if n_new > PREFILL_CHUNK else None
        try:
            while pos < len(prompt):
                if report is not None:
                    report(pos - cached, n_new)
                if cancel.is_set():
                    return self._finish(stats, "cancelled", t0, None, None, 0)
                chunk = prompt[pos : pos + PREFILL_CHUNK]
                arr = (L.llama_token * len(chunk))(*chunk)
                rc = decode(ctx, get_one(arr, len(chunk)))
                if rc != 0:
                    L.llama_memory_seq_rm(self.mem, 0, pos, -1)
                    if rc == 2 or cancel.is_set():
                        return self._finish(stats, "cancelled", t0, None, None, 0)
                    raise EngineError(
                        "decode_failed",
                        f"llama.cpp failed to evaluate the prompt (code {rc}). "
                        "Reload the model; if it happens again, choose a smaller context.",
                    )
                cache.extend(chunk)
                self.n_evaluated += len(chunk)
                pos += len(chunk)
        finally:
            if use_abort:
                self._cancel = None
                L.llama_set_abort_callback(ctx, L.ggml_abort_callback(0), None)
        t_prefill = time.perf_counter()
        stats.prefill_tps = n_new / max(t_prefill - t0, 1e-9)

        max_tokens = max(1, int(sampling.max_tokens))
        stop_tokens = self.stop_tokens
        n_ctx = self.n_ctx
        # One batch for every step: it points at ``one``, whose token is replaced each step
        # (building a batch per token was one more ctypes call, ~2 us, per token).
        one = (L.llama_token * 1)()
        step = get_one(one, 1)
        pending: list[int] = []
        n_gen = 0
        eager = True
        perf = time.perf_counter
        reason = "max_tokens"
        if cancel.is_set():
            return self._finish(stats, "cancelled", t0, None, None, 0)

        # The next token is one C call (ctypes returns an int): no Python frame in between.
        draw: Callable[[], int]
        if self.backend_sampling and self._constraint is None:
            draw = partial(L.llama_get_sampled_token_ith, ctx, -1)
        else:
            draw = partial(L.llama_sampler_sample, chain, ctx, -1)
        pick: Callable[[], int] = draw
        if forced is not None:
            plan = iter(forced)

            def scripted() -> int:
                tok = next(plan, -1)  # -1: the script ran out
                return draw() if tok == SAMPLED else tok

            pick = scripted
        if self._constraint is not None:
            pick = self._constraint.wrap(pick)

        interjected: list[int] = []
        tok = pick()
        t_first = perf()
        next_flush = t_first + flush_interval
        while True:
            if tok < 0:  # a script ran out
                break
            n_gen += 1
            pending.append(tok)
            if tok in stop_tokens:
                reason = stop_tokens[tok]
                break
            if n_gen >= max_tokens:
                break
            if cancel.is_set():
                reason = "cancelled"
                break
            if len(cache) >= n_ctx:
                reason = "context_full"
                break
            if eager:
                eager = not sink(pending)
                pending = []
                next_flush = perf() + flush_interval
            elif perf() >= next_flush:
                sink(pending)
                pending = []
                next_flush = perf() + flush_interval
            one[0] = tok
            rc = decode(ctx, step)
            if rc != 0:
                if rc == 1:
                    reason = "context_full"
                    break
                raise EngineError(
                    "decode_failed",
                    f"llama.cpp failed while generating (code {rc}). Reload the model.",
                )
            cache.append(tok)
            if answer_now is not None and answer_now.is_set():
                answer_now.clear()
                if pending:  # the host decides from what it has parsed: all of it
                    sink(pending)
                    pending = []
                if on_answer_now is not None:
                    interjected.extend(on_answer_now())
            tok = interjected.pop(0) if interjected else pick()
        t_end = perf()
        self.n_evaluated += n_gen - 1 if n_gen else 0
        if pending:
            sink(pending)
        return self._finish(stats, reason, t0, t_first, t_end, n_gen)

    def _finish(
        self,
        stats: GenerationStats,
        reason: str,
        t0: float,
        t_first: float | None,
        t_end: float | None,
        n_gen: int,
    ) -> GenerationStats:
        now = time.perf_counter()
        stats.stop_reason = reason
        stats.generated_tokens = n_gen
        if t_first is not None:
            stats.ttft_s = t_first - t0
            if t_end is not None and n_gen > 1:
                stats.generation_tps = (n_gen - 1) / max(t_end - t_first, 1e-9)
        stats.context_used = len(self.cache)
        stats.total_s = now - t0
        stats.backend_sampling = self.backend_sampling
        return stats

    def _end_constraint(self) -> None:
        """Free the last reply's grammar (and give the sampler chain back to the GPU)."""
        if self._constraint is not None:
            self._constraint.close()
            self._constraint = None
            if self.backend_sampling and self.ctx and self._chain is not None:
                L.llama_set_sampler(self.ctx, 0, self._chain)

    def reset_cache(self) -> None:
        L.llama_memory_clear(self.mem, True)
        self.cache.clear()

    def close(self) -> None:
        self._end_constraint()
        self._free_chain()
        if self.ctx:
            L.llama_free(self.ctx)
            self.ctx = None
        if self.model:
            L.llama_model_free(self.model)
            self.model = None
        self._overrides = None


__all__ = ["SAMPLED", "EngineError", "GGUFError", "Generator", "physical_cores"]
