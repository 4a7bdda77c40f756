"""Entry point of the frozen Hearth bundle (PyInstaller analyses this file).

One executable serves the desktop app (no arguments), every CLI command, and the engine host
(``hearth engine-host``, started by the app itself: a frozen bundle has no ``python -m``).
"""

import multiprocessing
import os
import sys
from collections.abc import MutableMapping


def restore_system_environment(environ: MutableMapping[str, str], bundle_dir: str) -> None:
    """Keep the bundle's private library and Qt paths out of the programs Hearth starts.

    On Linux the bootloader points LD_LIBRARY_PATH at the bundle, and PyInstaller's PySide6 hook
    sets QT_PLUGIN_PATH and QML2_IMPORT_PATH to the bundled Qt. This process no longer needs them
    (the loader read LD_LIBRARY_PATH when the process started; PySide6 finds its plugins through
    its own qt.conf), but everything it starts inherits them: the browser or file manager that
    opens a link, which would then load the bundle's libstdc++, glib or Qt plugins and crash
    ("symbol lookup error"). The bootloader's private ``_PYI_*`` markers go too, so that
    Hearth's own engine host (this executable again, ``hearth engine-host``) starts as a fresh
    instance whose bootloader sets its library path itself, instead of taking itself for a
    child that inherits one.
    """
    for name in [n for n in environ if n.startswith("_PYI_") or n == "_MEIPASS2"]:
        del environ[name]
    original = environ.pop("LD_LIBRARY_PATH_ORIG", None)  # saved by the bootloader, if any
    if original is not None:
        environ["LD_LIBRARY_PATH"] = original
    elif environ.get("LD_LIBRARY_PATH", "").split(os.pathsep)[0] == bundle_dir:
        del environ["LD_LIBRARY_PATH"]
    for name in ("QT_PLUGIN_PATH", "QML2_IMPORT_PATH"):
        if environ.get(name, "").startswith(bundle_dir):
            del environ[name]


if __name__ == "__main__":
    # A frozen child started by multiprocessing must not run the app again.
    multiprocessing.freeze_support()
    if sys.platform.startswith("linux") and getattr(sys, "_MEIPASS", None):
        restore_system_environment(os.environ, sys._MEIPASS)

    if sys.argv[1:2] == ["python-kernel"]:
        # The python tool's kernel, inside its sandbox: straight to the launcher, without
        # loading every CLI command first (a kernel starts on the model's first call).
        from app.tools.python.launcher import main as kernel_main

        sys.exit(kernel_main(sys.argv[2:]))

    from app.cli import main

    sys.exit(main())
