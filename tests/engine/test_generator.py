"""The generation loop in-process: prefix reuse by counting evaluated tokens, cancel within one
token, stop conditions, experts on the CPU, token text."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.engine.errors import EngineError
from app.engine.generator import Generator
from app.engine.options import LoadOptions, SamplingOptions
from tests.helpers.tinymodel import LONG_TOKEN


@pytest.fixture(scope="module")
def gen(tiny_model: Path) -> Iterator[Generator]:
    g = Generator(LoadOptions(n_threads=1, model_path=str(tiny_model), n_ctx=1024))
    yield g
    g.close()


def run(
    g: Generator, prompt: list[int], sampling: SamplingOptions, **kw: object
) -> tuple[list[int], object]:
    got: list[int] = []

    def sink(tokens: list[int]) -> bool:
        got.extend(tokens)
        return True

    stats = g.generate(prompt, sampling, sink, cancel=kw.pop("cancel", threading.Event()), **kw)  # type: ignore[arg-type]
    return got, stats


def test_stop_tokens_are_found_by_text(gen: Generator) -> None:
    assert sorted(gen.stop_tokens.values()) == ["call", "return"]
    for tok, name in gen.stop_tokens.items():
        assert gen.pieces.piece(tok) == f"<|{name}|>".encode()


def test_prefix_reuse_evaluates_only_new_tokens(gen: Generator) -> None:
    gen.reset_cache()
    base = gen.tokenize("<|start|>user<|message|>" + "hello world " * 20 + "<|end|>")
    first = base + gen.tokenize("<|start|>assistant")
    s = SamplingOptions(max_tokens=5, seed=1)
    before = gen.n_evaluated
    _, stats = run(gen, first, s, suppress_stop=True)
    assert stats.cached_tokens == 0
    assert gen.n_evaluated - before == len(first) + stats.generated_tokens - 1

    follow = first + gen.tokenize(
        "<|channel|>final<|message|>hi<|end|><|start|>user<|message|>more"
    )
    before = gen.n_evaluated
    _, stats = run(gen, follow, s, suppress_stop=True)
    # The cache holds the first prompt plus the reply, which diverges from the new prompt right
    # after the first prompt: only the rest is evaluated.
    assert stats.cached_tokens == len(first)
    assert gen.n_evaluated - before == (len(follow) - len(first)) + stats.generated_tokens - 1

    # The same prompt again: everything but the last token comes from the cache.
    before = gen.n_evaluated
    _, stats = run(gen, follow, s, suppress_stop=True)
    assert stats.cached_tokens == len(follow) - 1
    assert gen.n_evaluated - before == 1 + stats.generated_tokens - 1


def test_cancel_stops_within_one_token(gen: Generator) -> None:
    cancel = threading.Event()
    seen: list[int] = []

    def sink(tokens: list[int]) -> bool:
        seen.extend(tokens)
        if len(seen) >= 10:
            cancel.set()
        return False  # keep every token flowing to the sink at once

    prompt = gen.tokenize("<|start|>user<|message|>go<|end|><|start|>assistant")
    stats = gen.generate(
        prompt, SamplingOptions(max_tokens=500, seed=2), sink, cancel=cancel, suppress_stop=True
    )
    assert stats.stop_reason == "cancelled"
    at_cancel = 10
    assert at_cancel <= stats.generated_tokens <= at_cancel + 1


def test_cancel_before_prefill_evaluates_nothing(gen: Generator) -> None:
    gen.reset_cache()
    cancel = threading.Event()
    cancel.set()
    before = gen.n_evaluated
    got, stats = run(gen, gen.tokenize("x" * 600), SamplingOptions(), cancel=cancel)
    assert stats.stop_reason == "cancelled" and got == []
    assert gen.n_evaluated == before


def test_context_full_stops_the_reply(tiny_model: Path) -> None:
    g = Generator(LoadOptions(n_threads=1, model_path=str(tiny_model), n_ctx=256))
    try:
        prompt = g.tokenize("<|start|>user<|message|>hi<|end|><|start|>assistant")
        _got, stats = run(g, prompt, SamplingOptions(max_tokens=10_000, seed=3), suppress_stop=True)
        assert stats.stop_reason == "context_full"
        assert stats.context_used == g.n_ctx
        with pytest.raises(EngineError) as e:
            run(g, g.tokenize("z" * 400), SamplingOptions())
        assert e.value.kind == "context_overflow"
    finally:
        g.close()


def test_experts_on_cpu_load_and_generate(tiny_model: Path) -> None:
    g = Generator(LoadOptions(n_threads=1, model_path=str(tiny_model), n_ctx=512, n_cpu_moe=1))
    try:
        assert g._overrides is not None
        assert g._overrides.pattern == rb"blk\.(0)\.ffn_(up|down|gate)_exps"
        got, stats = run(g, g.tokenize("hello"), SamplingOptions(max_tokens=20, seed=1))
        assert len(got) == stats.generated_tokens >= 1
    finally:
        g.close()


def test_long_token_piece_is_whole(gen: Generator) -> None:
    tok = gen.vocab_token(LONG_TOKEN)
    assert tok is not None
    assert gen.pieces.piece(tok) == LONG_TOKEN.replace("Ġ", " ").encode()
    assert len(gen.pieces.piece(tok)) > 32


def test_seeded_sampling_repeats(gen: Generator) -> None:
    prompt = gen.tokenize("<|start|>user<|message|>seed<|end|><|start|>assistant")
    s = SamplingOptions(max_tokens=30, seed=42)
    a, _ = run(gen, prompt, s, suppress_stop=True)
    b, _ = run(gen, prompt, s, suppress_stop=True)
    assert a == b


def test_prompt_tokenized_piecewise_equals_whole(gen: Generator) -> None:
    from app.harmony import Message, PromptSettings, Tool, render_prompt

    msgs = [
        Message("user", "Hello <|endoftext|> there, héllo 😀 " * 3),
        Message("assistant", "Let me look.", channel="analysis"),
        Message("assistant", '{"q": 1}', recipient="functions.lookup", content_type="json"),
        Message("tool", '{"r": 2}', name="functions.lookup"),
        Message("assistant", "Done: the  answer.", channel="final"),
        Message("user", "  spaces  and\nnewlines\n\n"),
    ]
    settings = PromptSettings(
        effort="high", instructions="Be nice.", tools=[Tool("lookup", "Look up.", {})]
    )
    text = render_prompt(msgs, settings)
    assert gen.tokenize_prompt(text) == gen.tokenize(text, special=True)
    assert gen.tokenize_prompt(text) == gen.tokenize(text, special=True)  # from the cache


def test_common_prefix_matches_a_token_by_token_scan() -> None:
    from app.engine.generator import _common_prefix

    def scan(a: list[int], b: list[int]) -> int:
        i = 0
        while i < min(len(a), len(b)) and a[i] == b[i]:
            i += 1
        return i

    base = list(range(1000))
    cases = [([], base), (base, []), (base, base), (base[:999], base), (base, base[:10])]
    for at in (0, 1, 31, 32, 33, 500, 998, 999):
        changed = base.copy()
        changed[at] = -1
        cases += [
            (base, changed),
            (changed, base),
            (base[:700], changed),
            (changed[: at + 1], base),
        ]
    for a, b in cases:
        assert _common_prefix(a, b) == scan(a, b)


def test_prefix_reuse_after_an_edit_in_the_middle(gen: Generator) -> None:
    # An edited earlier message: the cache is kept up to the first changed token, the rest is
    # evaluated again.
    gen.reset_cache()
    text = "<|start|>user<|message|>" + "hello world " * 40 + "<|end|><|start|>assistant"
    first = gen.tokenize(text)
    s = SamplingOptions(max_tokens=2, seed=1)
    run(gen, first, s, suppress_stop=True)
    at = len(first) // 2
    edited = first[:at] + gen.tokenize("!") + first[at + 1 :]
    before = gen.n_evaluated
    _, stats = run(gen, edited, s, suppress_stop=True)
    assert stats.cached_tokens == at
    assert gen.n_evaluated - before == (len(edited) - at) + stats.generated_tokens - 1
