"""The KV state restore on a model with gpt-oss-20b's layer shapes (2 layers: a 128-token
sliding-window layer and a full-attention one, 64 query / 8 KV heads of 64, width 2880), with a
history longer than the window: the continuation after a restart with the state restored equals
the continuation after reading the chat again, greedy and sampled. The case that has broken
restored gpt-oss continuations elsewhere."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.engine import kvfiles
from app.engine.options import SamplingOptions
from tests.helpers.kvchat import KEY, ask, first_turn, follow_up, host
from tests.helpers.tinymodel import GPTOSS_20B_LAYER, write_tiny_gptoss

QUESTION = "The river runs past the old stone mill, and on to the sea. " * 3
GREEDY = SamplingOptions(temperature=0.0, max_tokens=12)
SAMPLED = SamplingOptions(temperature=1.0, top_k=40, seed=99, max_tokens=12)


@pytest.fixture(scope="module")
def wide_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    model = write_tiny_gptoss(
        tmp_path_factory.mktemp("wide-kv") / "gpt-oss-20b-2-layers.gguf",
        n_layer=2,
        dims=GPTOSS_20B_LAYER,
        name="gpt-oss-20b-layer-shaped",
    )
    yield model
    model.unlink()


@pytest.mark.slow
def test_20b_shaped_restore_equals_a_full_reread(wide_model: Path) -> None:
    first = first_turn(wide_model, QUESTION)
    with kvfiles.StateFile(kvfiles.path_for(KEY)) as sf:
        assert sf.n_tokens == first.stats.prompt_tokens > 2 * 128
        # One full-attention layer keeps every token (2 KiB of f16 K and V each); the
        # sliding-window layer only its window.
        assert sf.state_len < sf.n_tokens * 2048 + 128 * 2048 + sf.n_tokens * 64

    history = follow_up(QUESTION)
    with host(wide_model) as client:
        greedy = ask(client, history, sampling=GREEDY)
        sampled = ask(client, history, sampling=SAMPLED)
    with host(wide_model) as client:
        greedy_full = ask(client, history, key=None, sampling=GREEDY)
        sampled_full = ask(client, history, key=None, sampling=SAMPLED)

    assert greedy.stats.restored_tokens == first.stats.prompt_tokens
    assert greedy_full.stats.cached_tokens == 0
    assert greedy.events and greedy.events == greedy_full.events
    assert sampled.events and sampled.events == sampled_full.events
