"""The tiny model as the model manager's tests publish it on the fake hub: its repository and
file names, and fixtures (registered for every test by tests/conftest.py) that serve it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.fakehub import FakeHub, HubFile

REPO = "ggml-org/tiny-gpt-oss-GGUF"
FILE = "tiny-gpt-oss-mxfp4.gguf"


@pytest.fixture(scope="session")
def tiny_bytes(tiny_model: Path) -> bytes:
    return tiny_model.read_bytes()


@pytest.fixture
def served(fake_hub: FakeHub, tiny_bytes: bytes) -> HubFile:
    """The tiny model published as REPO:FILE on the fake hub."""
    return fake_hub.add_file(REPO, FILE, tiny_bytes)
