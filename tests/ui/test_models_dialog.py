"""The Model Manager dialog and the first-run panel, offscreen, against the fake hub."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.engine.options import LoadOptions
from app.hub.catalog import CATALOG, CatalogEntry
from app.hub.download import DownloadManager, DownloadState
from app.hub.fmt import GiB
from app.hub.hardware import Hardware
from app.hub.installed import ModelLibrary
from app.hub.shape import read_shape
from app.ui.models import FirstRunWidget, ModelManagerDialog
from app.ui.models.qtmodels import ProgressRole
from tests.helpers import fakehub
from tests.helpers.fakehub import FakeHub, Fault

fake_hub = fakehub.fake_hub  # the fixture, for this module

# Qt's offscreen platform warns when any dialog is shown; xcb, Wayland, Windows and macOS do not.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

REPO = "ggml-org/tiny-gpt-oss-GGUF"
FILE = "tiny-gpt-oss-mxfp4.gguf"


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


def make_dialog(qtbot, entry: CatalogEntry, hw: Hardware | None = None) -> ModelManagerDialog:  # type: ignore[no-untyped-def]
    dlg = ModelManagerDialog(
        None,
        None,
        hardware=hw or Hardware.cpu_only(16 * GiB),
        manager=manager(),
        library=ModelLibrary(),
        catalog=[entry, *CATALOG],
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
