"""The KV state cache on disk: one file per chat, its format, the budget, listing and clearing.

No llama.cpp here (the CLI and the Settings page use it); ``app.engine.kvstate`` makes and
restores the states. The cache is never a source of truth: a file that is not exactly what the
reader expects is reported as ``InvalidState`` and removed, and the chat is read again.

A file (``<cache>/kv/<key>.kvstate``) is::

    b"HEARTHKV" | u32 header length | u32 CRC-32 of the header | header (JSON)
    | tokens (int32, little-endian) | llama.cpp's sequence state

The header names the chat (``key``), the model file and the load options the state depends on
(``identity``), the token count with a SHA-256 of the tokens, and the state's length and CRC-32.
Files are written whole to a temporary name and renamed (``app.fsutil.atomic_write``), and every
length and checksum is checked before llama.cpp sees a byte: a crash while saving, a truncated
or corrupt file, or one from another model or other options is never loaded.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import struct
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app import paths
from app.fsutil import Chunk, atomic_write

MAGIC = b"HEARTHKV"
VERSION = 1
SUFFIX = ".kvstate"
_HEAD = struct.Struct("<8sII")  # magic, header length, header CRC-32
_MAX_HEADER = 1 << 20
DEFAULT_CAP = 2_000_000_000  # the automatic budget: at most 2 GB ...
DEFAULT_SHARE = 0.05  # ... and at most 5 % of the disk's free space
_STALE_TMP_S = 3600  # a temporary file this old was left by a crash mid-save
_CRC_BLOCK = 16 * 1024 * 1024


class InvalidState(Exception):
    """The file cannot be used (the message says why); the caller removes it."""


def folder() -> Path:
    path = paths.cache_dir() / "kv"
    path.mkdir(parents=True, exist_ok=True)
    return path


def path_for(key: str, base: Path | None = None) -> Path:
    """The chat's file: its key when that is a plain name, else a hash of it."""
    name = key if re.fullmatch(r"[A-Za-z0-9_-]{1,64}", key) else _sha(key.encode())[:32]
    return (base or folder()) / f"{name}{SUFFIX}"


def _sha(data: bytes | memoryview) -> str:
    return hashlib.sha256(data).hexdigest()


def _crc(data: memoryview) -> int:
    crc = 0
    for i in range(0, len(data), _CRC_BLOCK):
        crc = zlib.crc32(data[i : i + _CRC_BLOCK], crc)
    return crc


def token_bytes(tokens: list[int]) -> bytes:
    # int32 little-endian whatever the machine (a cache folder may be copied elsewhere)
    return struct.pack(f"<{len(tokens)}i", *tokens)


def write_state(
    path: Path, key: str, identity: dict[str, Any], tokens: list[int], state: Chunk
) -> int:
    """Write one state file atomically; returns its size. Raises OSError."""
    view = memoryview(state).cast("B")
    toks = token_bytes(tokens)
    header = json.dumps(
        {
            "version": VERSION,
            "key": key,
            "identity": identity,
            "n_tokens": len(tokens),
            "tokens_sha256": _sha(toks),
            "state_len": len(view),
            "state_crc32": _crc(view),
            "created": time.time(),
        },
        sort_keys=True,
    ).encode("utf-8")
    head = _HEAD.pack(MAGIC, len(header), zlib.crc32(header))
    atomic_write(path, [head, header, toks, view])
    return len(head) + len(header) + len(toks) + len(view)


