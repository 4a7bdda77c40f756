"""``hearth chat --continue`` after the first ``hearth chat`` has exited: the conversation's
state comes back from disk (only the new message is read); ``hearth cache`` lists, budgets and
clears the saved states."""

from __future__ import annotations

import json
from pathlib import Path

from app.cli import main
from tests.engine.test_cli import hearth
from tests.helpers.kvchat import LONG


def _done(stdout: str) -> dict[str, object]:
    done = json.loads(stdout.splitlines()[-1])
    assert done["type"] == "done"
    return dict(done["stats"])


def test_continue_after_exit_restores_the_chat(tiny_model: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    common = ("--model", str(tiny_model), "--jsonl", "--seed", "1", "--max-tokens", "30")
    first = hearth("chat", *common, "River story: " + LONG)
    assert first.returncode == 0, first.stderr
    first_stats = _done(first.stdout)

    assert main(["cache", "list"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("1 saved state, ")
    assert "River story: The river runs" in out  # the chat's title, from the store
    assert f"{first_stats['prompt_tokens']:,} tokens" in out

    again = hearth("chat", *common, "--continue", "And then?")
    assert again.returncode == 0, again.stderr
    stats = _done(again.stdout)
    # Everything the first exchange left in the history before its reply came from disk.
    assert stats["restored_tokens"] == stats["cached_tokens"] == first_stats["prompt_tokens"]

    assert main(["cache", "list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    (entry,) = listing["entries"]
    assert entry["tokens"] >= int(first_stats["prompt_tokens"])
    assert entry["valid"] and entry["model"] == tiny_model.name

    assert main(["cache", "budget", "0.001"]) == 0  # 1,000 bytes: smaller than the state
    assert "budget 1.0 KB (set)" in capsys.readouterr().out
    assert main(["cache", "list"]) == 0
    assert capsys.readouterr().out.startswith("0 saved states")

    assert main(["cache", "budget", "auto"]) == 0
    assert "(automatic" in capsys.readouterr().out
    assert main(["cache", "budget", "lots"]) == 2
    assert "is not a size" in capsys.readouterr().err


def test_clear(tiny_model: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    r = hearth("chat", "--model", str(tiny_model), "--max-tokens", "5", LONG)
    assert r.returncode == 0, r.stderr
    assert main(["cache", "clear"]) == 0
    assert capsys.readouterr().out.startswith("Removed 1 saved state (")
    assert main(["cache", "list"]) == 0
    assert capsys.readouterr().out.startswith("0 saved states")
