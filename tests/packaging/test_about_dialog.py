"""The About dialog shows the version, the components' versions and every required notice."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QGuiApplication

from app import __version__
from app.resources import resource_path
from app.ui.about import AboutDialog, component_versions, version_report
from app.ui.appicon import app_icon

# Each of these must be credited, with its licence, in the notices the dialog shows.
REQUIRED_NOTICES = [
    ("llama.cpp", "MIT"),
    ("ggml", "MIT"),
    ("llama-cpp-python", "MIT"),
    ("PySide6", "LGPL-3.0"),
    ("huggingface_hub", "Apache-2.0"),
    ("platformdirs", "MIT"),
    ("gguf", "MIT"),
    ("numpy", "BSD-3-Clause"),
    ("markdown-it-py", "MIT"),
    ("pygments", "BSD-2-Clause"),
    ("gpt-oss", "Apache-2.0"),
]


@pytest.fixture
def dialog(qtbot):
    dlg = AboutDialog()
    qtbot.addWidget(dlg)
    return dlg


def test_about_shows_version_and_real_component_versions(dialog):
    assert f"Hearth</td><td>&nbsp;&nbsp;{__version__}" in dialog.versions.text()
    versions = dict(component_versions())
    assert versions["llama-cpp-python"] != "not found"  # read from the installed metadata
    assert versions["Qt"].startswith("6.")
    assert "llama-cpp-python: " in version_report()
    assert not dialog.windowIcon().isNull()


@pytest.mark.parametrize(("component", "licence"), REQUIRED_NOTICES)
def test_notices_credit_each_component_with_its_licence(dialog, component, licence):
    text = dialog.notices.toPlainText()
    assert component in text
    # The licence is named in the same section or table row as the component.
    blocks = [b for b in text.split("\n\n") if component in b]
    assert any(licence in b for b in blocks), f"{component} is not shown with {licence}"


def test_notices_say_how_to_get_and_replace_qt(dialog):
    text = dialog.notices.toPlainText()
    assert "download.qt.io" in text
    assert "Replacing Qt" in text


def test_every_licence_file_the_notices_name_exists():
    notices = resource_path("NOTICES.md").read_text(encoding="utf-8")
    named = {part.split("`")[0] for part in notices.split("`licenses/")[1:]}
    assert {"llama.cpp-MIT.txt", "LGPL-3.0.txt", "GPL-3.0.txt", "Apache-2.0.txt"} <= named
    for name in named:
        assert resource_path("licenses", name).stat().st_size > 500, name


def test_licence_tab_has_the_apache_text(dialog):
    assert "Apache License" in dialog.licence.toPlainText()
    assert "Version 2.0" in dialog.licence.toPlainText()


def test_copy_version_info_puts_the_report_on_the_clipboard(dialog, qtbot):
    dialog.copy_button.click()
    assert QGuiApplication.clipboard().text() == version_report()
    assert dialog.copy_button.text() == "Copied"


def test_app_icon_has_every_rendered_size(qapp):
    sizes = {s.width() for s in app_icon().availableSizes()}
    assert sizes == {16, 24, 32, 48, 64, 128, 256, 512}
