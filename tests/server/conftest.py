"""Fixtures for the server tests: a real ``hearth serve`` process with the tiny model, driven by
the real ``openai`` client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from tests.helpers.serve import ServerProcess


@pytest.fixture(scope="module")
def server(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tiny_model, tmp_path_factory.mktemp("serve-home"))
    yield proc
    assert proc.close() == 0, proc.log


@pytest.fixture
def client(server: ServerProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="not-needed", max_retries=0)
