"""The model used last, by the window or by ``hearth chat``: what ``hearth chat`` loads when no
``--model`` is given. One line in ``config/last_model.txt`` (the window also keeps its full load
options in ``config/ui.json``, read here for chats from before this file existed)."""

from __future__ import annotations

import json
from pathlib import Path

from app import paths
from app.fsutil import atomic_write


def _file() -> Path:
    return paths.config_dir() / "last_model.txt"


def remember_model(path: str | Path) -> None:
    """Note the model just loaded (a failure to write is not worth a failed load)."""
    try:
        atomic_write(_file(), str(Path(path).expanduser().resolve()) + "\n")
    except OSError:
        pass


def last_model() -> Path | None:
    """The model used last, if its file is still there."""
    candidates: list[str] = []
    try:
        candidates.append(_file().read_text(encoding="utf-8").strip())
    except OSError:
        pass
    try:
        ui = json.loads((paths.config_dir() / "ui.json").read_text(encoding="utf-8"))
        last = ui.get("last_model") if isinstance(ui, dict) else None
        if isinstance(last, dict) and isinstance(last.get("model_path"), str):
            candidates.append(last["model_path"])
    except (OSError, ValueError):
        pass
    for c in candidates:
        if c and Path(c).is_file():
            return Path(c)
    return None
