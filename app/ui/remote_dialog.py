""" "Connect to a server…": the OpenAI-compatible servers (vLLM, llama-server, Ollama, another
Hearth) a chat can use instead of a local model.

The saved connections are listed on the left; the form on the right adds or changes one (name,
address, API key, the CA of a private certificate). **Test** asks the server for its models off
the GUI thread and offers them; **Use this server** saves the connection and closes the dialog
with its name (``chosen``). The key goes to the OS keyring (``app.remote``); where there is none,
to a file only the user can read, and the dialog says so. A key is never shown again.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.hub.fmt import plural
from app.remote.connections import (
    Connection,
    RemoteError,
    Remotes,
    clear_text_warning,
    normalise_url,
)
from app.remote.keys import FILE, KeyStoreError, key_file
from app.ui.models.common import Async

NEW = "New server…"


class RemoteDialog(QDialog):
    """``chosen``: the name of the connection to use, once "Use this server" is clicked."""

    tested = Signal(bool, str)  # ok, what the Test said (for tests and screen readers)

    def __init__(self, parent: QWidget | None = None, remotes: Remotes | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Connect to a server")
        self.remotes = remotes or Remotes()
        self.chosen: str | None = None
        self._async = Async(self)
        self._testing = False

        self.list = QListWidget()
        self.list.setMaximumWidth(200)
        self.name = QLineEdit()
        self.name.setPlaceholderText("gpu-box")
        self.url = QLineEdit()
        self.url.setPlaceholderText("http://127.0.0.1:8000/v1")
        self.key = QLineEdit()
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.ca = QLineEdit()
        self.ca.setPlaceholderText("only for a certificate from your own CA")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_ca)
        ca_row = QHBoxLayout()
        ca_row.addWidget(self.ca, 1)
        ca_row.addWidget(browse)
        self.model = QComboBox()
        self.model.setEditable(True)
        self.model.lineEdit().setPlaceholderText("Test lists the server's models")  # type: ignore[union-attr]
        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Address", self.url)
        form.addRow("API key", self.key)
        form.addRow("CA certificate", ca_row)
        form.addRow("Model", self.model)

        self.status = QLabel(
            "The address of an OpenAI-compatible API, usually ending in /v1. For a server on "
            "another machine, use an SSH tunnel or https with a key."
        )
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.test_button = QPushButton("Test")
        self.test_button.clicked.connect(self.test)
        self.save_button = QPushButton("Save")
        self.save_button.clicked.connect(self.save)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove)
        self.use_button = QPushButton("Use this server")
        self.use_button.setDefault(True)
        self.use_button.clicked.connect(self.use)
        close = QPushButton("Close")
        close.clicked.connect(self.reject)
        for button in (self.test_button, self.save_button, self.remove_button, browse, close):
            button.setAutoDefault(False)  # Enter uses the server (the default), nothing else
        buttons = QHBoxLayout()
        buttons.addWidget(self.test_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.use_button)

        right = QVBoxLayout()
        right.addLayout(form)
        right.addWidget(self.status)
        right.addStretch(1)
        top = QHBoxLayout()
        top.addWidget(self.list)
        top.addLayout(right, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(top, 1)
        lay.addLayout(buttons)

        self.list.currentItemChanged.connect(self._selected)
        self.reload()
        self.resize(720, 360)

    # -- the list -------------------------------------------------------------------------------

    def reload(self, select: str | None = None) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        try:
            conns = self.remotes.connections()
        except RemoteError as e:
            conns = []
            self.say(str(e), ok=False)
        for conn in conns:
            item = QListWidgetItem(conn.name)
            item.setData(Qt.ItemDataRole.UserRole, conn.name)
            item.setToolTip(conn.label)
            self.list.addItem(item)
        new = QListWidgetItem(NEW)
        self.list.addItem(new)
        self.list.blockSignals(False)
        row = next((i for i, c in enumerate(conns) if c.name == select), len(conns))
        self.list.setCurrentRow(row)
        self._selected(self.list.currentItem(), None)

    def _selected(self, item: QListWidgetItem | None, _previous: Any) -> None:
        name = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        conn = None
        if name:
            try:
                conn = self.remotes.get(str(name))
            except RemoteError as e:
                self.say(str(e), ok=False)
        self.name.setText(conn.name if conn else "")
        self.name.setReadOnly(conn is not None)  # a new name is a new connection
        self.url.setText(conn.base_url if conn else "")
        self.key.clear()
        self.key.setPlaceholderText(
            "kept; type a new one to replace it" if conn and conn.has_key else "none"
        )
        self.ca.setText(conn.ca_bundle if conn else "")
        self.model.clear()
        if conn and conn.model:
            self.model.addItem(conn.model)
        self.model.setEditText(conn.model if conn else "")
        self.remove_button.setEnabled(conn is not None)

    def _browse_ca(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "The CA certificate (PEM)", "", "Certificates (*.pem *.crt *.cer);;All files (*)"
        )
        if path:
            self.ca.setText(path)

    # -- what the form says ---------------------------------------------------------------------

    def say(self, text: str, *, ok: bool) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("" if ok else "color: #c0392b;")

    def _form(self) -> Connection:
        """The connection the form describes (its key is not part of it). RemoteError."""
        name = self.name.text().strip()
        url = normalise_url(self.url.text())
        conn = Connection(name=name, base_url=url)
        try:
            old: Connection | None = self.remotes.get(name) if name else None
        except RemoteError:
            old = None
        if old is not None:  # what the form does not show is kept
            conn = Connection.from_dict({**old.to_dict(), "base_url": url})
            if url != old.base_url:
                conn.reasoning_format = ""
        conn.model = self.model.currentText().strip()
        conn.ca_bundle = self.ca.text().strip()
        return conn

    def test(self) -> None:
        """Ask the server for its models (off the GUI thread); the answer fills the model list."""
        if self._testing:
            return
        try:
            conn = self._form()
        except RemoteError as e:
            self.say(str(e), ok=False)
            self.tested.emit(False, str(e))
            return
        key = self.key.text().strip() or self._saved_key(conn)
        self._testing = True
        self.test_button.setEnabled(False)
        self.say(f"Asking {conn.base_url} for its models…", ok=True)

        def probe() -> list[dict[str, Any]]:
            from app.remote.engine import RemoteEngine

            engine = RemoteEngine(conn, api_key=key)
            try:
                return engine.list_models()
            finally:
                engine.close()

        self._async.run(probe, self._tested)

    def _saved_key(self, conn: Connection) -> str | None:
        try:
            old = self.remotes.get(conn.name) if conn.name else None
            return self.remotes.api_key(old) if old is not None else None
        except (RemoteError, KeyStoreError):
            return None

    def _tested(self, models: list[dict[str, Any]] | None, error: Exception | None) -> None:
        self._testing = False
        self.test_button.setEnabled(True)
        if error is not None:
            text = getattr(getattr(error, "event", None), "message", "") or str(error)
            self.say(text, ok=False)
            self.tested.emit(False, text)
            return
        ids = [str(m["id"]) for m in models or []]
        current = self.model.currentText().strip()
        self.model.clear()
        self.model.addItems(ids)
        self.model.setEditText(current if current in ids or not ids else ids[0])
        text = f"The server answered: {plural(len(ids), 'model')}. Pick one, then Use this server."
        if current and ids and current not in ids:
            text = f"The server has no model '{current}'; it has: {', '.join(ids)}."
        self.say(text, ok=bool(ids))
        self.tested.emit(True, text)

    # -- saving ---------------------------------------------------------------------------------

    def save(self) -> str | None:
        """Save the form; the connection's name, or None (the reason is shown)."""
        try:
            conn = self._form()
            key = self.key.text().strip() or None
            where = self.remotes.save(conn, key)
        except (RemoteError, KeyStoreError) as e:
            self.say(str(e), ok=False)
            return None
        notes = [f"Saved '{conn.name}'."]
        if where == FILE:
            notes.append(
                f"There is no system keyring here: the key is kept in {key_file()}, "
                "readable only by you."
            )
        saved = self.remotes.get(conn.name)
        warning = clear_text_warning(saved)
        if warning:
            notes.append(warning)
        self.reload(select=conn.name)
        self.say(" ".join(notes), ok=warning is None)
        return conn.name

    def remove(self) -> None:
        item = self.list.currentItem()
        name = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        if not name:
            return
        try:
            self.remotes.remove(str(name))
        except (RemoteError, KeyStoreError) as e:
            self.say(str(e), ok=False)
            return
        self.reload()
        self.say(f"Removed '{name}' and its key.", ok=True)

    def use(self) -> None:
        name = self.save()
        if name is None:
            return
        self.chosen = name
        self.accept()

    def done(self, result: int) -> None:
        self._async.wait(1.0)
        super().done(result)


def connect_to_server(parent: QWidget | None = None) -> str | None:
    """Show the dialog (modal); the name of the connection to use, or None."""
    dlg = RemoteDialog(parent)
    try:
        return dlg.chosen if dlg.exec() == QDialog.DialogCode.Accepted else None
    finally:
        dlg.deleteLater()
