"""Guards against a Qt binding that corrupts the interpreter.

PySide6 6.12.0 drops a reference to the bool returned by every Python ``Signal.emit()``; on
Python 3.11 (where True is not immortal) the app aborts with "deallocating True or False" after
~150 emits. pyproject excludes that version; this test fails if it comes back.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    fired = Signal(str)


def test_signal_emit_keeps_bool_refcounts() -> None:
    e = _Emitter()
    got: list[str] = []
    e.fired.connect(got.append)
    before = sys.getrefcount(True), sys.getrefcount(False)
    for _ in range(50):
        e.fired.emit("x")
    after = sys.getrefcount(True), sys.getrefcount(False)
    assert len(got) == 50
    assert abs(after[0] - before[0]) < 5 and abs(after[1] - before[1]) < 5
