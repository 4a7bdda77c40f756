"""The window's preferences (theme, geometry, last chat, last model, new chats' defaults) in
``config_dir()/ui.json``.

Written atomically (temp file + rename) so a crash mid-write never leaves a broken file; a broken
or unreadable file is ignored (defaults), never a reason not to start.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from app import paths
from app.fsutil import atomic_write


def prefs_path() -> Path:
    return paths.config_dir() / "ui.json"


@dataclass
class UiPrefs:
    theme: str = "system"  # system / light / dark
    geometry: str = ""  # QMainWindow.saveGeometry(), base64
    splitter: str = ""
    last_conversation: int | None = None
    last_model: dict[str, Any] | None = None  # LoadOptions.to_dict() of the last good load
    settings_open: bool = False
    # What a new chat starts with (Settings → General): "effort", "reasoning_budget",
    # "instructions", "sampling" as a chat stores them; missing keys are gpt-oss's defaults.
    defaults: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def new_chat_settings(self) -> dict[str, Any]:
        """A new chat's settings: the defaults chosen for all chats (a copy: the chat keeps
        them when the defaults change later)."""
        keys = ("effort", "reasoning_budget", "instructions", "sampling")
        out = {k: self.defaults[k] for k in keys if self.defaults.get(k) not in (None, "", {})}
        if isinstance(out.get("sampling"), dict):
            out["sampling"] = dict(out["sampling"])
        return out

    @classmethod
    def load(cls, path: Path | None = None) -> UiPrefs:
        path = path or prefs_path()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        if not isinstance(data, dict):
            return cls()
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        if not isinstance(known.get("defaults", {}), dict):
            known.pop("defaults")  # a hand-edited file: the defaults are gpt-oss's
        try:
            return cls(**known)
        except TypeError:
            return cls()

    def save(self, path: Path | None = None) -> None:
        path = path or prefs_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps(asdict(self), indent=2))
