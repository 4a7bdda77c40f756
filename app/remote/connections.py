"""Remote connections: OpenAI-compatible servers Hearth can chat through, beside local models.

A connection is a name, a base URL (``http://gpu-box:8000/v1``), a model name, optionally an API
key (kept by ``app.remote.keys``, never in this file), a CA bundle for a server whose certificate
is signed by the user's own CA (TLS is always verified), how long a server may stay silent, extra
request fields, and what Hearth learned about the server (where it puts the reasoning).

They live in ``remotes.json`` in Hearth's config folder; a chat that uses one stores its name in
its settings (``settings["remote"]``).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from app import paths
from app.fsutil import atomic_write
from app.remote import keys

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
DEFAULT_STALL_S = 120.0
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class RemoteError(Exception):
    """A connection that cannot be added, found or used; the text says what to do."""


@dataclass
class Connection:
    name: str
    base_url: str
    model: str = ""
    ca_bundle: str = ""  # PEM file with the CA that signed the server's certificate
    stall_timeout: float = DEFAULT_STALL_S  # no bytes for this long: the server stalled
    connect_timeout: float = 10.0
    extra_body: dict[str, Any] = field(default_factory=dict)  # merged into every request
    reasoning_format: str = ""  # learned: reasoning_content | reasoning | harmony | plain
    key_storage: str = ""  # where its API key is: keyring | file | "" (none)

    @property
    def has_key(self) -> bool:
        return bool(self.key_storage)

    @property
    def label(self) -> str:
        """How the window and the CLI name it: "gpt-oss-120b on gpu-box"."""
        host = urlsplit(self.base_url).hostname or self.base_url
        return f"{self.model or 'default model'} on {self.name}" + (
            "" if self.name == host else f" ({host})"
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Connection:
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        conn = cls(**known)
        if not isinstance(conn.extra_body, dict):
            conn.extra_body = {}
        return conn


def check_name(name: str) -> str:
    if not _NAME.match(name or ""):
        raise RemoteError(
            f"'{name}' cannot name a connection: use letters, digits, '.', '_' or '-' "
            "(up to 64, starting with a letter or digit)."
        )
    return name


def normalise_url(url: str) -> str:
    """``gpu-box:8000`` or ``http://gpu-box:8000`` -> ``http://gpu-box:8000/v1``; a URL that
    has a path keeps it (a proxy may serve the API anywhere)."""
    text = (url or "").strip()
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RemoteError(
            f"'{url}' is not a server address. Give it as http://HOST:PORT/v1 (or https://…)."
        )
    path = parts.path.rstrip("/") or "/v1"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def clear_text_warning(conn: Connection) -> str | None:
    """A sentence for the user when an API key would travel unencrypted to another machine."""
    parts = urlsplit(conn.base_url)
    if parts.scheme == "http" and conn.has_key and parts.hostname not in LOOPBACK:
        return (
            f"'{conn.name}' sends its API key unencrypted over http to {parts.hostname}. "
            "Use https, or an SSH tunnel to a server that listens on 127.0.0.1 only."
        )
    return None


class Remotes:
    """The saved connections (``remotes.json``) and their keys."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or paths.config_dir() / "remotes.json"

    def _read(self) -> list[Connection]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as e:
            raise RemoteError(
                f"Cannot read {self.path} ({type(e).__name__}: {e}). Fix or remove the file; "
                "the connections in it must then be added again."
            ) from None
        items = data.get("remotes") if isinstance(data, dict) else None
        if not isinstance(items, list):
            return []
        out = []
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                try:
                    out.append(Connection.from_dict(item))
                except TypeError:
                    continue
        return out

    def _write(self, conns: list[Connection]) -> None:
        data = {"version": 1, "remotes": [c.to_dict() for c in conns]}
        atomic_write(self.path, json.dumps(data, indent=1, ensure_ascii=False))

    def connections(self) -> list[Connection]:
        return sorted(self._read(), key=lambda c: c.name.lower())

    def get(self, name: str) -> Connection:
        for conn in self._read():
            if conn.name == name:
                return conn
        known = ", ".join(c.name for c in self.connections())
        raise RemoteError(
            f"There is no server connection named '{name}'. "
            + (f"Known: {known}." if known else "Add one with `hearth remotes add NAME URL`.")
        )

    def save(self, conn: Connection, api_key: str | None = None) -> str | None:
        """Add or replace ``conn``. ``api_key``: a new key to keep ("" removes the key; None
        keeps the one it had). Returns where the key went (``keys.KEYRING`` / ``keys.FILE``)."""
        check_name(conn.name)
        conn.base_url = normalise_url(conn.base_url)
        conns = self._read()
        old = next((c for c in conns if c.name == conn.name), None)
        where: str | None = None
        if api_key:
            where = keys.store_key(conn.name, api_key)
            conn.key_storage = where
        elif api_key == "":
            if old is not None and old.key_storage:
                keys.delete_key(conn.name, old.key_storage)
            conn.key_storage = ""
        elif old is not None:
            conn.key_storage = old.key_storage
        conns = [c for c in conns if c.name != conn.name] + [conn]
        self._write(conns)
        return where

    def remove(self, name: str) -> Connection:
        conn = self.get(name)
        if conn.key_storage:
            keys.delete_key(name, conn.key_storage)
        self._write([c for c in self._read() if c.name != name])
        return conn

    def api_key(self, conn: Connection) -> str | None:
        return keys.load_key(conn.name, conn.key_storage) if conn.key_storage else None

    def remember(self, name: str, **changes: Any) -> None:
        """Record what was learned about a server (its reasoning format, its model)."""
        conns = self._read()
        for conn in conns:
            if conn.name == name:
                if all(getattr(conn, k) == v for k, v in changes.items()):
                    return
                for k, v in changes.items():
                    setattr(conn, k, v)
                self._write(conns)
                return
