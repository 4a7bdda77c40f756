"""Installed models, the catalog and Hub search (the search against the fake hub)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app import paths
from app.hub.catalog import CATALOG, recommend, recommended, repo_ggufs, search_hub
from app.hub.download import DownloadError, DownloadManager, DownloadRequest
from app.hub.fmt import GiB
from app.hub.hardware import Hardware
from app.hub.hfcache import hf_cache_dir
from app.hub.installed import LibraryError, ModelLibrary
from tests.helpers.fakehub import FakeHub, HubFile
from tests.helpers.hub import FILE, REPO


def test_catalog_entries() -> None:
    rec = recommended()
    assert (rec.repo_id, rec.files) == ("ggml-org/gpt-oss-20b-GGUF", ("gpt-oss-20b-mxfp4.gguf",))
    assert 12e9 < rec.size < 12.2e9 and 12e9 < rec.memory_needed < 16e9
    big = next(e for e in CATALOG if e.id == "gpt-oss-120b")
    assert big.files[0] == "gpt-oss-120b-mxfp4-00001-of-00003.gguf" and len(big.files) == 3
    assert len({e.id for e in CATALOG}) == len(CATALOG) >= 4
    for e in CATALOG:
        assert abs(e.shape.total_bytes - e.size) < 0.03 * e.size, e.id
        d = e.to_dict(Hardware.cpu_only(16 * GiB))
        assert d["fit"]["label"] and d["memory_needed"] > e.size


def test_recommendation_by_machine() -> None:
    assert recommend(Hardware.cpu_only(16 * GiB))[0].id == "gpt-oss-20b"
    entry, p = recommend(Hardware.with_gpu(96 * GiB, ram=128 * GiB))
    assert entry.id == "gpt-oss-120b" and p.verdict == "gpu"


def test_search_and_files(fake_hub: FakeHub, tiny_bytes: bytes) -> None:
    fake_hub.add_file("ggml-org/gpt-oss-20b-GGUF", "gpt-oss-20b-mxfp4.gguf", tiny_bytes)
    for i in (1, 2):
        fake_hub.add_file("someone/big-GGUF", f"big-Q4_K_M-0000{i}-of-00002.gguf", b"x" * 10)
    fake_hub.add_file("someone/big-GGUF", "big-Q8_0.gguf", b"y" * 5)
    fake_hub.add_file("someone/big-GGUF", "README.md", b"hi", lfs=False)
    fake_hub.add_file("other/safetensors-only", "model.safetensors", b"z", tags=["safetensors"])
    hits = search_hub("gguf")
    assert {h.repo_id for h in hits} == {"ggml-org/gpt-oss-20b-GGUF", "someone/big-GGUF"}
    files = repo_ggufs("someone/big-GGUF")
    assert [(f.filename, len(f.files), f.size) for f in files] == [
        ("big-Q8_0.gguf", 1, 5),
        ("big-Q4_K_M-00001-of-00002.gguf", 2, 20),
    ]
    assert files[1].quantization == "Q4_K_M"
    with pytest.raises(DownloadError, match="not found"):
        repo_ggufs("nobody/none")


def test_discovers_imports_and_flags_bad_files(
    fake_hub: FakeHub, served: HubFile, tiny_model: Path, tmp_path: Path
) -> None:
    DownloadManager().download(DownloadRequest(REPO, (FILE,)))
    shutil.copy(tiny_model, paths.models_dir() / "mine.gguf")
    (paths.models_dir() / "broken.gguf").write_bytes(b"<html>404</html>")
    extra = tmp_path / "extra"
    extra.mkdir()
    shutil.copy(tiny_model, extra / "other.gguf")
    outside = tmp_path / "elsewhere" / "imported.gguf"
    outside.parent.mkdir()
    shutil.copy(tiny_model, outside)

    lib = ModelLibrary()
    lib.add_folder(extra)
    imported = lib.import_file(outside)
    assert imported.path == outside.resolve() and imported.info is not None
    models = {m.id: m for m in ModelLibrary().models()}  # a new instance: persisted
    hf = models[f"{REPO}:{FILE}"]
    assert hf.source == "hf-cache" and hf.ok and hf.info is not None and hf.size == len(served.data)
    assert hf.info.architecture == "gpt-oss"
    assert models[str(paths.models_dir() / "mine.gguf")].source == "hearth"
    assert models[str((extra / "other.gguf").resolve())].source == "folder"
    assert models[str(outside.resolve())].source == "imported"
    bad = models[str(paths.models_dir() / "broken.gguf")]
    assert not bad.ok and bad.problem and bad.problem_kind == "not_gguf"
    # The plan for an installed model comes from its own tensors.
    assert hf.plan(Hardware.cpu_only(16 * GiB)).to_load_options().model_path == str(hf.path)

    with pytest.raises(LibraryError, match="Cannot import"):
        lib.import_file(paths.models_dir() / "broken.gguf")
    with pytest.raises(LibraryError, match="not a folder"):
        lib.add_folder(tmp_path / "nope")


def test_remove_frees_the_space(fake_hub: FakeHub, served: HubFile, tmp_path: Path) -> None:
    DownloadManager().download(DownloadRequest(REPO, (FILE,)))
    lib = ModelLibrary()
    m = lib.find(FILE)
    assert m is not None and m.source == "hf-cache"
    freed = lib.remove(m)
    assert freed == len(served.data)
    assert not list(hf_cache_dir().rglob("*.gguf")) and not list(
        hf_cache_dir().rglob(served.sha256)
    )
    assert lib.find(FILE) is None


def test_remove_imported_only_forgets_by_default(tiny_model: Path, tmp_path: Path) -> None:
    p = tmp_path / "keep.gguf"
    shutil.copy(tiny_model, p)
    lib = ModelLibrary()
    m = lib.import_file(p)
    assert lib.remove(m) == 0 and p.exists() and lib.find(str(p)) is None
    size = p.stat().st_size
    m = lib.import_file(p)
    assert lib.remove(m, delete_file=True) == size
    assert not p.exists()


def test_corrupt_config_is_not_fatal() -> None:
    lib = ModelLibrary()
    lib.config_path.write_text("{not json")
    assert lib.folders() == [] and isinstance(lib.models(), list)


def test_split_model_downloads_lists_and_removes_as_one(fake_hub: FakeHub, tmp_path: Path) -> None:
    from tests.helpers.tinymodel import write_tiny_gptoss

    names = [f"tiny-mxfp4-0000{i}-of-00002.gguf" for i in (1, 2)]
    sizes = 0
    for i, name in enumerate(names):
        data = write_tiny_gptoss(tmp_path / name, seed=i).read_bytes()
        sizes += len(data)
        fake_hub.add_file("org/split-GGUF", name, data)
    files = repo_ggufs("org/split-GGUF")
    assert len(files) == 1 and files[0].files == tuple(names) and files[0].size == sizes
    paths = DownloadManager().download(files[0].request())
    assert [p.name for p in paths] == names
    lib = ModelLibrary()
    [m] = lib.models()
    assert m.ok and m.path == paths[0] and len(m.parts) == 2 and m.size == sizes
    assert m.shape().n_layer == 2  # tensors of both parts counted
    paths[1].unlink()  # a part goes missing: flagged, not hidden
    [broken] = lib.models()
    assert not broken.ok and "missing" in (broken.problem or "")
    assert lib.remove(broken) > 0
    assert lib.models() == [] and not list(hf_cache_dir().rglob("*.gguf"))
    assert not (hf_cache_dir() / "models--org--split-GGUF").exists()  # every blob freed
