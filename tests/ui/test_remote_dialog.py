""" "Connect to a server…" (app.ui.remote_dialog) against a real server on 127.0.0.1: Test lists
the server's models off the GUI thread, Use saves the connection (the key in the keyring or the
0600 file, never shown again), a wrong key or address is said in the dialog."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.remote.connections import Connection, Remotes
from app.ui.remote_dialog import NEW, RemoteDialog
from tests.helpers.memkeyring import MemoryKeyring, keyring_backend
from tests.helpers.scripted_openai import ScriptedServer

KEY = "sk-dialog-key-5150"


@pytest.fixture(autouse=True)
def no_system_keyring() -> Iterator[None]:
    with keyring_backend():
        yield


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer(api_key=KEY, models=("gpt-oss-120b", "gpt-oss-20b")) as s:
        yield s


def fill(dlg: RemoteDialog, name: str, url: str, key: str = "") -> None:
    dlg.name.setText(name)
    dlg.url.setText(url)
    dlg.key.setText(key)


def test_test_lists_the_models_and_use_saves_the_connection(qtbot, server) -> None:  # type: ignore[no-untyped-def]
    dlg = RemoteDialog()
    qtbot.addWidget(dlg)
    assert dlg.list.currentItem().text() == NEW
    fill(dlg, "gpu", server.url, KEY)
    with qtbot.waitSignal(dlg.tested, timeout=15_000) as sig:
        dlg.test_button.click()
    assert sig.args[0] is True
    assert [dlg.model.itemText(i) for i in range(dlg.model.count())] == [
        "gpt-oss-120b",
        "gpt-oss-20b",
    ]
    dlg.model.setCurrentIndex(1)
    dlg.use_button.click()
    assert dlg.chosen == "gpu"
    conn = Remotes().get("gpu")
    assert (conn.base_url, conn.model, conn.key_storage) == (server.url, "gpt-oss-20b", "file")
    assert Remotes().api_key(conn) == KEY
    assert KEY not in dlg.status.text()


def test_wrong_key_and_unreachable_server_are_said_in_the_dialog(qtbot, server) -> None:  # type: ignore[no-untyped-def]
    dlg = RemoteDialog()
    qtbot.addWidget(dlg)
    fill(dlg, "gpu", server.url, "not-the-key")
    with qtbot.waitSignal(dlg.tested, timeout=15_000) as sig:
        dlg.test_button.click()
    assert sig.args[0] is False
    assert "refused the API key (401)" in dlg.status.text()
    assert "not-the-key" not in dlg.status.text()
    fill(dlg, "gpu", "http://127.0.0.1:9/v1")
    with qtbot.waitSignal(dlg.tested, timeout=15_000) as sig:
        dlg.test_button.click()
    assert sig.args[0] is False and "Cannot reach" in dlg.status.text()
    fill(dlg, "gpu", "ftp://nowhere")
    dlg.save_button.click()
    assert "not a server address" in dlg.status.text()
    assert Remotes().connections() == []


def test_a_saved_server_keeps_its_key_hidden_and_can_be_removed(qtbot, server) -> None:  # type: ignore[no-untyped-def]
    with keyring_backend(MemoryKeyring()) as backend:
        Remotes().save(Connection("box", server.url, model="gpt-oss-120b"), KEY)
        dlg = RemoteDialog()
        qtbot.addWidget(dlg)
        dlg.list.setCurrentRow(0)
        assert dlg.name.text() == "box" and dlg.name.isReadOnly()
        assert dlg.key.text() == "" and "kept" in dlg.key.placeholderText()
        # Test with the saved key (the field is empty: the keyring's is used).
        with qtbot.waitSignal(dlg.tested, timeout=15_000) as sig:
            dlg.test_button.click()
        assert sig.args[0] is True
        assert server.requests == []  # Test only asks for the model list
        dlg.remove_button.click()
        assert Remotes().connections() == []
        assert backend.passwords == {}  # type: ignore[attr-defined]
        assert dlg.list.count() == 1 and dlg.list.item(0).text() == NEW


def test_a_key_over_plain_http_to_another_machine_is_warned_about(qtbot) -> None:  # type: ignore[no-untyped-def]
    dlg = RemoteDialog()
    qtbot.addWidget(dlg)
    fill(dlg, "lan", "http://192.168.1.5:8000/v1", KEY)
    assert dlg.save() == "lan"
    assert "unencrypted" in dlg.status.text() and "readable only by you" in dlg.status.text()
