"""Writing a file so that a crash or a full disk never leaves it half-written.

Every file Hearth rewrites in place (preferences, exports, the download journal, the model
library's config, a Hub ref, KV state) goes through ``atomic_write``: the data is written to a
temporary file in the same folder, flushed, and renamed over the target, so the target is either
the old file or the whole new one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

Chunk = bytes | bytearray | memoryview


def atomic_write(
    path: str | os.PathLike[str], data: str | Chunk | Sequence[Chunk], *, fsync: bool = False
) -> Path:
    """Replace ``path`` with ``data`` (text is written as UTF-8; a sequence of buffers is written
    one after the other, so a big file need not be joined in memory). ``fsync=True`` also forces the
    bytes to the disk before the rename, for files whose loss after a power cut matters more
    than the few milliseconds it costs. Raises OSError; the target is then untouched and no
    temporary file is left behind."""
    target = Path(path)
    folder = target.resolve().parent
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            if isinstance(data, str):
                f.write(data.encode("utf-8"))
            elif isinstance(data, bytes | bytearray | memoryview):
                f.write(data)
            else:
                for part in data:
                    f.write(part)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target
