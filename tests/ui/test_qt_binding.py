"""Guards against a Qt binding that corrupts reference counts when signals are emitted."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    text = Signal(str)


def test_emitting_signals_keeps_bool_refcounts(qapp):
    e = _Emitter()
    e.text.connect(lambda _s: None)
    before = sys.getrefcount(True), sys.getrefcount(False)
    for _ in range(300):
        e.text.emit("x")
    after = sys.getrefcount(True), sys.getrefcount(False)
    # Immortal bools (Python 3.12+) report huge constant counts; 3.11 must not drift downwards.
    assert after[0] >= before[0] - 5 and after[1] >= before[1] - 5
