"""Window shortcuts win over a text box's own chords (on X11 a QLineEdit claims Ctrl+E, so Export
did nothing while the crop filter had focus); editing chords stay with the text box."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import QLineEdit, QMainWindow

from reid_desktop.ui.common.shortcut_keys import WindowShortcutsFirst, give_window_shortcuts_precedence


class GreedyLineEdit(QLineEdit):
    """Claims Ctrl+E and Ctrl+A as the X11 key bindings do (offscreen Qt binds neither)."""

    def event(self, e):
        chord = e.type() == QEvent.ShortcutOverride and e.modifiers() == Qt.ControlModifier
        if chord and e.key() in (Qt.Key_E, Qt.Key_A):
            e.accept()
            return True
        return super().event(e)


def _window(qtbot):
    w = QMainWindow()
    edit = GreedyLineEdit()
    w.setCentralWidget(edit)
    fired = []
    for key in ("Ctrl+E", "Ctrl+A"):
        a = QAction(key, w)
        a.setShortcut(QKeySequence(key))
        a.triggered.connect(lambda _=False, k=key: fired.append(k))
        w.addAction(a)
    qtbot.addWidget(w)
    w.show()
    edit.setFocus()
    qtbot.waitUntil(edit.hasFocus)
    return w, edit, fired


def test_a_window_chord_reaches_the_window_from_a_text_box(qtbot):
    w, edit, fired = _window(qtbot)
    qtbot.keyClick(edit, Qt.Key_E, Qt.ControlModifier)
    assert fired == []  # the text box took it, as on X11
    f = give_window_shortcuts_precedence(w)
    assert isinstance(f, WindowShortcutsFirst) and "Ctrl+E" in f.keys
    qtbot.keyClick(edit, Qt.Key_E, Qt.ControlModifier)
    assert fired == ["Ctrl+E"]
    qtbot.keyClick(edit, Qt.Key_A, Qt.ControlModifier)  # select all: an editing key, kept
    assert fired == ["Ctrl+E"]


def test_the_main_windows_text_boxes_leave_export_to_the_window(qtbot, window):
    f = next(c for c in window.children() if isinstance(c, WindowShortcutsFirst))
    assert "Ctrl+E" in f.keys and "Ctrl+A" not in f.keys
    ev = QKeyEvent(QEvent.ShortcutOverride, Qt.Key_E, Qt.ControlModifier)
    ev.accept()
    assert f.eventFilter(window.browser.filter, ev) and not ev.isAccepted()
