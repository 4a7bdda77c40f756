"""Grammar-constrained sampling for one reply (a JSON answer, a forced tool call).

llama.cpp's grammar sampler decides which tokens may come next. Applying it to all of the
vocabulary on every token is slow (201k candidates on gpt-oss), so this does what llama.cpp's own
``common_sampler`` does: sample as usual, check that one token against the grammar, and only when
it is refused sample again from the full vocabulary with the grammar applied first.

Modes (``GenerateRequest.grammar_mode``):
- "final": the grammar starts after the final channel's ``<|message|>``; until then the model
  thinks (and calls tools) freely. While it applies, Harmony's control tokens are refused except
  ``<|return|>``, which the grammar allows only once the answer is complete.
- "call": the grammar covers the whole reply (it names Harmony's control tokens itself);
  ``<|return|>`` is refused, so a complete reply ends with ``<|call|>``.
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Callable
from typing import Any

import llama_cpp as L
import numpy as np

from app.engine.errors import EngineError

log = logging.getLogger("hearth.engine")

_TOKEN_DATA = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)])


class Constraint:
    def __init__(self, gen: Any, grammar: str, mode: str, chain: Any) -> None:
        self.smpl = L.llama_sampler_init_grammar(gen.vocab, grammar.encode("utf-8"), b"root")
        if not self.smpl:
            raise EngineError(
                "bad_request",
                "The engine could not read this request's grammar (llama.log has the reason). "
                "Simplify the JSON schema.",
            )
        self.gen = gen
        self.chain = chain
        specials: dict[str, int] = gen._special_table()[1]
        ret = specials.get("<|return|>")
        self.channel = specials.get("<|channel|>")
        self.message = specials.get("<|message|>")
        self.start = specials.get("<|start|>")
        if mode == "call":
            self.active = True
            banned = {ret} if ret is not None else set()
        else:
            self.active = False
            banned = set(specials.values()) - {ret}
        self.banned = banned
        self._specials = set(specials.values())
        self._banned_idx = np.array(sorted(banned), dtype=np.int64)
        self._watch = False  # inside a header, after <|channel|>
        self._channel = b""
        self._one = (L.llama_token_data * 1)()
        self._one_arr = L.llama_token_data_array(data=self._one, size=1, selected=-1, sorted=False)
        self._buf: np.ndarray | None = None

    def close(self) -> None:
        if self.smpl:
            L.llama_sampler_free(self.smpl)
            self.smpl = None

    # -- per token -----------------------------------------------------------------------------

    def allows(self, tok: int) -> bool:
        if tok in self.banned:
            return False
        self._one[0].id = tok  # type: ignore[assignment]
        self._one[0].logit = 1.0
        self._one[0].p = 0.0
        self._one_arr.size = 1
        self._one_arr.selected = -1
        self._one_arr.sorted = False
        L.llama_sampler_apply(self.smpl, ctypes.byref(self._one_arr))
        return bool(self._one[0].logit != float("-inf"))

    def wrap(self, pick: Callable[[], int]) -> Callable[[], int]:
        """``pick`` with the grammar enforced, and every chosen token observed."""

        def constrained() -> int:
            tok = pick()
            if tok >= 0 and self.active and not self.allows(tok):
                tok = self._resample()
            if tok >= 0:
                self._observe(tok)
            return tok

        return constrained

    def _observe(self, tok: int) -> None:
        if self.active:
            if self.allows(tok):
                L.llama_sampler_accept(self.smpl, tok)
            else:  # a forced token the grammar can't take (a test script): stop constraining
                log.warning("a forced token left the grammar; the rest is not constrained")
                self.active = False
            return
        # "final": wait for <|channel|>final ... <|message|>.
        if tok == self.channel:
            self._watch, self._channel = True, b""
        elif tok == self.message:
            if self._watch and self._channel.split()[:1] == [b"final"]:
                self.active = True
            self._watch = False
        elif tok == self.start:
            self._watch = False
        elif self._watch and tok not in self.banned:
            self._channel += self.gen.pieces.piece(tok)

    def _resample(self) -> int:
        """The next token from the whole vocabulary, the grammar applied first."""
        ctx = self.gen.ctx
        n = self.gen.pieces.n_vocab
        if self._buf is None:
            self._buf = np.zeros(n, dtype=_TOKEN_DATA)
        buf = self._buf
        buf["id"] = np.arange(n, dtype=np.int32)
        buf["logit"] = np.ctypeslib.as_array(L.llama_get_logits_ith(ctx, -1), shape=(n,))
        buf["p"] = 0.0
        if self._banned_idx.size:
            buf["logit"][self._banned_idx] = -np.inf
        arr = L.llama_token_data_array(
            data=buf.ctypes.data_as(ctypes.POINTER(L.llama_token_data)),
            size=n,
            selected=-1,
            sorted=False,
        )
        L.llama_sampler_apply(self.smpl, ctypes.byref(arr))
        logits = buf["logit"]
        allowed = np.flatnonzero(logits > -np.inf)
        if allowed.size == 0:
            log.warning("the grammar allows no token here; the reply ends")
            return -1
        best = int(allowed[np.argmax(logits[allowed])])
        if allowed.size == 1 or (
            allowed.size <= 32 and all(int(t) in self._specials for t in allowed)
        ):
            # One way on (or only control tokens, which a sampled script stretch forbids):
            # take the likeliest allowed token.
            return best
        L.llama_sampler_apply(self.chain, ctypes.byref(arr))
        if arr.selected < 0 or arr.data[arr.selected].logit == float("-inf"):
            return best
        return int(arr.data[arr.selected].id)
