"""Attachments kept with their message: copied into Hearth's data folder, content-addressed.

A file is stored once per content, as ``attachments/<sha[:2]>/<sha>/<its name>`` (the name is
kept so "open" hands the system viewer a file it recognises), with its extracted text beside it
(``.text``, so a later turn or a re-open never re-reads a PDF). The message carries an
``AttachmentRef``: a small JSON-able record (``to_dict``/``from_dict``) of what was attached.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from app import paths
from app.fsutil import atomic_write

_CHUNK = 1 << 20
TEXT_NAME = ".text"


def attachments_root() -> Path:
    root = paths.data_dir() / "attachments"
    root.mkdir(parents=True, exist_ok=True)
    return root


@dataclass
class AttachmentRef:
    """One attached file, as stored on its message."""

    name: str  # the file's name when attached ("report.pdf")
    sha256: str  # of the file's bytes: where it is stored, and its id in the library index
    size: int  # bytes
    kind: str  # "text", "pdf" or "docx"
    tokens: int = 0  # estimated tokens of its text (app.attachments.tokens)
    pages: int = 0  # PDF pages
    encoding: str = ""  # the text encoding found
    inline: bool = True  # its text is in the message; False: reached through the browser tool
    stored: str = ""  # path under the data folder ("attachments/ab/abcd…/report.pdf")

    @property
    def path(self) -> Path:
        """The stored copy (what "open" shows)."""
        return paths.data_dir() / self.stored

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AttachmentRef:
        def num(key: str) -> int:
            try:
                return int(d.get(key) or 0)
            except (TypeError, ValueError):
                return 0

        return cls(
            name=str(d.get("name", "")),
            sha256=str(d.get("sha256", "")),
            size=num("size"),
            kind=str(d.get("kind", "")),
            tokens=num("tokens"),
            pages=num("pages"),
            encoding=str(d.get("encoding", "")),
            inline=bool(d.get("inline", True)),
            stored=str(d.get("stored", "")),
        )


def store_file(src: str | os.PathLike[str]) -> tuple[str, Path]:
    """Copy ``src`` into the attachments folder; returns (sha256, stored path). The copy is
    hashed as it is written and renamed into place, so a stored file is always whole; the same
    content attached again (under the same name) is not copied twice."""
    src = Path(src)
    root = attachments_root()
    fd, tmp = tempfile.mkstemp(prefix=".incoming-", dir=root)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out, open(src, "rb") as f:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
        sha = digest.hexdigest()
        folder = root / sha[:2] / sha
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / _safe_name(src.name)
        if target.exists():
            os.unlink(tmp)
        else:
            os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return sha, target


def _safe_name(name: str) -> str:
    name = name.replace("/", "_").replace("\\", "_").strip(". ") or "attachment"
    return name[:200]


def save_text(sha: str, text: str) -> None:
    """Keep the extracted text beside the stored file."""
    folder = attachments_root() / sha[:2] / sha
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / TEXT_NAME, text)


def load_text(ref: AttachmentRef) -> str | None:
    """The text extracted when the file was attached; None if it is gone (then re-extract from
    ``ref.path`` with app.attachments.extract_text)."""
    try:
        return (attachments_root() / ref.sha256[:2] / ref.sha256 / TEXT_NAME).read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def remove_unreferenced(keep: set[str], min_age_s: float = 0.0) -> int:
    """Delete stored attachments whose sha256 is not in ``keep`` (after chats are deleted for
    good), leaving those stored less than ``min_age_s`` ago (a file attached in a window but not
    sent yet is in no message); returns how many were removed."""
    removed = 0
    root = attachments_root()
    cutoff = time.time() - min_age_s
    for prefix in root.iterdir():
        if not prefix.is_dir():
            continue
        for folder in prefix.iterdir():
            if folder.name not in keep and _stored_at(folder) <= cutoff:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
    return removed


def _stored_at(folder: Path) -> float:
    try:
        return max([folder.stat().st_mtime] + [p.stat().st_mtime for p in folder.iterdir()])
    except OSError:
        return 0.0
