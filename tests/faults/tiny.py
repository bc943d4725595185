"""Small data for the fault tests: a labelled crop folder and a `reid-train` subprocess on it, and
"same" links that turn a scanned project's synthetic crops into identities."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from helpers.synth import labelled_folder

from reid_desktop.store import Project

OP = "fault-tester"


def tiny_data(root: Path, people: int = 6, per_cam: int = 2) -> Path:
    """`people` synthetic people in two cameras, `per_cam` crops each, with ground_truth.csv."""
    return labelled_folder(root, people, per_cam)


def start_training(data: Path, out: Path, epochs: int, log: Path) -> subprocess.Popen:
    """A real `reid-train` run (bignet, tiny) in its own process group; stdout is a pipe of events."""
    with log.open("wb") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "trainer.cli", "--data", str(data), "--init", "bignet"]
            + ["--epochs", str(epochs), "--holdout-frac", "0.4", "--out", str(out)],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
            start_new_session=True,
        )


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the run's own process group (it was started in a new session), then reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    if proc.stdout is not None:
        proc.stdout.close()


def link_identities(project: Project) -> None:
    """One "same" chain per person over all its crops (file names start with pNNN_)."""
    by_person: dict[str, list[int]] = {}
    for c in sorted(project.crops.all(), key=lambda c: c.id):
        by_person.setdefault(Path(c.rel_path).name.split("_")[0], []).append(c.id)
    for ids in by_person.values():
        for a, b in zip(ids, ids[1:], strict=False):
            project.decisions.record(a, b, "same", operator=OP)
