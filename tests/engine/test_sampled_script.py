"""The benchmark aid "a scripted reply with sampled stretches": forced Harmony structure, real
sampling in between, special tokens forbidden while sampling (so the structure holds)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.engine.client import EngineClient, GenerateRequest
from app.engine.events import ContentEvent, DoneEvent, ReasoningEvent
from app.engine.generator import SAMPLED, Generator
from app.engine.options import LoadOptions, SamplingOptions
from app.harmony import Message
from tests.helpers.engine import collect

THINK_THEN_ANSWER: list[str | int] = [
    "<|channel|>analysis<|message|>",
    40,
    "<|end|><|start|>assistant<|channel|>final<|message|>",
    60,
    "<|return|>",
]


@pytest.fixture(scope="module")
def gen(tiny_model: Path) -> Iterator[Generator]:
    g = Generator(LoadOptions(n_threads=1, model_path=str(tiny_model), n_ctx=2048))
    yield g
    g.close()


def _request(seed: int) -> GenerateRequest:
    return GenerateRequest(
        [Message("user", "Think, then answer.")],
        sampling=SamplingOptions(max_tokens=1000, seed=seed, top_k=40),
        script=list(THINK_THEN_ANSWER),
    )


def test_reasoning_then_content_through_the_host(engine: EngineClient) -> None:
    events = collect(engine, _request(seed=5))
    done = events[-1]
    assert isinstance(done, DoneEvent)
    assert done.stats.stop_reason == "return"
    kinds = [type(e) for e in events if isinstance(e, ReasoningEvent | ContentEvent)]
    # Every reasoning delta comes before the first content delta, and there are both.
    first_content = kinds.index(ContentEvent)
    assert first_content > 0
    assert ReasoningEvent not in kinds[first_content:]
    assert set(kinds[:first_content]) == {ReasoningEvent}
    # 40 + 60 sampled tokens, plus the forced ones (byte-level tiny vocabulary: one per letter).
    assert done.stats.generated_tokens > 100

    # The stretches are sampled (seeded): the same seed repeats, another one differs.
    def text(evs: list[object]) -> tuple[str, str]:
        reasoning = "".join(e.text for e in evs if isinstance(e, ReasoningEvent))
        content = "".join(e.text for e in evs if isinstance(e, ContentEvent))
        return reasoning, content

    assert text(collect(engine, _request(seed=5))) == text(events)
    other = text(collect(engine, _request(seed=6)))
    assert other[0] != text(events)[0] and other[1] != text(events)[1]


def test_sampled_stretches_never_pick_a_special_token(gen: Generator) -> None:
    prompt = gen.tokenize("<|start|>user<|message|>go<|end|><|start|>assistant")
    specials = set(gen._special_table()[1].values())
    assert len(specials) >= 9  # the Harmony specials of the tiny vocabulary

    def tokens(script: list[int] | None) -> list[int]:
        got: list[int] = []

        def sink(batch: list[int]) -> bool:
            got.extend(batch)
            return True

        s = SamplingOptions(max_tokens=600, seed=11, top_k=0, temperature=1.5)
        gen.generate(prompt, s, sink, cancel=threading.Event(), script=script)
        return got

    # Free sampling picks special tokens in 600 steps (so the check below can fail)...
    assert specials & set(tokens(None))
    # ...a sampled stretch of a script never does; the forced tokens around it stay in place.
    channel = gen.special_token("<|channel|>")
    ret = gen.special_token("<|return|>")
    assert channel is not None and ret is not None
    got = tokens([channel, *[SAMPLED] * 598, ret])
    assert len(got) == 600
    assert got[0] == channel and got[-1] == ret
    assert not specials & set(got[1:-1])
