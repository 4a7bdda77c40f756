"""Fixtures for the model manager's tests: the fake hub and a tiny gpt-oss GGUF served by it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.fakehub import FakeHub, HubFile, fake_hub  # noqa: F401  (fixture)

REPO = "ggml-org/tiny-gpt-oss-GGUF"
FILE = "tiny-gpt-oss-mxfp4.gguf"


@pytest.fixture(scope="session")
def tiny_bytes(tiny_model: Path) -> bytes:
    return tiny_model.read_bytes()


@pytest.fixture
def served(fake_hub: FakeHub, tiny_bytes: bytes) -> HubFile:  # noqa: F811
    """The tiny model published as REPO:FILE on the fake hub."""
    return fake_hub.add_file(REPO, FILE, tiny_bytes)
