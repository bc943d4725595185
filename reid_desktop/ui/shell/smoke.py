"""`reid-desktop --smoke-test [PROJECT]`: start as an operator would, open the project on the
Review tab, wait until Review shows a pair (or says why it cannot), then quit.

It prints JSON lines on stdout: {"event": "window", "seconds": …} on the first turn of the event
loop after the window is shown (seconds since main() began; `make package-test` times the whole
start from outside), then {"event": "done", "tab": …, "review": "pair" | the empty screen's text,
"messages": [every message box still open], "trainer": the command Fine-tune would start,
"seconds": …}. Exit status 0 when the window came up and the app quit by itself, 2 when Review did
not settle within the timeout. What it saw is for the caller to judge."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from reid_desktop.core.training.launcher import trainer_command
from reid_desktop.ui.common.worker import JobHandle

log = logging.getLogger(__name__)
POLL_MS = 100


def _say(event: dict) -> None:
    if sys.stdout is not None:  # a windowed program on Windows has no stdout
        print(json.dumps(event), flush=True)


def _plain(text: str) -> str:
    return re.sub(r"<[^>]+>", "", text).strip()


class SmokeTest(QObject):
    def __init__(
        self, window, project: Path | None, timeout_s: float, checks: list[JobHandle], t0: float
    ) -> None:
        """t0: time.monotonic() when the program's main() began."""
        super().__init__(window)
        self.window = window
        self.project = project
        self.timeout_s = timeout_s
        self.checks = checks
        self.t0 = t0
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self._poll)

    def start(self) -> None:
        QTimer.singleShot(0, self._shown)

    def _shown(self) -> None:
        _say({"event": "window", "seconds": round(time.monotonic() - self.t0, 3)})
        if self.project is not None and self.window.project is not None:
            self.window.show_tab("Review")
        self.timer.start()

    def review_state(self) -> str | None:
        """ "pair", the text Review shows instead of a pair, or None while work is still running."""
        w = self.window
        if any(c.running for c in self.checks) or w.job is not None:
            return None
        if w.review.session is not None:
            return "pair"
        return _plain(w.review.empty.text())

    def _poll(self) -> None:
        state = self.review_state()
        timed_out = time.monotonic() - self.t0 > self.timeout_s
        if state is None and not timed_out:
            return
        self.timer.stop()
        boxes = [b for b in QApplication.topLevelWidgets() if isinstance(b, QMessageBox) and b.isVisible()]
        _say(
            {
                "event": "done",
                "tab": self.window.tabs.tabText(self.window.tabs.currentIndex())
                if self.window.project is not None
                else "start page",
                "review": state if state is not None else "timed out",
                "messages": [_plain(f"{b.windowTitle()}: {b.text()}") for b in boxes],
                "trainer": trainer_command(),  # what Fine-tune would start
                "seconds": round(time.monotonic() - self.t0, 3),
            }
        )
        for b in boxes:
            b.close()
        self.window.close()  # closes the project as quitting from the menu would
        QApplication.exit(2 if state is None else 0)
