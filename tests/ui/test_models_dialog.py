"""The Model Manager dialog and the first-run panel, offscreen, against the fake hub."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton, QTableView, QWidget

from app.engine.options import LoadOptions
from app.hub.catalog import CATALOG, CatalogEntry
from app.hub.download import DownloadManager, DownloadState
from app.hub.fmt import GiB
from app.hub.hardware import Hardware
from app.hub.installed import ModelLibrary
from app.hub.shape import read_shape
from app.ui.models import FirstRunWidget, ModelManagerDialog
from app.ui.models.qtmodels import ProgressRole
from tests.helpers.fakehub import FakeHub, Fault
from tests.helpers.hub import FILE, REPO


@pytest.fixture
def entry(fake_hub: FakeHub, tiny_model: Path) -> CatalogEntry:
    data = tiny_model.read_bytes()
    fake_hub.add_file(REPO, FILE, data)
    return CatalogEntry(
        "tiny",
        "Tiny gpt-oss",
        REPO,
        (FILE,),
        len(data),
        "MXFP4",
        "tests",
        "The tiny test model.",
        read_shape(tiny_model),
        recommended=True,
    )


def manager() -> DownloadManager:
    return DownloadManager(stall_timeout=5, backoff_base=0.01, backoff_max=0.05)


def make_dialog(  # type: ignore[no-untyped-def]
    qtbot,
    entry: CatalogEntry,
    hw: Hardware | None = None,
    *,
    mgr: DownloadManager | None = None,
    parent: QWidget | None = None,
    **kw: object,
) -> ModelManagerDialog:
    dlg = ModelManagerDialog(
        parent,
        None,
        hardware=hw or Hardware.cpu_only(16 * GiB),
        manager=mgr or manager(),
        library=ModelLibrary(),
        catalog=[entry, *CATALOG],
        **kw,  # type: ignore[arg-type]
    )
    qtbot.addWidget(dlg)
    dlg.show()
    return dlg


def test_item_models_pass_qtmodeltester(qtbot, qtmodeltester, entry: CatalogEntry) -> None:  # type: ignore[no-untyped-def]
    dlg = make_dialog(qtbot, entry)
    for model in (dlg.recommended.model, dlg.installed.model, dlg.downloads.model):
        qtmodeltester.check(model)
    dlg.recommended.view.selectRow(0)
    dlg.download_selected_entry()
    qtbot.waitUntil(lambda: dlg.installed.model.rowCount() == 1, timeout=20_000)
    for model in (dlg.downloads.model, dlg.installed.model):
        qtmodeltester.check(model)
    dlg.search_tab.search_edit.setText("tiny")
    with qtbot.waitSignal(dlg.search_tab.worker.finished, timeout=10_000):
        dlg.search_tab.search()
    assert dlg.search_tab.search_model.rowCount() == 1
    qtmodeltester.check(dlg.search_tab.search_model)
    with qtbot.waitSignal(dlg.search_tab.worker.finished, timeout=10_000):
        dlg.search_tab.results_view.setCurrentIndex(dlg.search_tab.search_model.index(0, 0))
    assert dlg.search_tab.files_model.rowCount() == 1
    qtmodeltester.check(dlg.search_tab.files_model)


def test_download_reaches_100_and_installs_then_use_with_overrides(
    qtbot, entry: CatalogEntry, fake_hub: FakeHub
) -> None:  # type: ignore[no-untyped-def]
    fake_hub.faults[FILE] = Fault(drop_at=len(fake_hub.repos[REPO].files[FILE].data) // 2)
    dlg = make_dialog(qtbot, entry)
    assert dlg.recommended.model.data(dlg.recommended.model.index(0, 3)) == "CPU only (slow)"
    dlg.recommended.view.selectRow(0)
    assert dlg.recommended.download_button.isEnabled() and dlg.plan_panel.plan is not None
    dlg.recommended.download_button.click()
    assert dlg.tabs.currentIndex() == 2 and dlg.downloads.model.rowCount() == 1
    task = dlg.downloads.model.item(0)
    qtbot.waitUntil(lambda: dlg.installed.model.rowCount() == 1, timeout=20_000)
    assert task.state == DownloadState.DONE
    idx = dlg.downloads.model.index(0, 2)
    assert dlg.downloads.model.data(idx, ProgressRole) == 1.0
    assert dlg.downloads.model.data(idx).startswith("100 %")
    assert dlg.downloads.model.data(dlg.downloads.model.index(0, 1)) == "Installed"

    # The new model is selected on the Installed tab with its plan; override the context.
    dlg.tabs.setCurrentIndex(3)
    dlg.installed.view.selectRow(0)
    m = dlg.selected_installed()
    assert m is not None and m.ok and m.path == task.paths[0]
    assert dlg.use_button.isEnabled()
    panel = dlg.plan_panel
    assert panel.plan is not None and panel.plan.n_ctx == 4096
    panel.ctx.setValue(2048)
    assert panel.plan.n_ctx == 2048 and "2,048-token" in panel.verdict.text()
    panel.flash.setChecked(False)
    with qtbot.waitSignal(dlg.modelChosen, timeout=2000) as sig:
        dlg.use_button.click()
    opts = sig.args[0]
    assert isinstance(opts, LoadOptions) and dlg.chosen == opts
    assert (opts.model_path, opts.n_ctx, opts.flash_attn) == (str(m.path), 2048, False)
    panel.reset.__call__()  # "Automatic" restores the planner's values
    assert panel.plan.n_ctx == 4096 and panel.plan.flash_attn


def test_gpu_overrides_and_badges(qtbot, entry: CatalogEntry) -> None:  # type: ignore[no-untyped-def]
    dlg = make_dialog(qtbot, entry, Hardware.with_gpu(8 * GiB))
    row = next(
        i
        for i in range(dlg.recommended.model.rowCount())
        if dlg.recommended.model.item(i).id == "gpt-oss-20b"
    )
    assert "experts on CPU" in dlg.recommended.model.data(dlg.recommended.model.index(row, 3))
    dlg.recommended.view.selectRow(row)
    panel = dlg.plan_panel
    auto = panel.plan
    assert auto is not None and auto.n_cpu_moe > 0 and panel.ncmoe.isEnabled()
    panel.ncmoe.setValue(0)
    assert (
        panel.plan is not None
        and panel.plan.verdict == "none"
        and "Won't fit" in panel.verdict.text()
    )
    assert not dlg.use_button.isEnabled()  # not downloaded yet


def test_pause_resume_cancel_from_the_dialog(qtbot, entry: CatalogEntry, fake_hub: FakeHub) -> None:  # type: ignore[no-untyped-def]
    size = len(fake_hub.repos[REPO].files[FILE].data)
    fake_hub.faults[FILE] = Fault(stall_at=size // 2)
    dlg = make_dialog(qtbot, entry)
    dlg.recommended.view.selectRow(0)
    dlg.recommended.download_button.click()
    task = dlg.downloads.model.item(0)
    assert fake_hub.stalled.wait(10)
    assert task.wait_for(lambda p: p.done >= size // 2, 10)
    qtbot.waitUntil(dlg.downloads.pause_button.isEnabled, timeout=5000)
    dlg.downloads.pause_button.click()
    qtbot.waitUntil(lambda: task.state == DownloadState.PAUSED, timeout=10_000)
    qtbot.waitUntil(dlg.downloads.resume_button.isEnabled, timeout=5000)
    assert "Paused" in dlg.downloads.model.data(dlg.downloads.model.index(0, 1))
    dlg.downloads.resume_button.click()
    qtbot.waitUntil(lambda: dlg.installed.model.rowCount() == 1, timeout=20_000)
    assert fake_hub.bytes_served(FILE) == size  # resumed, nothing fetched twice


def test_import_remove_and_bad_files(
    qtbot, entry: CatalogEntry, tiny_model: Path, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QMessageBox

    warnings: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a: warnings.append(a[2]))
    dlg = make_dialog(qtbot, entry)
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"<html>not a model</html>")
    assert dlg.import_file(str(bad)) is None and "Cannot import bad.gguf" in warnings[0]
    good = tmp_path / "good.gguf"
    shutil.copy(tiny_model, good)
    m = dlg.import_file(str(good))
    assert m is not None and dlg.tabs.currentIndex() == 3 and dlg.installed.model.rowCount() == 1
    assert dlg.remove_model(dlg.installed.model.item(0)) == 0  # imported: forgotten, file kept
    assert good.exists() and dlg.installed.model.rowCount() == 0


def test_first_run_downloads_and_chooses(qtbot, entry: CatalogEntry) -> None:  # type: ignore[no-untyped-def]
    w = FirstRunWidget(
        None,
        hardware=Hardware.cpu_only(16 * GiB),
        manager=manager(),
        library=ModelLibrary(),
        entry=entry,
    )
    qtbot.addWidget(w)
    w.show()
    assert "Tiny gpt-oss" in w.recommendation.text() and "CPU only" in w.recommendation.text()
    assert w.use_existing_button.isHidden()
    with qtbot.waitSignal(w.modelChosen, timeout=20_000) as sig:
        w.download_button.click()
    opts = sig.args[0]
    assert isinstance(opts, LoadOptions) and Path(opts.model_path).exists()
    assert opts.n_ctx == 4096 and w.progress.value() == 1000

    again = FirstRunWidget(
        None,
        hardware=Hardware.cpu_only(16 * GiB),
        manager=manager(),
        library=ModelLibrary(),
        entry=entry,
    )
    qtbot.addWidget(again)
    assert not again.use_existing_button.isHidden()  # found in the HF cache
    with qtbot.waitSignal(again.modelChosen, timeout=2000) as sig:
        again.use_existing_button.click()
    assert sig.args[0].model_path == opts.model_path


def test_first_run_recommends_for_real_machines(qtbot) -> None:  # type: ignore[no-untyped-def]
    w = FirstRunWidget(
        None, hardware=Hardware.with_gpu(8 * GiB), manager=manager(), library=ModelLibrary()
    )
    qtbot.addWidget(w)
    assert "gpt-oss 20B" in w.recommendation.text() and "experts on CPU" in w.recommendation.text()


def test_download_to_a_chosen_folder_is_listed(qtbot, entry: CatalogEntry, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    dlg = make_dialog(qtbot, entry)
    dlg.start_download(entry.request(str(tmp_path / "models")))
    qtbot.waitUntil(lambda: dlg.installed.model.rowCount() == 1, timeout=20_000)
    m = dlg.installed.model.item(0)
    assert m.source == "folder" and m.path == (tmp_path / "models").resolve() / FILE


def test_closing_the_dialog_stops_listening_but_not_downloading(qtbot, entry: CatalogEntry) -> None:  # type: ignore[no-untyped-def]
    dlg = make_dialog(qtbot, entry)
    dlg.start_download(entry.request())
    task = dlg.downloads.model.item(0)
    assert task.listening
    dlg.reject()
    assert not task.listening
    assert task.wait(20) and task.state == DownloadState.DONE


# -- what a newcomer hit (issue 16) ------------------------------------------------------------


def test_enter_in_the_hub_search_searches_and_never_uses_the_selected_model(
    qtbot, entry: CatalogEntry, tiny_model: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    dlg = make_dialog(qtbot, entry)
    shutil.copy(tiny_model, tmp_path / "mine.gguf")
    assert dlg.import_file(str(tmp_path / "mine.gguf")) is not None
    dlg.installed.view.selectRow(0)
    assert dlg.use_button.isEnabled()  # an installed model is selected on its tab
    dlg.tabs.setCurrentWidget(dlg.search_tab)
    edit = dlg.search_tab.search_edit
    qtbot.keyClicks(edit, "tiny")
    with qtbot.waitSignal(dlg.search_tab.worker.finished, timeout=10_000):
        qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert dlg.isVisible() and dlg.chosen is None  # no model reload behind the user's back
    assert dlg.search_tab.search_model.rowCount() == 1


def test_an_incomplete_file_is_explained_and_a_catalog_one_offered_again(
    qtbot, entry: CatalogEntry, tiny_model: Path, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    data = tiny_model.read_bytes()
    plain = tmp_path / "mine.gguf"
    plain.write_bytes(data[: len(data) // 2])
    said: list[str] = []
    boxes: list[QMessageBox] = []

    def user_answers(box: QMessageBox) -> int:  # the modal box, answered as a user would
        boxes.append(box)
        said.append(box.text())
        next(b for b in box.buttons() if b.text().startswith("Download")).click()
        return 0

    monkeypatch.setattr(QMessageBox, "exec", user_answers)
    monkeypatch.setattr(QMessageBox, "warning", lambda *a: said.append(a[2]))
    dlg = make_dialog(qtbot, entry)
    assert dlg.import_file(str(plain)) is None
    assert not boxes  # a statement, not a question: OK is the right answer
    assert "Resume" not in said[-1] and "?" not in said[-1]
    assert "Find the complete file" in said[-1]

    # Named like a catalog entry's file: the box offers that download, with answer buttons.
    named = tmp_path / FILE
    named.write_bytes(data[: len(data) // 2])
    assert dlg.import_file(str(named)) is None
    [box] = boxes
    assert "Tiny gpt-oss" in said[-1] and "incomplete" in said[-1] and "?" not in said[-1]
    assert sorted(b.text() for b in box.buttons()) == ["Close", "Download Tiny gpt-oss again"]
    assert dlg.tabs.currentWidget() is dlg.downloads and dlg.downloads.model.rowCount() == 1
    qtbot.waitUntil(lambda: dlg.installed.model.rowCount() == 1, timeout=20_000)


def test_recommended_marks_what_is_downloaded_and_can_use_it(qtbot, entry: CatalogEntry) -> None:  # type: ignore[no-untyped-def]
    dlg = make_dialog(qtbot, entry)
    model = dlg.recommended.model
    assert model.data(model.index(0, 1)) != "Downloaded"
    dlg.recommended.view.selectRow(0)
    dlg.download_selected_entry()
    qtbot.waitUntil(lambda: dlg.installed.model.rowCount() == 1, timeout=20_000)
    assert model.data(model.index(0, 1)) == "Downloaded"
    assert model.data(model.index(1, 1)) != "Downloaded"  # the real catalog: not downloaded
    dlg.tabs.setCurrentWidget(dlg.recommended)
    dlg.recommended.view.selectRow(0)
    assert "not downloaded" not in dlg.plan_panel.title.text()
    assert dlg.use_button.isEnabled()
    with qtbot.waitSignal(dlg.modelChosen, timeout=2000) as sig:
        dlg.use_button.click()
    assert sig.args[0].model_path == str(dlg.installed.model.item(0).path)


class _Clock:
    def __init__(self) -> None:
        import time

        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now


def test_a_stalled_download_shows_stalled_and_no_time_left(
    qtbot, entry: CatalogEntry, fake_hub: FakeHub
) -> None:  # type: ignore[no-untyped-def]
    size = len(fake_hub.repos[REPO].files[FILE].data)
    fake_hub.faults[FILE] = Fault(stall_at=size // 2)
    mgr = DownloadManager(stall_timeout=30, backoff_base=0.01, backoff_max=0.05)
    task = mgr.task(entry.request())
    clock = _Clock()
    task.meter.clock = clock
    dlg = make_dialog(qtbot, entry, mgr=mgr)
    dlg.start_download(entry.request())
    try:
        assert fake_hub.stalled.wait(10)
        assert task.wait_for(lambda p: p.done >= size // 2, 10)
        clock.now += 12
        model = dlg.downloads.model
        # The view is told while nothing arrives (no byte, no event from the download).
        with qtbot.waitSignal(model.dataChanged, timeout=5000):
            pass
        assert model.data(model.index(0, 1)) == "Stalled — retrying in 18 s"
        assert model.data(model.index(0, 3)) == "–" and model.data(model.index(0, 4)) == "–"
    finally:
        task.pause()
        task.wait(10)


def _cut(view: QTableView) -> list[str]:
    """What a table does not show: columns past its right edge, headers or cells whose text
    does not fit (wrapped as the view wraps it)."""
    from PySide6.QtGui import QTextLayout, QTextOption
    from PySide6.QtWidgets import QStyle

    model, header = view.model(), view.horizontalHeader()
    out = []
    if header.length() > view.viewport().width():
        out.append(f"columns {header.length()} px wide in {view.viewport().width()} px")
    margin = 2 * (view.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, view) + 1)
    for c in range(model.columnCount()):
        head = model.headerData(c, Qt.Orientation.Horizontal)
        if header.sectionSize(c) < header.sectionSizeHint(c):
            out.append(f"header {head!r}")
        for r in range(model.rowCount()):
            idx = model.index(r, c)
            text = str(model.data(idx) or "")
            if not text:
                continue
            width = header.sectionSize(c) - margin
            if model.data(idx, Qt.ItemDataRole.DecorationRole) is not None:
                width -= view.iconSize().width() + margin
            if view.itemDelegateForColumn(c) is not None:  # the progress bar's own frame
                width -= 16
            font = model.data(idx, Qt.ItemDataRole.FontRole)  # as the delegate draws it
            layout = QTextLayout(text, font.resolve(view.font()) if font else view.font())
            opt = QTextOption()
            opt.setWrapMode(
                QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere
                if view.wordWrap() and view.itemDelegateForColumn(c) is None
                else QTextOption.WrapMode.NoWrap
            )
            layout.setTextOption(opt)
            layout.beginLayout()
            height = 0.0
            widest = 0.0
            while (line := layout.createLine()).isValid():
                line.setLineWidth(max(1, width))
                height += line.height()
                widest = max(widest, line.naturalTextWidth())
            layout.endLayout()
            if widest > width or height > view.rowHeight(r):
                out.append(f"{head} row {r}: {text!r}")
    return out


@pytest.mark.parametrize("size", [(800, 600), (1400, 900)])
def test_tables_show_all_their_text(qtbot, entry: CatalogEntry, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    dlg = make_dialog(qtbot, entry)
    dlg.resize(*size)
    dlg.recommended.view.selectRow(0)
    dlg.download_selected_entry()
    qtbot.waitUntil(lambda: dlg.installed.model.rowCount() == 1, timeout=20_000)
    for tab, view in (
        (dlg.recommended, dlg.recommended.view),
        (dlg.downloads, dlg.downloads.view),
        (dlg.installed, dlg.installed.view),
    ):
        dlg.tabs.setCurrentWidget(tab)
        qtbot.waitUntil(view.isVisible, timeout=2000)
        QApplication.processEvents()  # the layout of the tab just shown
        assert _cut(view) == []


def test_the_dialog_fits_an_800x600_window_and_works_there(qtbot, entry: CatalogEntry) -> None:  # type: ignore[no-untyped-def]
    window = QWidget()
    window.resize(800, 600)
    qtbot.addWidget(window)
    window.show()
    dlg = make_dialog(qtbot, entry, parent=window)
    assert dlg.width() <= 800 and dlg.height() <= 600
    hint = dlg.minimumSizeHint()
    assert hint.width() <= 800 and hint.height() <= 600
    for i in range(dlg.tabs.count()):
        dlg.tabs.setCurrentIndex(i)
        QApplication.processEvents()
        for b in dlg.findChildren(QPushButton):
            if b.isVisible():
                rect = b.rect().translated(b.mapTo(dlg, b.rect().topLeft()))
                assert dlg.rect().contains(rect), f"{b.text()} is cut off"
                assert b.width() >= b.minimumSizeHint().width(), f"{b.text()} is squeezed"


def test_buttons_need_a_selection_and_counts_are_worded(
    qtbot, entry: CatalogEntry, fake_hub: FakeHub, tiny_model: Path, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    fake_hub.repos[REPO].downloads = 1
    dlg = make_dialog(qtbot, entry)
    search = dlg.search_tab
    search.search_edit.setText("tiny")
    with qtbot.waitSignal(search.worker.finished, timeout=10_000):
        search.search()
    assert search.status.text().startswith("1 GGUF repository.")
    assert search.search_model.data(search.search_model.index(0, 0)).endswith("1 download")
    with qtbot.waitSignal(search.worker.finished, timeout=10_000):
        search.results_view.setCurrentIndex(search.search_model.index(0, 0))
    search.files_view.selectRow(0)
    assert search.download_button.isEnabled()
    with qtbot.waitSignal(search.worker.finished, timeout=10_000):
        search.search()  # new results: no file is selected any more
    assert not search.download_button.isEnabled()

    shutil.copy(tiny_model, tmp_path / "mine.gguf")
    m = dlg.import_file(str(tmp_path / "mine.gguf"))
    assert m is not None
    dlg.installed.view.selectRow(0)
    assert dlg.installed.remove_button.isEnabled()
    # The parameter count in `hearth inspect`'s words ("160.6K"), not "0.0 B parameters".
    from app.cli.inspect_cmd import format_info
    from app.engine.gguf_info import inspect_gguf

    inspected = format_info(inspect_gguf(m.path))
    count = next(ln for ln in inspected.splitlines() if ln.startswith("Parameters")).split()[-1]
    assert f"{count} parameters" in dlg.installed.info.text()
    dlg.remove_model(m)
    assert not dlg.installed.remove_button.isEnabled()  # nothing selected: nothing to remove


def test_opens_on_installed_with_the_loaded_model_marked(
    qtbot, entry: CatalogEntry, fake_hub: FakeHub
) -> None:  # type: ignore[no-untyped-def]
    mgr = manager()
    [path] = mgr.download(entry.request())  # a finished download in this session
    dlg = make_dialog(qtbot, entry, mgr=mgr, loaded=str(path))
    assert dlg.tabs.currentWidget() is dlg.installed
    model = dlg.installed.model
    assert model.data(model.index(0, 3)).startswith("loaded")
    assert dlg.installed.selected() is not None and dlg.installed.selected().path == path
