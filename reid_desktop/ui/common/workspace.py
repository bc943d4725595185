"""What a screen or an action may use of the main window: the open project, the one job runner,
and ways to tell the user. Passing this instead of the window keeps each testable on its own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtWidgets import QWidget

from reid_desktop.store import Project

from .worker import JobHandle

# run_job(title, factory, on_finished=None, *, modal=True): one long job at a time, off the GUI
# thread, with progress and Cancel; None when another job is running.
JobRunner = Callable[..., JobHandle | None]


@dataclass(frozen=True)
class Workspace:
    parent: QWidget  # for dialogs and message boxes
    project_of: Callable[[], Project | None]
    run_job: JobRunner
    notify: Callable[[str, str], Any]  # (rich text, "info" | "warning" | "error"): the banner
    status: Callable[[str, int], Any]  # (text, milliseconds): the status bar

    @property
    def project(self) -> Project | None:
        return self.project_of()
