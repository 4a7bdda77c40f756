"""Stop during a long prompt, through the real engine host on a model with gpt-oss-20b's layer
shapes: the cancel reaches llama.cpp's abort callback inside the 512-token chunk being evaluated,
so the turn ends without waiting for the chunk (seconds with the real model on a CPU)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.engine.client import EngineClient, GenerateRequest
from app.engine.events import DoneEvent, PrefillEvent
from app.engine.options import LoadOptions, SamplingOptions
from app.harmony import Message
from tests.helpers.engine import start_client
from tests.helpers.tinymodel import GPTOSS_20B_LAYER, write_tiny_gptoss


@pytest.fixture(scope="module")
def wide_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineClient]:
    model = write_tiny_gptoss(
        tmp_path_factory.mktemp("wide") / "gpt-oss-20b-layer.gguf",
        n_layer=1,
        dims=GPTOSS_20B_LAYER,
        name="gpt-oss-20b-layer-shaped",
    )
    client = start_client(tmp_path_factory.mktemp("wide-home"))
    client.load(LoadOptions(model_path=str(model), n_ctx=4096, n_threads=1))
    yield client
    client.close()
    model.unlink()


def _request(text: str, max_tokens: int = 1) -> GenerateRequest:
    return GenerateRequest(
        messages=[Message("user", text)],
        sampling=SamplingOptions(max_tokens=max_tokens, seed=1),
    )


def test_cancel_during_prefill_ends_inside_the_chunk(wide_engine: EngineClient) -> None:
    long_text = "a stone in the river " * 70  # ~1,560 tokens with this byte vocabulary: 4 chunks

    # The time one chunk takes here (for the report only: nothing below depends on timing).
    t0 = time.perf_counter()
    events = list(wide_engine.stream(_request("b" + long_text)))
    full_s = time.perf_counter() - t0
    done = events[-1]
    assert isinstance(done, DoneEvent) and done.stats.stop_reason != "cancelled"
    chunks = [e for e in events if isinstance(e, PrefillEvent)]
    assert [e.evaluated for e in chunks] == [0, 512, 1024, 1536]
    chunk_s = full_s / (chunks[-1].total / 512)

    # Now cancel as soon as the host says it is evaluating the first chunk.
    seen: list[object] = []
    t_cancel = 0.0
    for ev in wide_engine.stream(_request("c" + long_text)):
        seen.append(ev)
        if isinstance(ev, PrefillEvent) and ev.evaluated == 0:
            t_cancel = time.perf_counter()
            wide_engine.cancel()
    latency = time.perf_counter() - t_cancel
    print(
        f"one 512-token chunk: {chunk_s:.2f} s; cancel to done during it: {latency * 1000:.0f} ms"
    )
    done = seen[-1]
    assert isinstance(done, DoneEvent)
    assert done.stats.stop_reason == "cancelled"
    # Without the abort callback reading the cancel, the first chunk would finish (the host
    # would report "512 evaluated" and keep those tokens) before the cancel was seen.
    assert [e.evaluated for e in seen if isinstance(e, PrefillEvent)] == [0]
    # Only the prefix reused from the previous reply is left; nothing of the cut chunk.
    assert done.stats.context_used == done.stats.cached_tokens < 512
    assert done.stats.generated_tokens == 0

    # The engine is fine afterwards: the same prompt runs to its end.
    again = list(wide_engine.stream(_request("c" + long_text, max_tokens=2)))
    assert isinstance(again[-1], DoneEvent) and again[-1].stats.stop_reason != "cancelled"
    assert again[-1].stats.cached_tokens < 512


def test_short_prompts_send_no_prefill_events(wide_engine: EngineClient) -> None:
    events = list(wide_engine.stream(_request("hello")))
    assert not any(isinstance(e, PrefillEvent) for e in events)
    assert isinstance(events[-1], DoneEvent)


def test_model_file_is_20b_layer_shaped(wide_engine: EngineClient) -> None:
    info = wide_engine.model_info
    assert info is not None and info.n_layer == 1
    assert Path(info.path).name == "gpt-oss-20b-layer.gguf"
    assert info.n_params > 450_000_000  # 32 experts of 3 x 2880 x 2880, as in gpt-oss-20b
