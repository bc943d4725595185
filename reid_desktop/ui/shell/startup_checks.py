"""Checks made once the window is up: is the default encoder that ships with the app usable? A
missing or damaged file (a broken install, a disk error) is said at start, in one message naming
the file, rather than as an empty Review screen later."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from reid_desktop.core.encoders.defaults import default_encoder_problem
from reid_desktop.ui.common.messages import show_error
from reid_desktop.ui.common.worker import JobHandle, prepare_job

TITLE = "The default encoder cannot be used"
ADVICE = (
    "Reinstall reid-desktop, or import an encoder in the Models tab (Import Model…). Projects "
    "that already have an encoder are not affected."
)


def _check(_token):
    return default_encoder_problem()
    yield  # a job generator with nothing to report on the way


def check_default_encoder(window: QWidget) -> JobHandle:
    """Load the default encoder on the thread pool; say what is wrong, if anything."""
    handle = prepare_job("Checking the default encoder", _check, parent=window)

    def report(problem: str | None) -> None:
        if problem:
            show_error(window, TITLE, f"{problem[0].upper()}{problem[1:].rstrip('.')}.\n\n{ADVICE}")

    handle.finished.connect(report)
    handle.failed.connect(lambda msg: show_error(window, TITLE, f"{msg}\n\n{ADVICE}"))
    return handle.start()
