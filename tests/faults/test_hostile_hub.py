"""A hostile hub, every fault in one sweep: never a corrupt or misplaced file installed.

tests/hub/test_download.py checks each fault's own behaviour and message. Here every fault is
replayed against the real downloader (huggingface_hub's client, the local fake hub) and one
invariant is checked on the whole disk afterwards: every installed model file has exactly the
bytes the Hub's SHA-256 names, nothing lands outside the cache (or the chosen folder), and no
partial file is offered as a model.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from app.engine.gguf_info import inspect_gguf
from app.hub.download import DownloadError, DownloadManager, DownloadRequest
from app.hub.hfcache import hf_cache_dir
from app.hub.installed import ModelLibrary
from tests.helpers.fakehub import FakeHub, Fault, HubFile
from tests.helpers.hub import FILE, REPO

Setup = Callable[[FakeHub, HubFile], tuple[str, ...] | None]


def _fault(**kw: object) -> Setup:
    def setup(hub: FakeHub, f: HubFile) -> None:
        hub.faults[FILE] = Fault(**kw)  # type: ignore[arg-type]

    return setup


def _size(factor: float) -> Setup:
    def setup(hub: FakeHub, f: HubFile) -> None:
        f.announced_size = int(len(f.data) * factor)

    return setup


def _sha(value: str) -> Setup:
    def setup(hub: FakeHub, f: HubFile) -> None:
        f.announced_sha256 = value

    return setup


def _commit(value: str) -> Setup:
    def setup(hub: FakeHub, f: HubFile) -> None:
        hub.repos[REPO].commit = value

    return setup


def _name(name: str) -> Setup:
    def setup(hub: FakeHub, f: HubFile) -> tuple[str, ...]:
        hub.add_file(REPO, name, f.data)
        return (name,)

    return setup


# fault -> (setup, whether the download may succeed)
FAULTS: dict[str, tuple[Setup, bool]] = {
    "dropped mid-file (reset)": (_fault(drop_at=100_000, drops=2), True),
    "dropped mid-file (clean close)": (_fault(drop_at=150_000, hard=False), True),
    "503 then 502 then success": (_fault(statuses=[503, 502]), True),
    "stall": (_fault(stall_at=120_000), True),
    "drop, then ranges ignored": (_fault(drop_at=90_000, ignore_range=True), True),
    "extra bytes past the end": (_fault(extra_bytes=50_000), True),
    "wrong bytes": (_fault(wrong_bytes=True), False),
    "404 forever": (_fault(statuses=[404] * 20), False),
    "401 forever": (_fault(statuses=[401] * 20), False),
    "500 forever": (_fault(statuses=[500] * 20), False),
    "size lie: half": (_size(0.5), False),
    "size lie: more": (_size(1.01), False),
    "sha256 lie": (_sha("0" * 64), False),
    "sha256 names a path": (_sha("../../../escaped"), False),
    "commit names a path": (_commit("../../snapshots-elsewhere"), False),
    "file name with ../": (_name("../../evil.gguf"), False),
    "absolute file name": (_name("/tmp/evil-abs.gguf"), False),
    "backslash file name": (_name("..\\..\\evil-bs.gguf"), False),
}


def _installed_ok(root: Path, sha: str) -> list[Path]:
    """Every .gguf under root (by its resolved target) has the Hub's bytes; returns them."""
    found = []
    for p in root.rglob("*"):
        if p.is_symlink() or p.is_file():
            if p.name.endswith(".incomplete"):
                continue  # a partial: never listed as a model (checked below)
            if p.suffix == ".gguf" or "/blobs/" in p.as_posix():
                data = p.resolve().read_bytes()
                assert hashlib.sha256(data).hexdigest() == sha, f"corrupt file installed: {p}"
                found.append(p)
    return found


@pytest.mark.parametrize("dest", ["hf-cache", "folder"])
def test_every_hostile_hub_fault_leaves_no_corrupt_or_misplaced_file(
    fake_hub: FakeHub,
    tiny_model: Path,
    hearth_home: Path,
    tmp_path: Path,
    dest: str,
) -> None:
    data = tiny_model.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    outcomes: dict[str, str] = {}
    for name, (setup, may_succeed) in FAULTS.items():
        # A fresh hub state and a fresh cache for each fault.
        fake_hub.repos.clear()
        fake_hub.faults.clear()
        fake_hub.release.clear()
        served = fake_hub.add_file(REPO, FILE, data)
        files = setup(fake_hub, served) or (FILE,)
        folder = tmp_path / name.replace(" ", "_").replace("/", "_") / "models"
        req = DownloadRequest(
            REPO, files, dest_dir=str(folder) if dest == "folder" else None, label=name
        )
        mgr = DownloadManager(
            stall_timeout=0.3,
            connect_timeout=2.0,
            backoff_base=0.01,
            backoff_max=0.05,
            max_retries=3,
            journal=tmp_path / f"{name}-journal.json",
        )
        try:
            paths = mgr.download(req)
            outcome = "installed"
        except DownloadError as e:
            paths = []
            outcome = f"refused ({e.kind})"
            assert str(e), name
        finally:
            fake_hub.release.set()
        outcomes[name] = outcome
        if not may_succeed:
            assert paths == [], f"{name}: a file was installed"
        for p in paths:
            assert hashlib.sha256(p.read_bytes()).hexdigest() == sha, name
            assert inspect_gguf(p).architecture == "gpt-oss", name
        # The invariant, over everything this test could have written.
        _installed_ok(tmp_path, sha)
        installed = _installed_ok(hearth_home, sha) + _installed_ok(folder.parent, sha)
        if not paths:
            assert not [p for p in installed if p.suffix == ".gguf"], (name, installed)
        for bad in ("evil", "escaped", "snapshots-elsewhere"):
            assert not list(Path("/tmp").glob(f"{bad}*")), name
            assert not list(hearth_home.rglob(f"*{bad}*")), name
            assert not list(tmp_path.rglob(f"*{bad}*")), name
        # Nothing half-downloaded is offered as a model.
        for m in ModelLibrary(hf_cache=hf_cache_dir()).models():
            assert m.path.resolve().read_bytes() == data or not m.ok, (name, m)
        # Clean the cache for the next fault.
        shutil.rmtree(hf_cache_dir(), ignore_errors=True)
    succeeded = [n for n, o in outcomes.items() if o == "installed"]
    assert set(succeeded) <= {n for n, (_s, ok) in FAULTS.items() if ok}
    print(
        f"\nhostile hub ({dest}): {len(FAULTS)} faults, corrupt or misplaced files: 0; {outcomes}"
    )
