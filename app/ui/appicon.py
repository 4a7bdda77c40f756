"""Hearth's application icon for Qt: window icon, taskbar, About dialog."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication, QIcon

from app.resources import resources_dir

# Pre-rendered sizes (packaging/make_icons.py); Qt picks the nearest for each use.
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
DESKTOP_FILE_NAME = "hearth"  # resources/hearth.desktop without the extension


def app_icon() -> QIcon:
    """The Hearth icon with every pre-rendered size; empty QIcon if resources are missing."""
    icon = QIcon()
    try:
        folder = resources_dir() / "icons"
    except FileNotFoundError:
        return icon  # a window without an icon beats an app that will not start
    for size in ICON_SIZES:
        path = folder / f"hearth-{size}.png"
        if path.is_file():
            icon.addFile(str(path))
    if icon.isNull() and (folder / "hearth.svg").is_file():
        icon.addFile(str(folder / "hearth.svg"))
    return icon


def apply_app_identity(app: QGuiApplication) -> None:
    """Give the running app its icon, and tie its windows to hearth.desktop.

    The desktop file name is what Wayland compositors and GNOME use to find the icon and to group
    windows under the launcher entry; on X11 the window icon set here is used.
    """
    app.setWindowIcon(app_icon())
    app.setDesktopFileName(DESKTOP_FILE_NAME)
