"""A full disk: one clear line, exit 1, nothing half-written, and the work resumes once there is
room. Read-only commands keep working on a full disk."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from helpers.onnx_factory import tiny_encoder

from .conftest import noise_crops
from .disk import TinyDisk, tiny_disk, tmpfs_available

KINDS = [
    "rlimit",
    pytest.param("tmpfs", marks=pytest.mark.skipif(not tmpfs_available(), reason="needs root")),
]
N_CROPS = 1200


@pytest.fixture(params=KINDS)
def disk(request, tmp_path: Path):
    with tiny_disk(tmp_path, request.param) as d:
        yield d


@pytest.fixture(scope="module")
def crops(tmp_path_factory) -> Path:
    return noise_crops(tmp_path_factory.mktemp("crops"), N_CROPS // 2, seed=0)


def one_line_error(proc, *needles: str) -> str:
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("reid: error:")]
    assert len(errors) == 1, proc.stderr
    for n in needles:
        assert n in errors[0], errors[0]
    return errors[0]


def integrity(path: Path) -> str:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def count(path: Path, sql: str) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


def files(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file() and not p.name.startswith(".filler") and not p.name.endswith("-shm")
    }


def test_ingest_on_a_full_disk_says_so_and_resumes(disk: TinyDisk, crops: Path):
    project = disk.folder / "p.reidproj"
    disk.fill(room=48 * 1024)
    proc = disk.run(["reid", "ingest", project, crops])
    one_line_error(proc, "disk is full", "p.reidproj")
    disk.free()
    if project.exists():  # either never created, or whole with what was committed
        assert integrity(project) == "ok"
    proc = disk.run(["reid", "ingest", project, crops])
    assert proc.returncode == 0, proc.stderr
    assert count(project, "SELECT count(*) FROM crops") == N_CROPS


def test_creating_a_project_on_a_full_disk_leaves_nothing(disk: TinyDisk, crops: Path):
    disk.fill(room=0)
    proc = disk.run(["reid", "ingest", disk.folder / "new.reidproj", crops / "cam1"])
    one_line_error(proc, "new.reidproj")
    assert files(disk.folder) == {}


def test_embed_on_a_full_disk_says_so_and_resumes(disk: TinyDisk, crops: Path, tmp_path: Path):
    project = disk.folder / "p.reidproj"
    model = tiny_encoder(tmp_path / "enc.onnx")
    assert disk.run(["reid", "ingest", project, crops]).returncode == 0
    reg = disk.run(["reid", "import-model", model, "--out", tmp_path / "enc2.onnx", "--project", project])
    assert reg.returncode == 0, reg.stderr
    disk.fill(room=32 * 1024)
    proc = disk.run(["reid", "embed", project])
    one_line_error(proc, "disk is full")
    disk.free()
    assert integrity(project) == "ok"
    done_before = count(project, "SELECT count(*) FROM embeddings")
    assert done_before < N_CROPS
    proc = disk.run(["reid", "embed", project])
    assert proc.returncode == 0, proc.stderr
    assert count(project, "SELECT count(*) FROM embeddings") == N_CROPS


def test_read_only_commands_work_on_a_full_disk_and_write_nothing(disk: TinyDisk, crops: Path):
    project = disk.folder / "p.reidproj"
    assert disk.run(["reid", "ingest", project, crops / "cam1"]).returncode == 0
    before = files(disk.folder)
    disk.fill(room=0)
    for argv in (["info", project], ["info", project, "--json"], ["skipped", project], ["models", project]):
        proc = disk.run(["reid", *argv])
        assert proc.returncode == 0, (argv, proc.stderr)
        assert "Traceback" not in proc.stderr
    assert f"{N_CROPS // 2} crop" in disk.run(["reid", "info", project]).stdout
    assert files(disk.folder) == before
