"""Non-blocking message boxes: errors are explained in one line, never shown as tracebacks."""

from __future__ import annotations

import functools
import logging
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from reid_desktop.store import ProjectError
from reid_desktop.store.project import translate

log = logging.getLogger(__name__)


def show_error(parent: QWidget | None, title: str, text: str, details: str = "") -> QMessageBox:
    box = QMessageBox(QMessageBox.Critical, title, text, QMessageBox.Ok, parent)
    box.setObjectName("errorBox")
    if details:
        box.setDetailedText(details)
    box.setAttribute(Qt.WA_DeleteOnClose)
    box.open()  # window-modal but does not block the event loop
    return box


def error_text(exc: BaseException, project: Path | None = None) -> str:
    """The one line a user sees for a failure (the log keeps the traceback)."""
    if isinstance(exc, sqlite3.Error):
        translated = translate(exc, project or Path("the project"))
        if translated is not None:
            return str(translated)
        return f"The project could not be read or written: {exc}."
    if isinstance(exc, ProjectError | ValueError):
        return str(exc)
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror or exc}{where}."
    return f"Unexpected {type(exc).__name__}: {exc}"


def guarded(parent_of: Callable[[], QWidget | None], title: str, slot: Callable[..., Any]):
    """Wrap a slot so that a failure shows its one-line reason instead of vanishing into the log."""

    @functools.wraps(slot)
    def run(*args: Any) -> Any:
        try:
            return slot(*args)
        except Exception as exc:
            log.exception("%s failed", title)
            parent = parent_of()
            project = getattr(getattr(parent, "project", None), "path", None)
            show_error(parent, f"{title} failed", error_text(exc, project))
            return None

    return run


def install_excepthook() -> None:
    """Last net for slots that are not guarded: log the traceback, show one line."""

    def hook(kind, exc, tb) -> None:
        log.error("unhandled error", exc_info=(kind, exc, tb))
        if not isinstance(exc, Exception):
            return
        window = QApplication.activeWindow()
        show_error(window, "Something went wrong", error_text(exc))

    sys.excepthook = hook
