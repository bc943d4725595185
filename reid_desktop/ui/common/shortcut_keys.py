"""Text boxes that do not swallow the window's own shortcuts.

On X11 a QLineEdit claims Ctrl+E (end of line, an Emacs key) before the window sees it, so Export
did nothing while the crop filter had focus. Ctrl chords that the window uses and that are not
text-editing keys (copy, paste, undo, select all…) go to the window instead; the End key still
moves to the end of the line."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import QLineEdit, QWidget

EDITING_KEYS = (
    QKeySequence.Copy,
    QKeySequence.Cut,
    QKeySequence.Paste,
    QKeySequence.Undo,
    QKeySequence.Redo,
    QKeySequence.SelectAll,
)


def editing_chords() -> set[str]:
    """The platform's text-editing chords (needs the Qt application: key bindings come from the
    platform theme)."""
    return {QKeySequence(k).toString() for std in EDITING_KEYS for k in QKeySequence.keyBindings(std)}


class WindowShortcutsFirst(QObject):
    """An event filter for text boxes: the given chords are left to the window's actions."""

    def __init__(self, keys: Iterable[QKeySequence], parent: QObject | None = None) -> None:
        super().__init__(parent)
        editing = editing_chords()
        self.keys = {k.toString() for k in keys if k.toString() and k.toString() not in editing}

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            event.type() == QEvent.ShortcutOverride
            and isinstance(event, QKeyEvent)
            and QKeySequence(event.keyCombination()).toString() in self.keys
        ):
            event.ignore()  # not an override: the shortcut fires
            return True
        return super().eventFilter(watched, event)


def give_window_shortcuts_precedence(window: QWidget) -> WindowShortcutsFirst:
    """Install the filter on every text box of the window, for its actions' Ctrl/Alt chords."""
    keys = [
        k
        for a in window.findChildren(QAction)
        for k in a.shortcuts()
        if k.count() == 1 and k[0].keyboardModifiers() & (Qt.ControlModifier | Qt.AltModifier)
    ]
    f = WindowShortcutsFirst(keys, window)
    for edit in window.findChildren(QLineEdit):
        edit.installEventFilter(f)
    return f
