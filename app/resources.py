"""Find Hearth's bundled resources (icons, .desktop file, notices, licences).

``resources/`` is a top-level folder of the repository. It is reached in three layouts:

- a source checkout or editable install: next to the ``app`` package;
- a PyInstaller bundle: under ``sys._MEIPASS`` (the bundle's ``_internal`` folder);
- a wheel install: under ``<prefix>/share/hearth/resources`` (pyproject ``data-files``).

No Qt here: the CLI and the packaging scripts use it too.
"""

from __future__ import annotations

import sys
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def _candidates() -> list[Path]:
    found: list[Path] = []
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        found.append(Path(bundle) / "resources")
    found.append(_PACKAGE_DIR.parent / "resources")
    found.append(Path(sys.prefix) / "share" / "hearth" / "resources")
    return found


def resources_dir() -> Path:
    """The folder holding Hearth's resources; FileNotFoundError names where it looked."""
    candidates = _candidates()
    for folder in candidates:
        if (folder / "icons").is_dir():
            return folder
    looked = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(
        f"Hearth's resources folder is missing (looked in {looked}). "
        "Reinstall Hearth, or run it from a complete source checkout."
    )


def resource_path(*parts: str) -> Path:
    """Path of one resource, e.g. ``resource_path("icons", "hearth.svg")``; it must exist."""
    path = resources_dir().joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(
            f"Hearth's resource {'/'.join(parts)} is missing from {path.parent}. "
            "Reinstall Hearth to restore it."
        )
    return path
