"""The one adapter between Qt and long work: runs a job generator on the thread pool.

The job factory receives the CancelToken and is called on the worker thread, so it can open its
own database connection there (sqlite connections stay on the thread that made them).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from reid_desktop.core.jobs import Cancelled, CancelToken, Job, Progress

log = logging.getLogger(__name__)
PROGRESS_INTERVAL_S = 0.05  # at most ~20 progress signals a second reach the GUI


class JobHandle(QObject):
    """Signals of one running job; keep a reference while it runs."""

    progress = Signal(object)  # Progress
    finished = Signal(object)  # the job's return value
    failed = Signal(str)  # a message for the user
    cancelled = Signal()
    done = Signal()  # after any of finished / failed / cancelled

    def __init__(
        self, name: str, factory: Callable[[CancelToken], Job[Any]], parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.name = name
        self.factory = factory
        self.token = CancelToken()
        self.running = False

    def start(self, pool: QThreadPool | None = None) -> JobHandle:
        """Start on the pool. Connect to the signals first: a quick job may finish at once."""
        self.running = True
        (pool or QThreadPool.globalInstance()).start(_Runnable(self, self.factory))
        return self

    def cancel(self) -> None:
        self.token.cancel()


class _Runnable(QRunnable):
    def __init__(self, handle: JobHandle, factory: Callable[[CancelToken], Job[Any]]) -> None:
        super().__init__()
        self.handle = handle
        self.factory = factory
        self.setAutoDelete(True)

    def _emit(self, signal_name: str, *args: Any) -> bool:
        """Emit unless the handle was deleted (window closed): then the job should stop."""
        if not shiboken6.isValid(self.handle):
            self.handle_token.cancel()
            return False
        getattr(self.handle, signal_name).emit(*args)
        return True

    def run(self) -> None:
        h = self.handle
        self.handle_token = h.token
        last = 0.0
        outcome: tuple[str, tuple[Any, ...]]
        try:
            job = self.factory(h.token)
            while True:
                try:
                    p = next(job)
                except StopIteration as stop:
                    outcome = ("finished", (stop.value,))
                    break
                now = time.monotonic()
                if isinstance(p, Progress) and (now - last >= PROGRESS_INTERVAL_S or p.done == p.total):
                    last = now
                    if not self._emit("progress", p):
                        job.close()  # runs the job's finally blocks (closes its connection)
                        return
        except Cancelled:
            outcome = ("cancelled", ())
        except Exception as exc:  # shown to the user; the log keeps the traceback
            log.exception("job %s failed", h.name)
            outcome = ("failed", (str(exc) or type(exc).__name__,))
        if shiboken6.isValid(h):
            h.running = False
        if self._emit(outcome[0], *outcome[1]):
            self._emit("done")


def prepare_job(
    name: str, factory: Callable[[CancelToken], Job[Any]], parent: QObject | None = None
) -> JobHandle:
    """A job handle to connect to, then `.start()`."""
    return JobHandle(name, factory, parent)
