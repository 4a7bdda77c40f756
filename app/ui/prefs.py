"""The window's preferences (theme, geometry, last chat, last model) in ``config_dir()/ui.json``.

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
    extra: dict[str, Any] = field(default_factory=dict)

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
        try:
            return cls(**known)
        except TypeError:
            return cls()

    def save(self, path: Path | None = None) -> None:
        path = path or prefs_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps(asdict(self), indent=2))
