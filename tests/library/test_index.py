"""The library index: folders indexed with line numbers, kept current incrementally, also while
the folder changes under it, readable from another thread while it is written."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from app.library import LibraryError, LibraryIndex, search, sync_file, sync_folder
from app.library.index import CHUNK_LINES, chunk_lines, default_path
from app.library.sync import SyncReport
from tests.attachments.pdfgen import write_pdf
from tests.library.corpus import write_corpus


@pytest.fixture
def index() -> LibraryIndex:
    idx = LibraryIndex()
    yield idx
    idx.close()


def _in_index(index: LibraryIndex, path: Path) -> list[str] | None:
    doc = index.doc_by_key(str(path))
    return None if doc is None else index.text_lines(doc.id)


def _assert_current(index: LibraryIndex, root: Path, also: tuple[Path, ...] = ()) -> None:
    """The index holds exactly the folder's notes (and ``also``), each with its current text."""
    notes = {
        str(p)
        for p in root.rglob("*.md")
        if not any(part.startswith(".") or part == "node_modules" for part in p.parts)
    }
    folder = index.folder(root)
    assert folder is not None
    rows = index.connection().execute("SELECT key FROM docs WHERE folder_id = ?", (folder.id,))
    assert {r[0] for r in rows} == notes | {str(p) for p in also}
    for key in notes:
        assert _in_index(index, Path(key)) == Path(key).read_text().split("\n"), key


def test_the_index_is_its_own_file_in_the_data_folder(index: LibraryIndex) -> None:
    assert index.path == default_path()
    assert index.path.name == "library.sqlite3"
    assert index.path.parent.name == "data"


def test_chunks_cover_every_line_once() -> None:
    lines = [f"line {i}" for i in range(95)] + ["x" * 5000] + ["tail"]
    chunks = list(chunk_lines(lines))
    rebuilt = "\n".join(text for _, text in chunks).split("\n")
    assert rebuilt == lines
    assert [start for start, _ in chunks][:4] == [1, 1 + CHUNK_LINES, 1 + 2 * CHUNK_LINES, 91]
    assert any(text == "x" * 5000 for _, text in chunks)  # a long line is its own chunk


def test_sync_indexes_text_pdf_and_skips_binaries(index: LibraryIndex, tmp_path: Path) -> None:
    root = tmp_path / "notes"
    write_corpus(root, 30)
    write_pdf(root / "paper.pdf", [["Photosynthesis converts light"], ["into chemical energy"]])
    (root / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    (root / "blob.dat").write_bytes(bytes(range(256)) * 10)
    (root / ".hidden.md").write_text("secret")
    (root / "node_modules").mkdir()
    (root / "node_modules" / "dep.md").write_text("dependency docs")
    seen: list[tuple[int, int, str]] = []
    report = sync_folder(index, root, progress=lambda d, t, p: seen.append((d, t, p)))
    assert report.found == 33 and report.added == 31 and report.skipped == 2
    assert set(report.skipped_reasons) == {"photo.png", "blob.dat"}
    assert report.skipped_reasons["photo.png"] == "photo.png is not text (image)"
    assert [d for d, _, _ in seen] == list(range(1, 34)) and all(t == 33 for _, t, _ in seen)
    pdf = index.doc_by_key(str(root / "paper.pdf"))
    assert pdf is not None and pdf.rel == "notes/paper.pdf"
    assert index.text_lines(pdf.id)[2:] == ["", "--- Page 2 of 2 ---", "into chemical energy"]
    _assert_current(index, root, also=(root / "paper.pdf",))
    [folder] = index.folders()
    assert folder.path == str(root) and folder.files == 31 and folder.bytes > 60_000
    assert index.size_bytes() > 0 and index.stats()["docs"] == 31
    # Nothing changed: nothing is read again.
    again = sync_folder(index, root)
    assert (again.added, again.updated, again.removed, again.unchanged) == (0, 0, 0, 31)
    assert again.skipped == 2


def test_incremental_sync_changed_added_deleted_touched(index: LibraryIndex, tmp_path: Path):
    root = tmp_path / "notes"
    paths = write_corpus(root, 40)
    sync_folder(index, root)
    paths[3].write_text("# Changed\n\nThe quarterly zeppelin report.\n")
    paths[7].unlink()
    (root / "new.md").write_text("A brand new note about a walrus.\n")
    st = paths[9].stat()  # touched: same bytes, new time
    os.utime(paths[9], ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000_000))
    report = sync_folder(index, root)
    assert (report.added, report.updated, report.removed) == (1, 1, 1)
    assert report.unchanged == 38  # 37 untouched + 1 re-stamped without re-indexing
    _assert_current(index, root)
    scope = {"folder_ids": [index.folder(root).id]}  # type: ignore[union-attr]
    assert [h.doc.key for h in search(index, "zeppelin", **scope)] == [str(paths[3])]
    assert [h.doc.key for h in search(index, "walrus", **scope)] == [str(root / "new.md")]
    assert search(index, "needle7", **scope) == []


