"""Refusing a file changes nothing in it, its -wal or -shm; opening an up-to-date project writes
nothing; the schema version is PRAGMA user_version, checked with the applied migration names."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path

import pytest

from reid_desktop.store import SCHEMA_VERSION, Project, SchemaTooNewError


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def crashed_copy_with_newer_version_in_wal(tmp_path: Path) -> Path:
    """A project whose newer user_version sits only in its WAL (the writer died before any
    checkpoint): copy the files while the writer still holds them."""
    src = tmp_path / "live" / "p.reidproj"
    src.parent.mkdir()
    Project.create(src).close()
    conn = sqlite3.connect(src, isolation_level=None)
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 3}")
    conn.execute("INSERT INTO meta (key, value) VALUES ('from', 'the future')")
    dst = tmp_path / "copy" / "p.reidproj"
    dst.parent.mkdir()
    shutil.copy(src, dst)
    shutil.copy(src.with_name("p.reidproj-wal"), dst.with_name("p.reidproj-wal"))
    conn.close()
    return dst


@pytest.mark.parametrize("read_only", [False, True])
def test_newer_version_only_in_wal_is_refused_unchanged(tmp_path: Path, read_only: bool):
    path = crashed_copy_with_newer_version_in_wal(tmp_path)
    wal = path.with_name("p.reidproj-wal")
    before = (digest(path), digest(wal))
    with pytest.raises(SchemaTooNewError, match="left unchanged"):
        Project.open(path, read_only=read_only)
    assert wal.exists(), "the WAL was checkpointed and removed"
    assert (digest(path), digest(wal)) == before


def test_unknown_migration_is_refused(tmp_path: Path):
    path = tmp_path / "p.reidproj"
    Project.create(path).close()
    conn = sqlite3.connect(path)
    conn.execute(
        "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
        "VALUES ('reid_desktop', 'm099_from_a_branch', 'x')"
    )
    conn.commit()
    conn.close()
    before = digest(path)
    with pytest.raises(SchemaTooNewError, match="m099_from_a_branch"):
        Project.open(path)
    assert digest(path) == before


def test_opening_an_up_to_date_project_writes_nothing(tmp_path: Path):
    path = tmp_path / "p.reidproj"
    with Project.create(path) as p:
        p.meta.set("k", "v")
    assert not path.with_name("p.reidproj-wal").exists()
    before = digest(path)
    for read_only in (False, True):
        with Project.open(path, read_only=read_only) as p:
            assert p.meta.get("k") == "v"
        assert digest(path) == before


def test_read_only_project_refuses_writes(tmp_path: Path):
    path = tmp_path / "p.reidproj"
    Project.create(path).close()
    with Project.open(path, read_only=True) as p, pytest.raises(Exception, match="read-only"):
        p.meta.set("k", "v")
    with Project.open(path) as p:
        assert p.meta.get("k") is None


def test_zero_byte_project_left_by_a_killed_creation_is_initialised_by_ingest(tmp_path: Path, capsys):
    """Issue 8 item 1: a 0-byte NEW.reidproj made every later `reid ingest` fail."""
    from helpers.synth import make_camera_folder

    from reid_desktop.cli import main

    cam = make_camera_folder(tmp_path / "cam1", people=2, per_person=2, seed=0)
    path = tmp_path / "NEW.reidproj"
    path.touch()
    assert main(["ingest", str(path), str(cam)]) == 0
    assert main(["info", str(path)]) == 0
    assert "4 crop(s)" in capsys.readouterr().out


def test_leftovers_of_a_killed_creation_are_removed_by_the_next_one(tmp_path: Path):
    """A kill during creation leaves `.NAME.creating-PID` and its journal; a dead PID's are removed
    when the project is created again, a live process's are left alone."""
    import subprocess
    import sys

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = [tmp_path / f".p.reidproj.creating-{dead.pid}{s}" for s in ("", "-journal", "-wal")]
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        live = tmp_path / f".p.reidproj.creating-{other.pid}-journal"
        for f in [*stale, live]:
            f.write_bytes(b"x")
        Project.create(tmp_path / "p.reidproj").close()
        assert not any(f.exists() for f in stale)
        assert live.exists()
    finally:
        other.kill()
        other.wait()
