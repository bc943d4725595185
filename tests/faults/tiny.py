"""Small data for the fault tests: a labelled crop folder and a `reid-train` subprocess on it, and
"same" links that turn a scanned project's synthetic crops into identities."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from helpers.synth import person_crop

from reid_desktop.store import Project

OP = "fault-tester"


def tiny_data(root: Path, people: int = 6, per_cam: int = 2) -> Path:
    """`people` synthetic people in two cameras, `per_cam` crops each, with ground_truth.csv."""
    rows = ["file,person_id,camera"]
    for cam, seed in (("cam1", 1), ("cam2", 2)):
        (root / cam).mkdir(parents=True, exist_ok=True)
        for p in range(people):
            for v in range(per_cam):
                name = f"{cam}/p{p}_{v}.jpg"
                person_crop(p, v, seed=seed).save(root / name)
                rows.append(f"{name},{p},{cam}")
    (root / "ground_truth.csv").write_text("\n".join(rows) + "\n")
    return root


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
