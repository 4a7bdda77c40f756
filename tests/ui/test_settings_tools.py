"""Settings → Tools: the python tool's settings and MCP servers, saved to the tools file that
`hearth tools` reads too; a real stdio MCP server imported from an mcpServers JSON and tested."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from app.tools.settings import ToolSettings
from app.ui.settings.dialog import SettingsDialog
from app.ui.settings.tools_page import ToolsPage

DEMO = Path(__file__).resolve().parents[1] / "tools" / "servers" / "demo_mcp.py"


def _page(qtbot) -> ToolsPage:  # type: ignore[no-untyped-def]
    dialog = SettingsDialog(page="Tools")
    qtbot.addWidget(dialog)
    page = dialog.page("Tools")
    assert isinstance(page, ToolsPage)
    page.dialog = dialog  # type: ignore[attr-defined]  # the page lives as long as its dialog
    return page


def test_python_settings_are_saved_as_they_change(qtbot) -> None:  # type: ignore[no-untyped-def]
    page = _page(qtbot)
    assert page.python_mode.currentData() == "off"  # off until the user turns it on
    page.python_mode.setCurrentIndex(page.python_mode.findData("ask"))
    page.timeout.setValue(30)
    saved = ToolSettings.load()
    assert saved.python.mode == "ask" and saved.python.limits.timeout_s == 30.0
    page.isolation.setCurrentIndex(page.isolation.findData("none"))
    assert "WITHOUT isolation" in page.sandbox_status.text()


def test_import_test_and_remove_an_mcp_server(qtbot) -> None:  # type: ignore[no-untyped-def]
    page = _page(qtbot)
    text = json.dumps(
        {"mcpServers": {"demo": {"command": sys.executable, "args": [str(DEMO), "stdio"]}}}
    )
    assert page.import_text(text) == 1
    assert "Added demo." in page.message.text()
    assert ToolSettings.load().servers["demo"].mode == "ask"  # each call asks first
    page.table.selectRow(0)
    assert page.test_button.isEnabled()
    page.test_selected()
    qtbot.waitUntil(lambda: page.statuses.get("demo", "").startswith("Connected"), timeout=60_000)
    status = page.table.item(0, 3)
    assert status is not None and status.text().startswith("Connected:")
    page.table.selectRow(0)
    page.remove_selected()
    assert "demo" not in ToolSettings.load().servers and page.table.rowCount() == 0


def test_bad_json_imports_nothing_and_says_why(qtbot) -> None:  # type: ignore[no-untyped-def]
    page = _page(qtbot)
    assert page.import_text("{not json") == 0
    assert page.message.text().startswith("Nothing imported: Not JSON")
    assert page.import_text('{"servers": 3}') == 0
    assert "mcpServers" in page.message.text()
    assert ToolSettings.load().servers == {}