def test_a_folder_edited_while_it_is_indexed(index: LibraryIndex, tmp_path: Path) -> None:
    """Files change, vanish and appear during a sync: nothing crashes, the next sync is exact."""
    root = tmp_path / "notes"
    paths = write_corpus(root, 60)
    order: list[str] = []

    def meddle(done: int, total: int, rel: str) -> None:
        order.append(rel)
        if done == 20:
            current = root / rel
            current.write_text(current.read_text() + "Edited while being read.\n")
            Path(root / order[5]).write_text("# Rewritten after it was indexed\n")
            ahead = next(p for p in paths if p.relative_to(root).as_posix() not in order)
            ahead.unlink()  # listed by the walk, gone before it is read
            (root / "topic00" / "late.md").write_text("Added during the sync.\n")

    first = sync_folder(index, root, progress=meddle)
    assert first.changed_while_read == 1  # its stamp is left unknown: read again next time
    assert first.skipped == 0  # the vanished file is not "skipped": it is gone
    second = sync_folder(index, root)
    assert second.added == 1  # late.md
    assert second.updated == 1  # the file rewritten after it was indexed
    assert second.unchanged == 58  # incl. the one edited as it was read (same bytes: re-stamped)
    _assert_current(index, root)


def test_search_from_another_thread_while_indexing(
    index: LibraryIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.library.sync as sync_mod

    monkeypatch.setattr(sync_mod, "BATCH_FILES", 10)
    root = tmp_path / "notes"
    write_corpus(root, 80)
    folder = index.add_folder(root)
    halfway, searched = threading.Event(), threading.Event()
    found: list[list[str]] = []

    def progress(done: int, total: int, rel: str) -> None:
        if done == 50:
            halfway.set()
            assert searched.wait(30)

    result: list[SyncReport] = []
    t = threading.Thread(target=lambda: result.append(sync_folder(index, folder, progress)))
    t.start()
    assert halfway.wait(30)
    # The first batches are committed: a reader (this thread, its own connection) sees them
    # while the indexer still holds its write transaction.
    hits = search(index, "needle0 OR needle79", 5, folder_ids=[folder.id])
    found.append([h.doc.rel for h in hits])
    searched.set()
    t.join(30)
    assert result and result[0].added == 80
    assert found[0] and all("note0" in r for r in found[0])


def test_cancel_stops_between_files_and_keeps_what_was_done(index: LibraryIndex, tmp_path: Path):
    root = tmp_path / "notes"
    write_corpus(root, 30)
    stop = threading.Event()
    report = sync_folder(index, root, lambda d, t, p: stop.set() if d == 10 else None, stop)
    assert report.cancelled and report.added == 10 and report.removed == 0
    rest = sync_folder(index, root)
    assert rest.added == 20
    _assert_current(index, root)


def test_remove_folder_and_attachments(index: LibraryIndex, tmp_path: Path) -> None:
    root = tmp_path / "notes"
    write_corpus(root, 10)
    sync_folder(index, root)
    doc = index.add_attachment("ab" * 32, "report.txt", "Line one\nThe albatross flies.\n", "/x")
    assert doc.is_attachment and doc.rel == "report.txt" and doc.lines == 3
    assert index.add_attachment("ab" * 32, "report.txt", "ignored: same content", "/x") == doc
    hits = search(index, "albatross", attachment_keys=[doc.key])
    assert [(h.doc.rel, h.line) for h in hits] == [("report.txt", 2)]
    index.remove_folder(root)
    assert index.folders() == [] and index.stats()["docs"] == 1
    assert root.exists()  # the user's files are never touched


def test_add_folder_refuses_a_file_and_a_newer_index(tmp_path: Path) -> None:
    idx = LibraryIndex(tmp_path / "lib.sqlite3")
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(LibraryError, match="is not a folder"):
        idx.add_folder(tmp_path / "a.txt")
    idx.connection().execute("PRAGMA user_version = 99")
    idx.close()
    with pytest.raises(LibraryError, match=r"written by a newer Hearth\. Delete it to rebuild"):
        LibraryIndex(tmp_path / "lib.sqlite3")


def test_sync_one_file_as_a_watcher_reports_it(index: LibraryIndex, tmp_path: Path) -> None:
    root = tmp_path / "notes"
    paths = write_corpus(root, 10)
    sync_folder(index, root)
    paths[2].write_text("# Two\n\nNow about a narwhal.\n")
    assert sync_file(index, paths[2]).updated == 1
    assert sync_file(index, paths[2]).unchanged == 1
    (root / "fresh.md").write_text("A pelican.\n")
    assert sync_file(index, root / "fresh.md").added == 1
    paths[4].unlink()
    assert sync_file(index, paths[4]).removed == 1
    _assert_current(index, root)
    with pytest.raises(ValueError, match="is not in a Library folder"):
        sync_file(index, tmp_path / "elsewhere.md")


def test_connections_of_finished_threads_are_closed(index: LibraryIndex) -> None:
    """The tool loop searches from a new thread each turn: connections must not pile up."""
    for _ in range(5):
        t = threading.Thread(target=lambda: index.connection().execute("SELECT 1").fetchall())
        t.start()
        t.join()
    index.connection()  # this thread's, opened before: nothing new to prune
    t = threading.Thread(target=index.connection)
    t.start()
    t.join()
    assert len(index._all) <= 3  # this thread's, the last one's, and at most one more
