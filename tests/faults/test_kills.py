"""SIGKILL at random moments: nothing committed is lost, the project always reopens, and the
interrupted work finishes when run again."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.onnx_factory import tiny_encoder

from reid_desktop.store import Project

from .conftest import noise_crops, trials

BIN = Path(sys.executable).parent
N_CROPS = 600

DECIDER = r"""
import random, sys
from reid_desktop.store import Project
with Project.open(sys.argv[1]) as p:
    ids = [c.id for c in p.crops.all()]
    rnd = random.Random(int(sys.argv[2]))
    while True:
        a, b = rnd.sample(ids, 2)
        d = p.decisions.record(a, b, rnd.choice(["same", "different", "skip"]), operator="k")
        if rnd.random() < 0.2:
            p.decisions.undo(d.id, operator="k")
        print(d.id, flush=True)
"""


def check(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    return conn


@pytest.fixture(scope="module")
def crops(tmp_path_factory) -> Path:
    return noise_crops(tmp_path_factory.mktemp("crops"), N_CROPS // 2, seed=1)


def test_sigkill_while_recording_decisions_loses_nothing(tmp_path: Path):
    path = tmp_path / "p.reidproj"
    with Project.create(path) as p:
        cam = p.cameras.add("c", str(tmp_path), "folders")
        p.crops.insert_many(
            {
                "camera_id": cam.id,
                "rel_path": f"{i}.jpg",
                "sha256": str(i),
                "width": 8,
                "height": 8,
                "size_bytes": 1,
                "mtime_ns": 0,
            }
            for i in range(50)
        )
    rnd = random.Random(7)
    confirmed: list[int] = []
    for trial in range(trials(10)):
        proc = subprocess.Popen(
            [sys.executable, "-c", DECIDER, str(path), str(trial)], stdout=subprocess.PIPE, text=True
        )
        want = rnd.randint(1, 150)
        got = []
        while len(got) < want:
            line = proc.stdout.readline()
            assert line, "the decider died on its own"
            got.append(int(line))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        confirmed += got
        with Project.open(path) as p:  # reopens after every kill
            ids = {d.id for d in p.decisions.history()}
        assert set(confirmed) <= ids, "a committed decision was lost"
    check(path).close()


def _kill_after(cmd: list[str], delay: float) -> int:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    return proc.wait()


def test_sigkill_during_ingest_then_ingest_finishes(tmp_path: Path, crops: Path):
    rnd = random.Random(3)
    for trial in range(trials(4)):
        path = tmp_path / f"p{trial}.reidproj"
        _kill_after([str(BIN / "reid"), "ingest", str(path), str(crops)], rnd.uniform(0.3, 2.5))
        if path.exists():
            check(path).close()
        done = subprocess.run(
            [str(BIN / "reid"), "ingest", str(path), str(crops)], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        conn = check(path)
        assert conn.execute("SELECT count(*) FROM crops").fetchone()[0] == N_CROPS
        conn.close()
    assert not list(tmp_path.glob(".*creating*")), "a killed creation left its temporary file"


def test_sigkill_during_embed_then_embed_resumes(tmp_path: Path, crops: Path):
    path = tmp_path / "p.reidproj"
    reid = str(BIN / "reid")
    assert subprocess.run([reid, "ingest", str(path), str(crops)], capture_output=True).returncode == 0
    model = tiny_encoder(tmp_path / "enc.onnx")
    out = subprocess.run(
        [reid, "import-model", str(model), "--out", str(tmp_path / "e2.onnx"), "--project", str(path)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    rnd = random.Random(5)
    for _ in range(trials(3)):
        _kill_after([reid, "embed", str(path)], rnd.uniform(0.5, 3.0))
        check(path).close()
    done = subprocess.run([reid, "embed", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    conn = check(path)
    assert conn.execute("SELECT count(*) FROM embeddings").fetchone()[0] == N_CROPS
    conn.close()
