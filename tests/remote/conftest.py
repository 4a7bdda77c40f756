"""Fixtures for the remote backend: the scripted (hostile) server, a keyring that is never the
user's own, and real OpenAI-compatible servers (llama-cpp-python's, Hearth's own)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest

from tests.helpers.memkeyring import MemoryKeyring, keyring_backend
from tests.helpers.scripted_openai import ScriptedServer


@pytest.fixture(autouse=True)
def no_system_keyring() -> Iterator[None]:
    """No test may read or write the keyring of the person running them: by default there is
    none (the 0600 file fallback); ``memory_keyring`` gives one."""
    with keyring_backend():
        yield


@pytest.fixture
def memory_keyring() -> MemoryKeyring:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    return backend


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    with ScriptedServer() as server:
        yield server


@pytest.fixture(scope="module")
def llama_server(tiny_model: Path) -> Iterator[object]:
    from tests.helpers.llamacpp_server import LlamaCppServer

    with LlamaCppServer(tiny_model) as server:
        yield server
