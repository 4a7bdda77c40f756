"""P3: reopen a 4,000-token chat after a restart, with the chat's KV state on disk.

Through the real engine host (app/engine/kvstate.py), the app's default thread count. A chat
whose first message is ~4,000 tokens gets a reply (scripted: thinking, then an answer); the host
saves the state the next prompt shares and exits. Then, alternating, each in a fresh host (a
restart: nothing in memory): the follow-up question with the chat's key (the state is restored,
only the new tokens are read) and the same question without it (the whole chat is read again).
The first turn's own read of the chat counts as one more full read. Figure: first token after a
restart, restored / full re-read (the stats' ttft_s: request received -> first token, restore
included). Target <= 0.25. Also reported: the state file's size per 1,000 tokens and the time to
restore it (in this process, through the same code, after the page cache has seen the file).

Models: the tiny test model, and a model with gpt-oss-20b's layer shapes (2 layers: one
sliding-window and one full-attention layer, ~1 GB; tests/helpers/tinymodel.py), plus --model.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from bench.core import Context, Result, median, spread

BENCH = "kvstate"
KEY = "chat-p3"
# ~4,000 tokens with the byte-level test vocabulary (about one token per character).
CHAT = "The river runs past the old stone mill, and on to the sea. " * 64
REPLY = (
    "<|channel|>analysis<|message|>They want the story to go on.<|end|>"
    "<|start|>assistant<|channel|>final<|message|>Then the river met the sea.<|return|>"
)


def _messages(follow_up: bool) -> list[Any]:
    from app.harmony import Message

    first = [Message("user", CHAT)]
    if not follow_up:
        return first
    return [
        *first,
        Message("assistant", "They want the story to go on.", channel="analysis"),
        Message("assistant", "Then the river met the sea.", channel="final"),
        Message("user", "And what happened at the sea?"),
    ]


def _options(model: Path) -> Any:
    from app.cpu import generation_threads
    from app.engine.options import LoadOptions

    return LoadOptions(model_path=str(model), n_ctx=8192, n_threads=generation_threads())


def _turn(home: Path, model: Path, follow_up: bool, key: str | None) -> Any:
    """One reply in a fresh engine host under ``home``; its stats."""
    from app.engine.client import EngineClient, GenerateRequest
    from app.engine.events import DoneEvent
    from app.engine.options import SamplingOptions

    client = EngineClient(env={**os.environ, "HEARTH_HOME": str(home)})
    client.start()
    try:
        client.load(_options(model))
        request = GenerateRequest(
            _messages(follow_up),
            sampling=SamplingOptions(max_tokens=400 if not follow_up else 1, seed=1),
            script=None if follow_up else REPLY,
            kv_key=key,
        )
        events = list(client.stream(request))
    finally:
        client.close(timeout=120)
    done = events[-1]
    if not isinstance(done, DoneEvent):
        raise RuntimeError(f"the reply failed: {done}")
    return done.stats


def _load_time(model: Path, path: Path, prompt_messages: list[Any]) -> float:
    """Restore the state into a fresh context in this process: the load alone."""
    from app.engine.generator import Generator
    from app.engine.kvstate import StateCache
    from app.engine.literal import protect
    from app.harmony import PromptSettings, render_prompt

    gen = Generator(_options(model))
    try:
        prompt = gen.tokenize_prompt(render_prompt(*protect(prompt_messages, PromptSettings())))
        cache = StateCache()
        t0 = time.perf_counter()
        n = cache.prepare(gen, KEY, prompt)
        took = time.perf_counter() - t0
        if not n:
            raise RuntimeError(f"the state {path} was not restored")
        return took
    finally:
        gen.close()


def measure(ctx: Context, model: Path, label: str, repeats: int) -> list[Result]:
    home = ctx.work / f"kv-{label}"
    state = home / "cache" / "kv" / f"{KEY}.kvstate"
    first = _turn(home, model, follow_up=False, key=KEY)
    data = state.read_bytes()
    from app.engine import kvfiles

    with kvfiles.StateFile(state) as sf:
        n_saved = sf.n_tokens
    restored: list[float] = []
    full: list[float] = [first.ttft_s]
    prompt_tokens = 0
    for i in range(repeats):
        for with_state in (True, False) if i % 2 == 0 else (False, True):
            state.write_bytes(data)  # each restore starts from the first turn's state
            s = _turn(home, model, follow_up=True, key=KEY if with_state else None)
            prompt_tokens = s.prompt_tokens
            if with_state:
                if s.restored_tokens != n_saved:
                    raise RuntimeError(f"restored {s.restored_tokens} of {n_saved} tokens")
                restored.append(s.ttft_s)
            else:
                full.append(s.ttft_s)
    state.write_bytes(data)
    os.environ["HEARTH_HOME"], old = str(home), os.environ.get("HEARTH_HOME", "")
    try:
        load_s = [_load_time(model, state, _messages(True)) for _ in range(max(1, repeats))]
    finally:
        os.environ["HEARTH_HOME"] = old
    ratios = [r / median(full) for r in restored]
    per_1k = len(data) / n_saved * 1000
    detail = {
        "model": label,
        "chat_tokens": first.prompt_tokens,
        "follow_up_prompt_tokens": prompt_tokens,
        "saved_tokens": n_saved,
        "state_bytes": len(data),
        "ttft_restored_s": [round(x, 4) for x in restored],
        "ttft_full_read_s": [round(x, 4) for x in full],
        "load_s": [round(x, 4) for x in load_s],
        "threads": _options(model).n_threads,
    }
    return [
        Result(
            BENCH,
            f"P3 {label}: first token after a restart, restored / full re-read",
            median(restored) / median(full),
            "",
            "<= 0.25",
            detail,
            spread(ratios),
        ),
        Result(
            BENCH, f"{label}: first token, restored", median(restored), "s", spread=spread(restored)
        ),
        Result(
            BENCH, f"{label}: first token, full re-read", median(full), "s", spread=spread(full)
        ),
        Result(BENCH, f"{label}: state size per 1,000 tokens", per_1k / 1e6, "MB"),
        Result(
            BENCH,
            f"{label}: state load ({n_saved:,} tokens, {len(data) / 1e6:.1f} MB)",
            median(load_s) * 1000,
            "ms",
            spread=(min(load_s) * 1000, max(load_s) * 1000),
        ),
    ]


def run(ctx: Context) -> list[Result]:
    from tests.helpers.tinymodel import GPTOSS_20B_LAYER, write_tiny_gptoss

    results = measure(ctx, ctx.tiny_model, "tiny", 1 if ctx.quick else 3)
    if not ctx.quick:
        wide = write_tiny_gptoss(
            ctx.work / "gpt-oss-20b-2-layers.gguf",
            n_layer=2,
            dims=GPTOSS_20B_LAYER,
            name="gpt-oss-20b-layer-shaped",
        )
        try:
            results += measure(ctx, wide, "20b-shaped 2 layers", 1)
        finally:
            wide.unlink()
    if ctx.model is not None:
        results += measure(ctx, ctx.model, ctx.model.stem, 1)
    return results
