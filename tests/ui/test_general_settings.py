"""Settings → General (issue 16): the theme, the defaults new chats start from (a chat keeps its
own copy), the data folder; Chat settings keep only what belongs to one chat."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from app import paths
from app.ui.prefs import UiPrefs
from app.ui.settings.dialog import SettingsDialog


def test_new_chats_start_from_the_defaults_and_keep_them(qtbot, store, make_window) -> None:  # type: ignore[no-untyped-def]
    old = store.create_conversation("Before the defaults")
    win = make_window(prefs=UiPrefs.load())
    dialog = SettingsDialog(win)
    qtbot.addWidget(dialog)
    assert dialog.nav.item(0).text() == "General" and dialog.stack.currentIndex() == 0
    page = dialog.page("General")
    form = page.form
    form.effort.setCurrentIndex(form.effort.findData("high"))
    form.budget.setValue(512)
    form.instructions.setPlainText("Answer in French.")
    form.temperature.setValue(0.7)
    saved = UiPrefs.load().defaults  # on disk at once
    assert saved == {
        "effort": "high",
        "reasoning_budget": 512,
        "instructions": "Answer in French.",
        "sampling": {"temperature": 0.7},
    }
    win.conversations.new_chat()
    panel = win.settings
    assert panel.effort.currentData() == "high" and panel.budget.value() == 512
    assert panel.instructions.toPlainText() == "Answer in French."
    assert panel.temperature.value() == 0.7
    cid = win.conversations.ensure_saved()  # (the first send does this)
    assert store.get_conversation(cid).settings == saved
    # The chats already there keep theirs; so does this one when the defaults change.
    win.conversations.open(old.id)
    assert panel.effort.currentData() == "medium" and panel.temperature.value() == 1.0
    form.effort.setCurrentIndex(form.effort.findData("low"))
    assert store.get_conversation(cid).settings["effort"] == "high"
    # Chat settings' Reset gives the defaults (keeping the chat's instructions).
    win.conversations.open(cid)
    panel.temperature.setValue(1.5)
    panel.reset_button.click()
    settings = store.get_conversation(cid).settings
    assert settings["effort"] == "low" and settings["sampling"] == {"temperature": 0.7}
    assert settings["instructions"] == "Answer in French."
    page.reset_button.click()  # back to gpt-oss's own
    assert UiPrefs.load().defaults == {}


def test_theme_and_data_folder_live_in_general_not_in_chat_settings(qtbot, make_window) -> None:  # type: ignore[no-untyped-def]
    win = make_window(prefs=UiPrefs.load())
    assert not hasattr(win.settings, "theme")  # Chat settings: one chat's things only
    dialog = SettingsDialog(win, "General")
    qtbot.addWidget(dialog)
    page = dialog.page("General")
    page.theme.setCurrentIndex(page.theme.findData("dark"))
    assert win.prefs.theme == "dark" and UiPrefs.load().theme == "dark"
    assert QApplication.palette().window().color().lightness() < 80
    assert page.data_path.text() == str(paths.data_dir())
    assert page.open_button.isEnabled()
    page.theme.setCurrentIndex(page.theme.findData("light"))


def test_enter_in_a_field_keeps_the_defaults_being_typed(qtbot, make_window) -> None:  # type: ignore[no-untyped-def]
    # Enter in a number box pressed the page's first button, "Use gpt-oss's defaults" (Qt makes
    # a dialog's first button its default when it shows), undoing what was just typed.
    from PySide6.QtCore import Qt

    win = make_window(prefs=UiPrefs.load())
    dialog = SettingsDialog(win, "General")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    form = dialog.page("General").form
    form.temperature.setValue(0.7)
    form.temperature.setFocus()
    qtbot.keyClick(form.temperature, Qt.Key.Key_Return)
    assert UiPrefs.load().defaults.get("sampling") == {"temperature": 0.7}
    assert not dialog.page("General").reset_button.isDefault()
