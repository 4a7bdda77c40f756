"""API keys of remote connections: in the OS keyring, or a file only the user can read.

The keyring (macOS Keychain, Windows Credential Manager, the Secret Service on Linux) is tried
first through the ``keyring`` library. Where there is none (a headless Linux box, a container),
keys go to ``remote-keys.json`` in Hearth's config folder with mode 0600 and the caller is told
so it can say it to the user. A key is never logged, exported or put in an error message: the
texts here name the connection, never the key.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from app import paths
from app.fsutil import atomic_write

SERVICE = "hearth-remote"
KEYRING = "keyring"
FILE = "file"


class KeyStoreError(Exception):
    pass


def key_file() -> Path:
    return paths.config_dir() / "remote-keys.json"


def _backend() -> Any:
    import keyring

    return keyring.get_keyring()


def _no_keyring(exc: BaseException) -> bool:
    from keyring.errors import NoKeyringError

    return isinstance(exc, NoKeyringError)


def store_key(name: str, key: str) -> str:
    """Keep ``key`` for connection ``name``; returns where: ``KEYRING`` or ``FILE``."""
    try:
        _backend().set_password(SERVICE, name, key)
    except Exception as e:  # backends do not all wrap their D-Bus/OS errors in KeyringError
        if not _no_keyring(e):
            raise KeyStoreError(
                f"The system keyring refused the API key of '{name}' ({type(e).__name__}). "
                "Unlock the keyring and try again."
            ) from None
    else:
        _drop_from_file(name)
        return KEYRING
    keys = _read_file()
    keys[name] = key
    _write_file(keys)
    return FILE


def load_key(name: str, where: str) -> str | None:
    if where == FILE:
        return _read_file().get(name)
    if where == KEYRING:
        try:
            key = _backend().get_password(SERVICE, name)
        except Exception as e:
            raise KeyStoreError(
                f"Cannot read the API key of '{name}' from the system keyring "
                f"({type(e).__name__}). Unlock it, or add the key again with "
                f"`hearth remotes add {name} URL --api-key-stdin`."
            ) from None
        return str(key) if key is not None else None
    return None


def delete_key(name: str, where: str) -> None:
    if where == KEYRING:
        from keyring.errors import KeyringError, PasswordDeleteError

        try:
            _backend().delete_password(SERVICE, name)
        except PasswordDeleteError:
            pass
        except KeyringError as e:
            if _no_keyring(e):  # the keyring went away since; nothing left to delete there
                return _drop_from_file(name)
            raise KeyStoreError(
                f"The system keyring refused to delete the API key of '{name}' "
                f"({type(e).__name__}); remove '{SERVICE} / {name}' there yourself."
            ) from None
    _drop_from_file(name)


def _read_file() -> dict[str, str]:
    try:
        data = json.loads(key_file().read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise KeyStoreError(
            f"Cannot read {key_file()} ({type(e).__name__}). Remove it and add the keys again."
        ) from None
    keys = data.get("keys") if isinstance(data, dict) else None
    return {str(k): str(v) for k, v in keys.items()} if isinstance(keys, dict) else {}


def _write_file(keys: dict[str, str]) -> None:
    path = key_file()
    # atomic_write's temporary file is created 0600 (mkstemp) and renamed over the target, so
    # the key is never readable by others, not even for a moment; chmod says it explicitly.
    atomic_write(path, json.dumps({"keys": keys}, indent=1), fsync=True)
    os.chmod(path, 0o600)


def _drop_from_file(name: str) -> None:
    if not key_file().exists():
        return
    keys = _read_file()
    if name in keys:
        del keys[name]
        _write_file(keys)
