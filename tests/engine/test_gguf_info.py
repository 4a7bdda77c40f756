"""GGUF inspection: the facts of a good file, and a specific reason for each kind of bad one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.engine import gguf_info
from app.engine.gguf_info import GGUFError, inspect_gguf
from tests.helpers.tinymodel import vocabulary, write_tiny_gptoss


def test_facts_of_the_tiny_model(tiny_model: Path) -> None:
    info = inspect_gguf(tiny_model)
    assert info.architecture == "gpt-oss" and info.is_chat_model
    assert info.version == 3
    assert info.layer_count == 2 and len(info.layers) == 2
    assert info.expert_count == 4 and info.expert_used_count == 2
    assert info.context_length == 4096
    assert info.has_chat_template
    assert info.file_size == info.expected_size == tiny_model.stat().st_size
    assert info.tensor_types["MXFP4"] > 0
    assert info.vocab_size == len(vocabulary())
    # Per layer: 3 expert tensors (MXFP4, 4 experts x 64 x 64 -> 17-byte blocks of 32) + biases.
    mx = 4 * 64 * (64 // 32) * 17
    bias = 4 * 64 * 4
    for layer in info.layers:
        assert layer.expert_bytes == 3 * (mx + bias)
        assert layer.total_bytes > layer.expert_bytes
    assert info.expert_bytes == 2 * 3 * (mx + bias)
    declared = info.non_layer_bytes + sum(x.total_bytes for x in info.layers)
    # The data section also holds the alignment padding between tensors (at most 31 bytes each).
    assert 0 <= info.tensor_bytes - declared < 32 * info.tensor_count
    # K and V, 2 KV heads of 16, f16, 2 layers.
    assert info.kv_bytes_per_token == 2 * 2 * 16 * 2 * 2
    assert info.parameter_count > 100_000
    assert info.to_dict()["expert_bytes"] == info.expert_bytes


def expect(path: Path, kind: str, *words: str) -> str:
    with pytest.raises(GGUFError) as e:
        inspect_gguf(path)
    assert e.value.kind == kind, e.value.message
    for w in words:
        assert w in e.value.message
    return e.value.message


def test_missing_file(tmp_path: Path) -> None:
    expect(tmp_path / "nope.gguf", "missing", "No such file")


def test_directory(tmp_path: Path) -> None:
    expect(tmp_path, "directory", "folder", "Pick the .gguf")


def test_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.gguf"
    p.write_bytes(b"")
    expect(p, "empty", "empty", "Download it again")


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_model: Path) -> None:
    p = tmp_path / "locked.gguf"
    p.write_bytes(tiny_model.read_bytes())
    p.chmod(0)
    if os.geteuid() == 0:  # root reads anything: make the permission check answer as for a user
        monkeypatch.setattr(gguf_info.os, "access", lambda *_a, **_k: False)
    expect(p, "unreadable", "permission denied")


@pytest.mark.parametrize(
    ("data", "looks_like"),
    [
        (b"<!DOCTYPE html><html><body>404</body></html>", "web page"),
        (b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\n", "Git LFS pointer"),
        (b"PK\x03\x04" + bytes(60), "ZIP"),
        (b"\x10\x00\x00\x00\x00\x00\x00\x00{" + b'"a":1}' + bytes(40), "safetensors"),
        (bytes(range(256)) * 4, "unrecognised binary"),
        (b"tjgg" + bytes(60), "GGML"),
    ],
)
def test_not_a_gguf_says_what_it_looks_like(tmp_path: Path, data: bytes, looks_like: str) -> None:
    p = tmp_path / "model.gguf"
    p.write_bytes(data)
    expect(p, "not_gguf", "not a GGUF", looks_like)


@pytest.mark.parametrize("fraction", [0.0001, 0.02, 0.5, 0.99])
def test_truncated_at_several_points(tmp_path: Path, tiny_model: Path, fraction: float) -> None:
    data = tiny_model.read_bytes()
    p = tmp_path / "partial.gguf"
    p.write_bytes(data[: max(5, int(len(data) * fraction))])
    msg = expect(p, "truncated", "File is truncated")
    if fraction >= 0.5:
        assert "of" in msg and "Find the complete file, or download it again." in msg


def test_truncated_by_a_few_bytes_shows_exact_sizes(tmp_path: Path, tiny_model: Path) -> None:
    data = tiny_model.read_bytes()
    p = tmp_path / "partial.gguf"
    p.write_bytes(data[:-10])
    expect(p, "truncated", f"{len(data) - 10:,} bytes of {len(data):,}")


def test_vocabulary_only_file(tmp_path: Path) -> None:
    p = write_tiny_gptoss(tmp_path / "vocab.gguf", vocab_only=True)
    expect(p, "vocab_only", "vocabulary-only")


def test_unsupported_architecture(tmp_path: Path) -> None:
    p = write_tiny_gptoss(tmp_path / "alien.gguf", arch="alien-net")
    expect(p, "unsupported_architecture", "'alien-net'", "doesn't support")


def test_unsupported_version(tmp_path: Path, tiny_model: Path) -> None:
    data = bytearray(tiny_model.read_bytes())
    data[4:8] = (9).to_bytes(4, "little")
    p = tmp_path / "future.gguf"
    p.write_bytes(bytes(data))
    expect(p, "unsupported_version", "version 9")


def test_damaged_counts(tmp_path: Path, tiny_model: Path) -> None:
    data = bytearray(tiny_model.read_bytes())
    data[8:16] = (2**40).to_bytes(8, "little")  # tensor count
    p = tmp_path / "damaged.gguf"
    p.write_bytes(bytes(data))
    expect(p, "corrupt", "damaged header")


def test_human_bytes() -> None:
    assert gguf_info.human_bytes(5_000_000) == "5.0 MB"
    assert gguf_info.human_bytes(12_100_000_000) == "12.1 GB"
    assert gguf_info.human_bytes(12) == "12 bytes"
