"""Errors never vanish in the window: a failed job or action shows its one-line reason, and a
project that fails to read can still be closed."""

from __future__ import annotations

import sqlite3

from PySide6.QtWidgets import QMessageBox


def error_boxes(window) -> list[str]:
    return [b.text() for b in window.findChildren(QMessageBox, "errorBox") if b.isVisible()]


def test_failing_refresh_after_a_job_keeps_close_enabled_and_says_why(qtbot, window, tmp_path, two_cameras):
    assert window.create_project(tmp_path / "p")

    real = window.browser.refresh

    def broken() -> None:
        if window.browser._project is not None:
            raise sqlite3.DatabaseError("database disk image is malformed")
        real()

    window.browser.refresh = broken
    window.add_folders([str(f) for f in two_cameras])
    qtbot.waitUntil(lambda: window.job is None, timeout=30_000)
    qtbot.waitUntil(lambda: bool(error_boxes(window)), timeout=5_000)
    assert any("damaged" in t for t in error_boxes(window)), error_boxes(window)
    assert window.act_close.isEnabled()
    window.act_close.trigger()
    assert window.project is None


def test_menu_action_on_a_damaged_project_shows_one_line(qtbot, window, tmp_path, two_cameras, monkeypatch):
    assert window.create_project(tmp_path / "p")

    def damaged(*_a, **_k):
        raise sqlite3.DatabaseError("database disk image is malformed")

    monkeypatch.setattr("reid_desktop.ui.export.dialog.ExportDialog.__init__", damaged)
    window.act_export.trigger()  # Ctrl+E did nothing before: the traceback went to the log
    texts = error_boxes(window)
    assert len(texts) == 1 and "damaged" in texts[0] and "Traceback" not in texts[0]
    assert window.act_close.isEnabled()
