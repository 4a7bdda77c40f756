"""``hearth chat`` without ``--model`` (issue 16): the model used last (by the window or by
``hearth chat``), else the only one installed, and it says which; with several and none used
last it names them and asks (real engine, scripted replies)."""

from __future__ import annotations

import shutil
from pathlib import Path

from app import paths
from tests.cli.test_chat_tools import hearth

ANSWER = "<|channel|>final<|message|>Hi.<|return|>"


def test_the_only_model_installed_then_the_last_one_used(tiny_model: Path, tmp_path: Path) -> None:
    none = hearth("chat", "--no-save", "Hello")
    assert none.returncode == 2
    assert "none installed" in none.stderr and "hearth models download" in none.stderr
    only = paths.models_dir() / "only.gguf"
    shutil.copy(tiny_model, only)
    res = hearth("chat", "--threads", "1", "--no-save", "Hello", scripts=[ANSWER], tmp=tmp_path)
    assert res.returncode == 0, res.stderr
    assert f"using {only} (the only model installed" in res.stderr
    assert res.stdout.strip() == "Hi."
    # A second model: no single one installed any more, but the last one used is known.
    shutil.copy(tiny_model, paths.models_dir() / "other.gguf")
    res = hearth("chat", "--threads", "1", "--no-save", "Hello", scripts=[ANSWER], tmp=tmp_path)
    assert res.returncode == 0, res.stderr
    assert f"using {only} (the model used last" in res.stderr
    (paths.config_dir() / "last_model.txt").unlink()
    res = hearth("chat", "--no-save", "Hello")
    assert res.returncode == 2 and "2 are installed" in res.stderr and "--model PATH" in res.stderr
