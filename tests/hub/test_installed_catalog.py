"""Which catalog entries are on this computer, and what an incomplete file is said to be."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.hub.catalog import CatalogEntry, installed_copy
from app.hub.download import DownloadManager
from app.hub.installed import LibraryError, ModelLibrary
from app.hub.shape import read_shape
from tests.helpers.fakehub import FakeHub, HubFile
from tests.helpers.hub import FILE, REPO


def entry(tiny_model: Path, files: tuple[str, ...] = (FILE,)) -> CatalogEntry:
    # Published size as the catalog rounds it: not the file's own size.
    return CatalogEntry(
        "tiny",
        "Tiny gpt-oss",
        REPO,
        files,
        12_100_000_000,
        "MXFP4",
        "tests",
        "",
        read_shape(tiny_model),
    )


def test_a_downloaded_entry_is_matched_by_repo_file_and_hash_not_size(
    fake_hub: FakeHub, served: HubFile, tiny_model: Path, tmp_path: Path
) -> None:
    e = entry(tiny_model)
    lib = ModelLibrary()
    assert installed_copy(e, lib.models()) is None
    DownloadManager().download(e.request())
    m = installed_copy(e, lib.models())
    assert m is not None and m.source == "hf-cache" and m.sha256 == served.sha256

    # Another file of the same repository is another entry.
    assert installed_copy(entry(tiny_model, ("other.gguf",)), lib.models()) is None
    # The same bytes under the same name in a folder, but not known to be the Hub's file (it was
    # not downloaded by Hearth): not the catalog's download.
    folder = tmp_path / "mine"
    folder.mkdir()
    shutil.copy(tiny_model, folder / FILE)
    lib.add_folder(folder)
    found = [m for m in lib.models() if m.source == "folder"]
    assert len(found) == 1 and installed_copy(e, found) is None


def test_a_download_into_a_folder_is_matched_until_the_file_changes(
    fake_hub: FakeHub, served: HubFile, tiny_model: Path, tmp_path: Path
) -> None:
    e = entry(tiny_model)
    folder = tmp_path / "models"
    [path] = DownloadManager().download(e.request(str(folder)))
    lib = ModelLibrary()
    lib.add_folder(folder)
    m = installed_copy(e, lib.models())
    assert m is not None and m.source == "folder" and m.path == path
    assert (m.repo_id, m.sha256) == (REPO, served.sha256)

    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # someone edited the file: it is no longer the Hub's
    path.write_bytes(bytes(data))
    assert installed_copy(e, lib.models()) is None


def test_an_incomplete_file_is_explained_with_what_to_do(tiny_model: Path, tmp_path: Path) -> None:
    data = tiny_model.read_bytes()
    # Named like the catalog's gpt-oss 20B: offer to download that again.
    named = tmp_path / "gpt-oss-20b-mxfp4.gguf"
    named.write_bytes(data[: len(data) // 2])
    with pytest.raises(LibraryError) as err:
        ModelLibrary().import_file(named)
    msg = str(err.value)
    assert "Resume" not in msg and "?" not in msg  # not a download to resume, and no question
    assert "incomplete" in msg and "Find the complete file" in msg
    assert "gpt-oss 20B" in msg and err.value.entry_id == "gpt-oss-20b"

    other = tmp_path / "mine.gguf"
    other.write_bytes(data[: len(data) // 2])
    with pytest.raises(LibraryError) as err:
        ModelLibrary().import_file(other)
    assert "Find the complete file" in str(err.value) and "catalog" not in str(err.value)
    assert err.value.entry_id is None
