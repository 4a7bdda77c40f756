"""An in-memory keyring backend, so tests exercise the keyring path of ``app.remote.keys``
through the real ``keyring`` API without ever touching the user's own keyring."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import keyring
from keyring.backend import KeyringBackend
from keyring.backends import fail
from keyring.errors import PasswordDeleteError


@contextmanager
def keyring_backend(backend: KeyringBackend | None = None) -> Iterator[KeyringBackend]:
    """Use ``backend`` (default: none at all, so keys go to the 0600 file) and put the previous
    one back after: no test reads or writes the keyring of the person running it."""
    before = keyring.get_keyring()
    chosen = backend if backend is not None else fail.Keyring()
    keyring.set_keyring(chosen)
    try:
        yield chosen
    finally:
        keyring.set_keyring(before)


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.passwords.pop((service, username), None) is None:
            raise PasswordDeleteError("no such password")
