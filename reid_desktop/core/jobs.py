"""The contract for long work: a generator that yields Progress and honours a CancelToken.

A job is `def job(..., cancel: CancelToken) -> Generator[Progress, None, R]`; its result is the
generator's return value. Runners (CLI, Qt adapter, tests) drive it with `run_job`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TypeVar

from reid_desktop.store import Project

R = TypeVar("R")


class Cancelled(Exception):
    """Raised inside a job when its token is cancelled; work done so far is kept."""


class CancelToken:
    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled()


@dataclass(frozen=True)
class Progress:
    done: int
    total: int | None  # None while the total is still unknown (e.g. listing files)
    message: str = ""

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return min(1.0, self.done / self.total)


Job = Generator[Progress, None, R]


def run_job(job: Job[R], on_progress: Callable[[Progress], None] | None = None) -> R:
    """Drive a job to completion and return its result (Cancelled propagates)."""
    try:
        while True:
            p = next(job)
            if on_progress is not None:
                on_progress(p)
    except StopIteration as stop:
        return stop.value


def project_job(
    path: str | os.PathLike[str], work: Callable[[Project], Job[R]], *, read_only: bool = False
) -> Job[R]:
    """Run `work` on its own connection to the project (a background thread must not share the
    window's), closing it however the job ends."""
    project = Project.open(path, read_only=read_only)
    try:
        return (yield from work(project))
    finally:
        project.close()
