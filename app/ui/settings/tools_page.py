"""Settings → Tools: the python tool (mode for all chats, isolation, limits) and MCP servers
(add a command or a URL, import the ``mcpServers`` JSON of Claude Desktop, Cursor or LM Studio,
test, remove, choose whether each call asks first). Saved to ``config/tools.json`` as it changes
(the file ``hearth tools …`` reads and writes too).
"""

from __future__ import annotations

import shlex
import threading

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.tools.settings import McpServerConfig, ToolSettings, parse_mcp_servers

MODES = {"off": "Off", "ask": "Ask before each run", "auto": "Run automatically"}
ISOLATION = {"sandbox": "Sandbox (recommended)", "none": "No isolation"}


def _combo(options: dict[str, str], current: str) -> QComboBox:
    box = QComboBox()
    for key, label in options.items():
        box.addItem(label, key)
    box.setCurrentIndex(max(0, box.findData(current)))
    return box


def _config_from_line(name: str, line: str) -> McpServerConfig:
    """ "npx -y @modelcontextprotocol/server-filesystem ~/notes" or "https://…/mcp"."""
    line = line.strip()
    if not name.strip():
        raise ValueError("Give the server a name.")
    if line.startswith(("http://", "https://")):
        return McpServerConfig(name=name.strip(), url=line)
    try:
        parts = shlex.split(line)
    except ValueError as exc:
        raise ValueError(f"The command cannot be read: {exc}.") from None
    if not parts:
        raise ValueError("Enter the command that starts the server, or its URL.")
    return McpServerConfig(name=name.strip(), command=parts[0], args=parts[1:])


class _Tester(QObject):
    """Connects to one server off the GUI thread and reports its status."""

    done = Signal(str, str)  # server name, status sentence

    def test(self, config: McpServerConfig) -> None:
        def run() -> None:
            from app.tools.mcp.tool import HUB

            tools, statuses = HUB.tools_for([config])
            count = sum(len(t.functions()) for t in tools)
            status = statuses.get(config.name, "")
            if tools:
                status = f"Connected: {count} tool{'s' if count != 1 else ''}."
            self.done.emit(config.name, status or "No answer from the server.")

        threading.Thread(target=run, name="mcp-test", daemon=True).start()


class AddServerDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add an MCP server")
        form = QFormLayout(self)
        self.name = QLineEdit()
        self.name.setPlaceholderText("notes")
        self.line = QLineEdit()
        self.line.setPlaceholderText("npx -y @modelcontextprotocol/server-filesystem ~/notes")
        self.line.setMinimumWidth(420)
        self.mode = _combo(MODES, "ask")
        self.error = QLabel()
        self.error.setObjectName("toolError")
        self.error.setWordWrap(True)
        form.addRow("Name", self.name)
        form.addRow("Command or URL", self.line)
        form.addRow("Calls", self.mode)
        form.addRow(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.config: McpServerConfig | None = None

    def _accept(self) -> None:
        try:
            config = _config_from_line(self.name.text(), self.line.text())
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        config.mode = self.mode.currentData()
        self.config = config
        self.accept()


class ToolsPage(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = ToolSettings.load()
        lay = QVBoxLayout(self)
        lay.addWidget(self._python_box())
        lay.addWidget(self._servers_box())
        lay.addStretch(1)
        self._tester = _Tester()
        self._tester.done.connect(self._tested)
        self.statuses: dict[str, str] = {}
        self._fill_servers()

    # -- python ----------------------------------------------------------------------------------

    def _python_box(self) -> QGroupBox:
        from app.tools.python.tool import PythonTool

        py = self.settings.python
        box = QGroupBox("Python")
        form = QFormLayout(box)
        self.python_mode = _combo(MODES, py.mode)
        self.python_mode.setToolTip("For all chats; Chat settings can choose for one chat")
        self.isolation = _combo(ISOLATION, py.isolation)
        self.timeout = QSpinBox()
        self.timeout.setRange(5, 3600)
        self.timeout.setSuffix(" s")
        self.timeout.setValue(int(py.limits.timeout_s))
        self.memory = QSpinBox()
        self.memory.setRange(128, 262144)
        self.memory.setSingleStep(256)
        self.memory.setSuffix(" MB")
        self.memory.setValue(int(py.limits.memory_mb))
        self.processes = QSpinBox()
        self.processes.setRange(4, 4096)
        self.processes.setValue(int(py.limits.max_processes))
        self.sandbox_status = QLabel(PythonTool(py).status().message)
        self.sandbox_status.setWordWrap(True)
        self.sandbox_status.setObjectName("statusNote")
        form.addRow("Runs", self.python_mode)
        form.addRow("Isolation", self.isolation)
        form.addRow(self.sandbox_status)
        form.addRow("Time per run", self.timeout)
        form.addRow("Memory", self.memory)
        form.addRow("Processes", self.processes)
        for w in (self.python_mode, self.isolation):
            w.currentIndexChanged.connect(self._save_python)
        for s in (self.timeout, self.memory, self.processes):
            s.valueChanged.connect(self._save_python)
        return box

    def _save_python(self, *_: object) -> None:
        from app.tools.python.tool import PythonTool

        py = self.settings.python
        py.mode = self.python_mode.currentData()
        py.isolation = self.isolation.currentData()
        py.limits.timeout_s = float(self.timeout.value())
        py.limits.memory_mb = self.memory.value()
        py.limits.max_processes = self.processes.value()
        self.sandbox_status.setText(PythonTool(py).status().message)
        self._save()

    # -- MCP servers -----------------------------------------------------------------------------

    def _servers_box(self) -> QGroupBox:
        box = QGroupBox("MCP servers")
        lay = QVBoxLayout(box)
        note = QLabel(
            "Tools from MCP servers become functions gpt-oss can call, under the same "
            "consent and limits as Python. A server runs with your rights."
        )
        note.setWordWrap(True)
        note.setObjectName("statusNote")
        lay.addWidget(note)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Name", "Command or URL", "Calls", "Status"])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._selection)
        lay.addWidget(self.table)
        row = QHBoxLayout()
        self.add_button = QPushButton("Add…")
        self.import_button = QPushButton("Import JSON…")
        self.import_button.setToolTip(
            "The mcpServers file of Claude Desktop, Cursor or LM Studio (or paste it)"
        )
        self.test_button = QPushButton("Test")
        self.remove_button = QPushButton("Remove")
        self.add_button.clicked.connect(self.add_server)
        self.import_button.clicked.connect(self.import_json)
        self.test_button.clicked.connect(self.test_selected)
        self.remove_button.clicked.connect(self.remove_selected)
        for b in (self.add_button, self.import_button):
            row.addWidget(b)
        row.addStretch(1)
        for b in (self.test_button, self.remove_button):
            row.addWidget(b)
        lay.addLayout(row)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setObjectName("statusNote")
        lay.addWidget(self.message)
        return box

    def _fill_servers(self) -> None:
        self.table.setRowCount(0)
        for name, config in sorted(self.settings.servers.items()):
            r = self.table.rowCount()
            self.table.insertRow(r)
            target = config.url or shlex.join([config.command, *config.args])
            for c, text in enumerate((name, target)):
                item = QTableWidgetItem(text)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                item.setToolTip(text)
                self.table.setItem(r, c, item)
            mode = _combo(MODES, "off" if config.disabled else config.mode)
            mode.currentIndexChanged.connect(lambda _i, n=name, m=mode: self._set_mode(n, m))
            self.table.setCellWidget(r, 2, mode)
            status = QTableWidgetItem(self.statuses.get(name, "Not tested"))
            status.setFlags(status.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.table.setItem(r, 3, status)
        self.table.resizeColumnToContents(0)
        self.table.resizeColumnToContents(2)
        self._selection()

    def _selection(self) -> None:
        chosen = self.selected() is not None
        self.test_button.setEnabled(chosen)
        self.remove_button.setEnabled(chosen)

    def selected(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        item = self.table.item(rows[0].row(), 0)
        return item.text() if item is not None else None

    def _set_mode(self, name: str, box: QComboBox) -> None:
        config = self.settings.servers.get(name)
        if config is None:
            return
        mode = box.currentData()
        config.disabled = mode == "off"
        if mode != "off":
            config.mode = mode
        self._save()

    def add_server(self) -> None:
        dialog = AddServerDialog(self)
        if dialog.exec() and dialog.config is not None:
            self._add([dialog.config])

    def import_json(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import MCP servers", "", "JSON (*.json);;All files (*)"
        )
        if path:
            try:
                with open(path, encoding="utf-8") as f:
                    self.import_text(f.read())
            except OSError as exc:
                self.message.setText(f"Could not read {path}: {exc.strerror}.")

    def import_text(self, text: str) -> int:
        """Add the servers of an ``mcpServers`` JSON; says what was added or what is wrong."""
        try:
            servers = parse_mcp_servers(text)
        except ValueError as exc:
            self.message.setText(f"Nothing imported: {exc}")
            return 0
        self._add(list(servers.values()))
        return len(servers)

    def _add(self, configs: list[McpServerConfig]) -> None:
        replaced = [c.name for c in configs if c.name in self.settings.servers]
        for c in configs:
            self.settings.servers[c.name] = c
        if self._save():
            names = ", ".join(c.name for c in configs)
            text = f"Added {names}."
            if replaced:
                text += f" Replaced the earlier {', '.join(replaced)}."
            self.message.setText(text + " New servers ask before each call.")
        self._fill_servers()

    def remove_selected(self) -> None:
        name = self.selected()
        if name is None:
            return
        self.settings.servers.pop(name, None)
        self.statuses.pop(name, None)
        from app.tools.mcp.tool import HUB

        HUB.close(name)
        if self._save():
            self.message.setText(f"Removed {name}.")
        self._fill_servers()

    def test_selected(self) -> None:
        name = self.selected()
        config = self.settings.servers.get(name or "")
        if config is None:
            return
        self.statuses[config.name] = "Connecting…"
        self._fill_servers()
        self._tester.test(config)

    def _tested(self, name: str, status: str) -> None:
        self.statuses[name] = status
        self._fill_servers()

    def _save(self) -> bool:
        try:
            self.settings.save()
        except OSError as exc:
            self.message.setText(f"Could not save the tool settings: {exc.strerror}.")
            return False
        return True
