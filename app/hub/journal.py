"""A small file that remembers downloads: the unfinished ones, so they come back (paused) after a
restart and a cancel can find their partial files without asking the Hub; and the files that
were downloaded into a folder of the user's, with the repository, name and SHA-256 the Hub gave,
so the catalog can tell its downloads from look-alikes there (the Hugging Face cache needs no
such record: its layout names the repository, and each file's blob is named by its hash).

It is a convenience: the files themselves are what matters, so a journal that cannot be read or
written is treated as empty and never stops a download.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from pathlib import Path
from typing import Any

from app.fsutil import atomic_write


class DownloadJournal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    # -- unfinished downloads ------------------------------------------------------------------
    def entries(self) -> list[dict[str, Any]]:
        return self._section("downloads")

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
        entry = {"key": key, "request": request, "parts": [str(p) for p in parts], "total": total}
        with self._lock:
            data = self._read()
            kept = [e for e in self._list(data, "downloads") if e.get("key") != key]
            data["downloads"] = [*kept, entry]
            self._write(data)

    def forget(self, key: str) -> None:
        with self._lock:
            data = self._read()
            entries = self._list(data, "downloads")
            kept = [e for e in entries if e.get("key") != key]
            if len(kept) != len(entries):
                data["downloads"] = kept
                self._write(data)

    # -- files downloaded into the user's folders ----------------------------------------------
    def remember_file(self, path: Path, repo_id: str, filename: str, sha256: str) -> None:
        """``path`` holds the verified bytes of ``repo_id``'s ``filename`` (as they are now)."""
        try:
            path = path.resolve()
            st = path.stat()
        except OSError:
            return
        record = {
            "path": str(path),
            "repo_id": repo_id,
            "filename": filename,
            "sha256": sha256,
            "size": st.st_size,
            "mtime_ns": st.st_mtime_ns,
        }
        with self._lock:
            data = self._read()
            kept = [r for r in self._list(data, "files") if r.get("path") != str(path)]
            data["files"] = [*kept, record]
            self._write(data)

    def file_origin(self, path: Path) -> dict[str, Any] | None:
        """The record of ``path`` if the file is still the one downloaded (same size and time)."""
        for r in self._section("files"):
            if r.get("path") != str(path):
                continue
            try:
                st = os.stat(path)
            except OSError:
                return None
            if (st.st_size, st.st_mtime_ns) == (r.get("size"), r.get("mtime_ns")):
                return r
            return None
        return None

    # -- the file ------------------------------------------------------------------------------
    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    @staticmethod
    def _list(data: dict[str, Any], name: str) -> list[dict[str, Any]]:
        items = data.get(name)
        return [e for e in items if isinstance(e, dict)] if isinstance(items, list) else []

    def _section(self, name: str) -> list[dict[str, Any]]:
        return self._list(self._read(), name)

    def _write(self, data: dict[str, Any]) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path, json.dumps(data, indent=1))
        except OSError:
            pass  # the journal is a convenience; the files are what matters