class StateFile:
    """An open state file whose header has been checked; tokens and state are read on demand,
    each checked against the header."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._f = open(path, "rb")  # noqa: SIM115 (closed by close/__exit__)
        try:
            self.header = self._read_header()
        except BaseException:
            self._f.close()
            raise

    def _read_header(self) -> dict[str, Any]:
        size = os.fstat(self._f.fileno()).st_size
        head = self._f.read(_HEAD.size)
        if len(head) < _HEAD.size:
            raise InvalidState("the file is truncated")
        magic, n, crc = _HEAD.unpack(head)
        if magic != MAGIC:
            raise InvalidState("not a Hearth KV state file")
        if n > _MAX_HEADER:
            raise InvalidState("the header is corrupt")
        raw = self._f.read(n)
        if len(raw) != n or zlib.crc32(raw) != crc:
            raise InvalidState("the header is corrupt or truncated")
        try:
            header = json.loads(raw.decode("utf-8"))
        except ValueError:
            raise InvalidState("the header is corrupt") from None
        if not isinstance(header, dict) or header.get("version") != VERSION:
            raise InvalidState("the file is from another version of Hearth")
        try:
            self.n_tokens = int(header["n_tokens"])
            self.state_len = int(header["state_len"])
        except (KeyError, TypeError, ValueError):
            raise InvalidState("the header is incomplete") from None
        self._tokens_at = _HEAD.size + n
        self._state_at = self._tokens_at + 4 * self.n_tokens
        if self.n_tokens < 0 or self.state_len < 0 or self._state_at + self.state_len != size:
            raise InvalidState(
                f"the file is {size:,} bytes; its header says {self._state_at + self.state_len:,}"
            )
        return header

    @property
    def key(self) -> str:
        return str(self.header.get("key", ""))

    @property
    def identity(self) -> Any:
        return self.header.get("identity")

    def tokens(self) -> list[int]:
        self._f.seek(self._tokens_at)
        raw = self._f.read(4 * self.n_tokens)
        if len(raw) != 4 * self.n_tokens or _sha(raw) != self.header.get("tokens_sha256"):
            raise InvalidState("the tokens do not match their checksum")
        return list(struct.unpack(f"<{self.n_tokens}i", raw))

    def state(self) -> bytearray:
        """llama.cpp's state, checked against its length and CRC-32 (a bytearray, so ctypes
        can hand it to llama.cpp without a copy)."""
        buf = bytearray(self.state_len)
        self._f.seek(self._state_at)
        got = self._f.readinto(buf)
        if got != self.state_len:
            raise InvalidState("the file is truncated")
        if _crc(memoryview(buf)) != self.header.get("state_crc32"):
            raise InvalidState("the state does not match its checksum (the file is corrupt)")
        return buf

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> StateFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def touch(path: Path) -> None:
    """Mark a file as just used (the budget removes the least recently used first)."""
    with contextlib.suppress(OSError):
        os.utime(path)


@dataclass
class Entry:
    path: Path
    key: str
    size: int
    last_used: float  # the file's mtime: written or restored
    n_tokens: int = 0
    model: str = ""  # the model file's name
    valid: bool = True


def entries(base: Path | None = None) -> list[Entry]:
    """Every state file, most recently used first (a file that cannot be read is listed as not
    valid, with its size, so the budget and ``clear`` count it)."""
    out: list[Entry] = []
    for p in (base or folder()).glob(f"*{SUFFIX}"):
        try:
            st = p.stat()
        except OSError:
            continue
        entry = Entry(p, p.stem, st.st_size, st.st_mtime, valid=False)
        try:
            with StateFile(p) as sf:
                ident = sf.identity if isinstance(sf.identity, dict) else {}
                model = ident.get("model")
                path = model.get("path", "") if isinstance(model, dict) else ""
                entry.key, entry.n_tokens = sf.key, sf.n_tokens
                entry.model = Path(str(path)).name
                entry.valid = True
        except (OSError, InvalidState):
            pass
        out.append(entry)
    out.sort(key=lambda e: e.last_used, reverse=True)
    return out


def _temp_files(base: Path) -> list[Path]:
    return list(base.glob(f".*{SUFFIX}.*.tmp"))


def total_size(base: Path | None = None) -> int:
    return sum(e.size for e in entries(base))


def clear(base: Path | None = None) -> tuple[int, int]:
    """Remove every state file (and leftovers of interrupted saves); returns (files, bytes)."""
    base = base or folder()
    n = size = 0
    for e in entries(base):
        remove(e.path)
        n, size = n + 1, size + e.size
    for tmp in _temp_files(base):
        with contextlib.suppress(OSError):
            if time.time() - tmp.stat().st_mtime > 60:
                tmp.unlink()
    return n, size


def enforce_budget(
    budget: int | None = None, *, keep: Path | None = None, base: Path | None = None
) -> list[Path]:
    """Remove the least recently used files until the cache fits ``budget`` bytes (default: the
    setting). ``keep`` (the file just written) goes last, and only if it alone is too big.
    Returns the removed files."""
    base = base or folder()
    budget = budget_bytes(base) if budget is None else budget
    now = time.time()
    for tmp in _temp_files(base):
        with contextlib.suppress(OSError):
            if now - tmp.stat().st_mtime > _STALE_TMP_S:
                tmp.unlink()
    items = entries(base)
    total = sum(e.size for e in items)
    order = sorted(items, key=lambda e: (e.path == keep, e.last_used))
    removed: list[Path] = []
    for e in order:
        if total <= budget:
            break
        remove(e.path)
        total -= e.size
        removed.append(e.path)
    return removed


# -- the budget setting -------------------------------------------------------------------------


def settings_path() -> Path:
    return paths.config_dir() / "kv-cache.json"


def budget_setting() -> int | None:
    """The budget the user chose, in bytes; None: automatic."""
    try:
        data = json.loads(settings_path().read_text(encoding="utf-8"))
        value = data.get("budget_bytes") if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return value if ok else None


def set_budget(value: int | None) -> None:
    """Set the budget in bytes (None: automatic; 0: keep nothing)."""
    atomic_write(settings_path(), json.dumps({"budget_bytes": value}, indent=2))


def default_budget(base: Path | None = None) -> int:
    """min(2 GB, 5 % of the free space), the cache's own files counted as free (the budget must
    not shrink because the cache itself used the space)."""
    base = base or folder()
    try:
        free = shutil.disk_usage(base).free
    except OSError:
        return 0
    return int(min(DEFAULT_CAP, DEFAULT_SHARE * (free + total_size(base))))


def budget_bytes(base: Path | None = None) -> int:
    chosen = budget_setting()
    return default_budget(base) if chosen is None else chosen


def human(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n:,.1f} GB"  # pragma: no cover


__all__ = [
    "Entry",
    "InvalidState",
    "StateFile",
    "budget_bytes",
    "clear",
    "default_budget",
    "enforce_budget",
    "entries",
    "folder",
    "path_for",
    "set_budget",
    "write_state",
]
