"""reid-train killed with SIGKILL: --out is absent or complete, and the temp folder a killed run
leaves beside --out is removed by the next run, never while its run is alive."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trainer.workdir import Workdir, clean_stale

from .tiny import kill_group, start_training, tiny_data

OUTPUTS = ["checkpoint.pt", "encoder.onnx", "holdout.csv", "metrics.json"]
posix_only = pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs POSIX signals")


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return tiny_data(tmp_path_factory.mktemp("kill") / "data")


def hidden(parent: Path) -> list[Path]:
    return sorted(p for p in parent.iterdir() if p.name.startswith("."))


def wait_for(cond, proc: subprocess.Popen, what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert proc.poll() is None, f"the run ended before {what}"
        assert time.monotonic() < deadline, f"no {what} after {timeout} s"
        time.sleep(0.02)


def assert_absent_or_complete(out: Path, note: str) -> bool:
    if not out.exists():
        return False
    assert sorted(p.name for p in out.iterdir()) == OUTPUTS, note
    json.loads((out / "metrics.json").read_text())  # whole, not truncated
    assert (out / "holdout.csv").read_text().startswith("file,person_id,camera"), note
    return True


@posix_only
def test_killed_run_leaves_a_temp_folder_that_the_next_run_removes(data, tmp_path):
    parent = tmp_path / "runs"
    parent.mkdir()
    out = parent / "out"
    proc = start_training(data, out, 50, tmp_path / "kill.log")
    try:
        wait_for(lambda: hidden(parent), proc, "temp folder")
    finally:
        kill_group(proc)
    stale = hidden(parent)
    assert not out.exists() and len(stale) == 1 and stale[0].name.startswith(".out.")

    again = subprocess.run(
        [sys.executable, "-m", "trainer.cli", "--data", str(data), "--init", "bignet", "--epochs", "1"]
        + ["--holdout-frac", "0.4", "--out", str(parent / "out2")],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert again.returncode == 0, again.stderr[-2000:]
    assert assert_absent_or_complete(parent / "out2", "second run")
    assert hidden(parent) == []  # the killed run's folder is gone, and so is the second run's


@posix_only
def test_a_live_runs_folder_is_never_removed(tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from trainer.workdir import "
            "Workdir; w = Workdir.create(Path(sys.argv[1])); print(w.path, flush=True); time.sleep(120)",
            str(tmp_path / "out"),
        ],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        live = Path(holder.stdout.readline().strip())
        mine = Workdir.create(tmp_path / "mine")  # this process: alive too
        legacy = tmp_path / ".out.k3j4x1z_"  # a folder from before this scheme: whose? unknown
        legacy.mkdir()
        user = tmp_path / ".out.reid-train-notes"
        user.mkdir()
        assert clean_stale(tmp_path) == []
        assert live.is_dir() and mine.path.is_dir() and legacy.is_dir() and user.is_dir()
    finally:
        kill_group(holder)
    assert clean_stale(tmp_path) == [live]  # its run is dead now
    assert not live.exists() and mine.path.is_dir() and legacy.is_dir() and user.is_dir()
    mine.discard()
    assert not mine.path.exists()


@posix_only
def test_random_kills_leave_no_partial_out(data, tmp_path, fault_trials):
    """Measured this week, kept: SIGKILL at a random moment of a short run, `trials(5)` times."""
    seed = int(os.environ.get("REID_FAULT_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    parent = tmp_path / "runs"
    parent.mkdir()
    complete = 0
    n = fault_trials(5)
    for i in range(n):
        out = parent / f"out{i}"
        proc = start_training(data, out, 2, tmp_path / f"run{i}.log")
        delay = rng.uniform(0.0, 3.0)
        try:
            line = proc.stdout.readline()
            if '"plan"' in line:  # the plan comes first, then "start": imports done, run under way
                line = proc.stdout.readline()
            assert '"start"' in line, (tmp_path / f"run{i}.log").read_text()[-2000:]
            time.sleep(delay)
        finally:
            kill_group(proc)
        note = f"trial {i}, seed {seed}, killed {delay:.2f} s after start"
        complete += assert_absent_or_complete(out, note)
    # What the kills left is at most one temp folder each, all removable now that the runs are dead.
    removed = clean_stale(parent)
    assert hidden(parent) == [], f"seed {seed}"
    assert len(removed) + complete <= n
