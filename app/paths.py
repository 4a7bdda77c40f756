"""Where Hearth keeps its files.

platformdirs gives the usual per-OS locations. ``HEARTH_HOME`` puts everything (data, config,
cache, models) under one folder: for tests, portable installs and people who want one place.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "hearth"


def _home() -> Path | None:
    value = os.environ.get("HEARTH_HOME")
    return Path(value).expanduser() if value else None


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir() -> Path:
    home = _home()
    return _ensure(
        home / "data" if home else Path(platformdirs.user_data_dir(APP, appauthor=False))
    )


def config_dir() -> Path:
    home = _home()
    return _ensure(
        home / "config" if home else Path(platformdirs.user_config_dir(APP, appauthor=False))
    )


def cache_dir() -> Path:
    home = _home()
    return _ensure(
        home / "cache" if home else Path(platformdirs.user_cache_dir(APP, appauthor=False))
    )


def log_dir() -> Path:
    home = _home()
    return _ensure(home / "logs" if home else Path(platformdirs.user_log_dir(APP, appauthor=False)))


def models_dir() -> Path:
    """Hearth's own model folder (downloads that do not go to the Hugging Face cache)."""
    return _ensure(data_dir() / "models")


def database_path() -> Path:
    return data_dir() / "hearth.sqlite3"


def settings_path() -> Path:
    return config_dir() / "settings.json"
