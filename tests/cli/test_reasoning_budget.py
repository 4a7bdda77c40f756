"""``hearth chat --reasoning-budget N``: after about N tokens of thinking the model answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from app.store import Store


def test_the_budget_ends_the_thinking_and_is_saved_with_the_chat(
    tiny_model: Path, tmp_path: Path
) -> None:
    scripts = tmp_path / "scripts.json"
    scripts.write_text(json.dumps([["<|channel|>analysis<|message|>", 3000]]), encoding="utf-8")
    res = subprocess.run(
        [sys.executable, "-m", "app", "chat", "--model", str(tiny_model), "--jsonl",
         "--max-tokens", "4000", "--threads", "1", "--reasoning-budget", "50",
         "Think, then answer."],
        capture_output=True, text=True, timeout=180,
        env={**os.environ, "HEARTH_TEST_SCRIPT_FILE": str(scripts)},
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    events = [json.loads(line) for line in res.stdout.splitlines()]
    kinds = [e["type"] for e in events if e["type"] in ("reasoning", "content")]
    first = kinds.index("content")
    assert kinds[0] == "reasoning" and set(kinds[first:]) == {"content"}
    thought = "".join(e["text"] for e in events if e["type"] == "reasoning")
    assert len(thought) < 1500  # 3,000 tokens of thinking unbudgeted
    with Store.open() as s:
        (conv,) = s.list_conversations()
        assert conv.settings["reasoning_budget"] == 50


def test_a_budget_below_one_is_refused() -> None:
    res = subprocess.run(
        [sys.executable, "-m", "app", "chat", "--model", "x.gguf", "--reasoning-budget", "0",
         "hi"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert res.returncode == 2
    assert "--reasoning-budget must be at least 1" in res.stderr
