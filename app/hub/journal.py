"""A small file that remembers unfinished downloads, so they come back (paused) after a restart
and a cancel can find their partial files without asking the Hub.

It is a convenience: the partial files themselves are what matters, so a journal that cannot be
read or written is treated as empty and never stops a download.
"""

from __future__ import annotations

import contextlib
import json
import threading
from pathlib import Path
from typing import Any

from app.fsutil import atomic_write


class DownloadJournal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def entries(self) -> list[dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return [e for e in data.get("downloads", []) if isinstance(e, dict)]
        except (OSError, ValueError, AttributeError):
            return []

    def requests(self) -> list[dict[str, Any]]:
        """The requests of the unfinished downloads, as saved (``DownloadRequest.to_dict``)."""
        out = []
        for e in self.entries():
            with contextlib.suppress(KeyError, TypeError):
                if isinstance(e["request"], dict):
                    out.append(e["request"])
        return out

    def parts(self, key: str) -> list[Path]:
        """The partial files of a download (no network)."""
        for entry in self.entries():
            if entry.get("key") == key:
                return [Path(p) for p in entry.get("parts", [])]
        return []

    def add(self, key: str, request: dict[str, Any], parts: list[Path], total: int) -> None:
        with self._lock:
            entries = [e for e in self.entries() if e.get("key") != key]
            entries.append(
                {
                    "key": key,
                    "request": request,
                    "parts": [str(p) for p in parts],
                    "total": total,
                }
            )
            self._write(entries)

    def forget(self, key: str) -> None:
        with self._lock:
            entries = self.entries()
            kept = [e for e in entries if e.get("key") != key]
            if len(kept) != len(entries):
                self._write(kept)

    def _write(self, entries: list[dict[str, Any]]) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path, json.dumps({"downloads": entries}, indent=1))
        except OSError:
            pass  # the journal is a convenience; the partial files are what matters
