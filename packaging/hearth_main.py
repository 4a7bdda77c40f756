"""Entry point of the frozen Hearth bundle (PyInstaller analyses this file).

One executable serves the desktop app (no arguments), every CLI command, and the engine host
(``hearth engine-host``, started by the app itself: a frozen bundle has no ``python -m``).
"""

import multiprocessing
import sys

from app.cli import main

if __name__ == "__main__":
    # A frozen child started by multiprocessing must not run the app again.
    multiprocessing.freeze_support()
    sys.exit(main())
