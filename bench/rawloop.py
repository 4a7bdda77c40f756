"""The reference every streaming figure is compared with: llama.cpp's low-level decode + sample
loop in the benchmark process, as lean as Python allows (one prebuilt batch, one C call to
sample, nothing else per token).

It does the engine's work and no more: the same model, context size, threads and sampler chain
(top-k, temperature, seeded dist, the same tokens forbidden), the prompt cached but for its last
token (as the engine's prefix reuse leaves it), and for a scripted plan the same forced tokens
decoded and the same stretches sampled.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SAMPLED = -2  # a plan element: sample here (app.engine.generator.SAMPLED)


@dataclass
class RawRun:
    tokens: int
    gen_tps: float  # (tokens - 1) / first token sampled -> last token sampled (the engine's stat)
    total_tps: float  # tokens / last prompt token's decode started -> last token sampled


class RawLoop:
    def __init__(self, model: Path, n_ctx: int, threads: int, top_k: int = 40) -> None:
        import llama_cpp as L

        from app.engine import native

        native.init(None)
        self.L = L
        self.top_k = top_k
        self.model = L.llama_model_load_from_file(
            str(model).encode(), L.llama_model_default_params()
        )
        if not self.model:
            raise RuntimeError(f"llama.cpp could not load {model}")
        self.vocab = L.llama_model_get_vocab(self.model)
        self.n_vocab = int(L.llama_vocab_n_tokens(self.vocab))
        cp = L.llama_context_default_params()
        cp.n_ctx = n_ctx
        cp.n_batch = cp.n_ubatch = 512
        cp.n_seq_max = 1
        cp.n_threads = cp.n_threads_batch = threads
        cp.flash_attn_type = L.LLAMA_FLASH_ATTN_TYPE_ENABLED
        cp.no_perf = True
        self.ctx = L.llama_init_from_model(self.model, cp)
        self.mem = L.llama_get_memory(self.ctx)
        self.threads = threads
        self.cached: list[int] = []
        self._chains: dict[tuple[str, int], Any] = {}
        self._keep: list[Any] = []

    def set_threads(self, n: int) -> None:
        self.L.llama_set_n_threads(self.ctx, n, n)
        self.threads = n

    def tokenize(self, text: str, special: bool = True) -> list[int]:
        L = self.L
        data = text.encode()
        buf = (L.llama_token * (len(data) + 16))()
        n = L.llama_tokenize(self.vocab, data, len(data), buf, len(buf), False, special)
        return list(buf[:n])

    def special_tokens(self) -> list[int]:
        """Every control or user-defined token (what the engine forbids in a sampled stretch)."""
        L = self.L
        wanted = L.LLAMA_TOKEN_ATTR_CONTROL | L.LLAMA_TOKEN_ATTR_USER_DEFINED
        out = []
        for tok in range(self.n_vocab):
            if int(L.llama_vocab_get_attr(self.vocab, tok)) & wanted:
                out.append(tok)
        return out

    def stop_tokens(self) -> list[int]:
        return [t for s in ("<|return|>", "<|call|>") for t in self.tokenize(s)[:1]]

    def _chain(self, forbid: str, seed: int) -> Any:
        """top-k, temperature 1, seeded dist, after a logit bias forbidding the stop tokens
        ("stop") or every special token ("special"), as the engine builds it."""
        L = self.L
        key = (forbid, seed)
        chain = self._chains.get(key)
        if chain is not None:
            L.llama_sampler_reset(chain)
            return chain
        banned = self.special_tokens() if forbid == "special" else self.stop_tokens()
        bias = (L.llama_logit_bias * len(banned))()
        for i, t in enumerate(banned):
            bias[i].token = t
            bias[i].bias = float("-inf")
        self._keep.append(bias)
        chain = L.llama_sampler_chain_init(L.llama_sampler_chain_default_params())
        L.llama_sampler_chain_add(
            chain, L.llama_sampler_init_logit_bias(self.n_vocab, len(banned), bias)
        )
        L.llama_sampler_chain_add(chain, L.llama_sampler_init_top_k(self.top_k))
        L.llama_sampler_chain_add(chain, L.llama_sampler_init_temp(1.0))
        L.llama_sampler_chain_add(chain, L.llama_sampler_init_dist(seed))
        self._chains[key] = chain
        return chain

    def _prime(self, prompt: list[int]) -> None:
        """The prompt in the cache but for its last token, as the engine's prefix reuse leaves it
        for a repeated prompt."""
        L = self.L
        keep = len(prompt) - 1
        n = 0
        while n < min(len(self.cached), keep) and self.cached[n] == prompt[n]:
            n += 1
        L.llama_memory_seq_rm(self.mem, 0, n, -1)
        rest = prompt[n:keep]
        for i in range(0, len(rest), 512):
            chunk = rest[i : i + 512]
            arr = (L.llama_token * len(chunk))(*chunk)
            L.llama_decode(self.ctx, L.llama_batch_get_one(arr, len(chunk)))
        self.cached = prompt[:keep]

    def run(self, prompt: list[int], n_tokens: int, seed: int = 1234) -> RawRun:
        """Sample ``n_tokens`` with the stop tokens forbidden (every run the same length)."""
        return self.run_plan(prompt, [SAMPLED] * n_tokens, seed, forbid="stop")

    def run_plan(
        self, prompt: list[int], plan: list[int], seed: int = 1234, forbid: str = "special"
    ) -> RawRun:
        """Decode ``plan``: token ids are forced, SAMPLED elements sampled."""
        L = self.L
        self._prime(prompt)
        chain = self._chain(forbid, seed)
        ctx = self.ctx
        decode = L.llama_decode
        sample = L.llama_sampler_sample
        one = (L.llama_token * 1)(prompt[-1])
        step = L.llama_batch_get_one(one, 1)
        t0 = time.perf_counter()
        decode(ctx, step)
        tok = sample(chain, ctx, -1) if plan[0] == SAMPLED else plan[0]
        t_first = time.perf_counter()
        for want in plan[1:]:
            one[0] = tok
            decode(ctx, step)
            tok = sample(chain, ctx, -1) if want == SAMPLED else want
        t_end = time.perf_counter()
        n = len(plan)
        return RawRun(n, (n - 1) / max(t_end - t_first, 1e-9), n / max(t_end - t0, 1e-9))

    def close(self) -> None:
        L = self.L
        for chain in self._chains.values():
            L.llama_sampler_free(chain)
        self._chains.clear()
        if self.ctx:
            L.llama_free(self.ctx)
            self.ctx = None
        if self.model:
            L.llama_model_free(self.model)
            self.model = None
