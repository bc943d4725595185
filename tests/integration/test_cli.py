"""The headless `reid` command: ingest, info, skipped, relink and its error messages."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.badfiles import ACCEPTED, make_bad_folder, same_name

from reid_desktop.cli import main
from reid_desktop.store import SCHEMA_VERSION, Project

JSON_KEYS = {"cameras", "crops", "models", "embeddings", "decisions", "identities"}


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def assert_one_line_error(err: str, *needles: str) -> None:
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("reid: error:")]
    assert len(errors) == 1, err
    for needle in needles:
        assert needle in errors[0]


def test_ingest_and_info(capsys, tmp_path: Path, two_cameras: list[Path]):
    proj = tmp_path / "survey.reidproj"
    rc, out, err = run(capsys, "ingest", proj, *two_cameras)
    assert rc == 0
    assert proj.is_file()
    assert "Created project" in err
    assert "12 added" in out and "cam1" in out and "cam2" in out
    assert "skipped:" not in out

    rc, out, _ = run(capsys, "info", proj)
    assert rc == 0
    assert "2 camera(s), 24 crop(s)" in out
    assert "decisions: 0 in force (0 recorded)" in out
    assert "models: 0 (none active)" in out
    cam_lines = [line.split() for line in out.splitlines() if line.startswith("  cam")]
    assert [(parts[0], parts[1]) for parts in cam_lines] == [("cam1", "12"), ("cam2", "12")]

    rc, out, _ = run(capsys, "info", "--json", proj)
    assert rc == 0
    data = json.loads(out)
    assert set(data) >= JSON_KEYS
    assert data["crops"] == 24
    assert (data["models"], data["embeddings"], data["decisions"], data["identities"]) == (0, 0, 0, 0)
    assert data["active_model"] is None
    assert [(c["name"], c["crops"], c["layout"]) for c in data["cameras"]] == [
        ("cam1", 12, "folders"),
        ("cam2", 12, "folders"),
    ]

    # Ingesting again into the existing project re-scans instead of re-creating.
    rc, out, err = run(capsys, "ingest", proj, two_cameras[0])
    assert rc == 0 and "Created project" not in err
    assert "0 added, 12 unchanged" in out


def test_project_name_without_suffix(capsys, tmp_path: Path, two_cameras: list[Path]):
    rc, _, _ = run(capsys, "ingest", tmp_path / "survey", two_cameras[0])
    assert rc == 0 and (tmp_path / "survey.reidproj").is_file()
    rc, out, _ = run(capsys, "info", "--json", tmp_path / "survey")
    assert rc == 0 and json.loads(out)["crops"] == 12


def test_ingest_bad_folder_lists_skipped(capsys, tmp_path: Path):
    folder = tmp_path / "bad" / "cam"
    expected = make_bad_folder(folder)
    proj = tmp_path / "p.reidproj"
    rc, out, _ = run(capsys, "ingest", proj, folder)
    assert rc == 0
    assert f"{len(ACCEPTED)} added" in out
    assert f"{len(expected)} skipped:" in out
    listed = {}
    for line in out.splitlines():
        if line.startswith("  cam/"):
            name, _, reason = line[len("  cam/") :].partition(": ")
            listed[name] = reason
    assert len(listed) == len(expected)
    for name in expected:
        assert [n for n in listed if same_name(n, name)], f"{name!r} not listed: {out}"
    assert all(reason for reason in listed.values())

    rc, out, _ = run(capsys, "skipped", proj)
    assert rc == 0
    rows = [line.split("\t") for line in out.splitlines()]
    assert len(rows) == len(expected)
    assert all(len(r) == 2 and r[0].startswith(f"{folder}/") and r[1] for r in rows)
    names = [r[0][len(f"{folder}/") :] for r in rows]
    for name in expected:
        assert [n for n in names if same_name(n, name)], f"{name!r} not in `reid skipped`"

    rc, out, _ = run(capsys, "info", proj)
    assert f"skipped files: {len(expected)}" in out

    rc, out, _ = run(capsys, "ingest", "--show-skipped", "2", proj, folder)
    assert rc == 0
    assert sum(line.startswith("  cam/") for line in out.splitlines()) == 2
    assert f"... and {len(expected) - 2} more" in out


def test_info_on_non_project_file(capsys, tmp_path: Path):
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\n")
    rc, out, err = run(capsys, "info", notes)
    assert rc == 1 and out == ""
    assert_one_line_error(err, "not a reid-desktop project")
    assert notes.read_text() == "hello\n"

    rc, _, err = run(capsys, "info", tmp_path / "missing.reidproj")
    assert rc == 1
    assert_one_line_error(err, "No project file")


def test_info_on_newer_project(capsys, tmp_path: Path):
    import sqlite3

    path = tmp_path / "new.reidproj"
    Project.create(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    rc, _, err = run(capsys, "info", path)
    assert rc == 1
    assert_one_line_error(err, "newer reid-desktop")


def test_ingest_missing_folder(capsys, tmp_path: Path):
    rc, out, err = run(capsys, "ingest", tmp_path / "p.reidproj", tmp_path / "no-such-folder")
    assert rc == 1
    assert_one_line_error(err, "no-such-folder", "not a folder")


def test_ingest_missing_folder_creates_no_project(capsys, tmp_path: Path):
    run(capsys, "ingest", tmp_path / "p.reidproj", tmp_path / "no-such-folder")
    assert not (tmp_path / "p.reidproj").exists()


def test_relink(capsys, tmp_path: Path, two_cameras: list[Path]):
    proj = tmp_path / "p.reidproj"
    assert run(capsys, "ingest", proj, *two_cameras)[0] == 0
    with Project.open(proj) as project:
        ids_before = [c.id for c in project.crops.all()]
    old = two_cameras[0]
    new = tmp_path / "moved" / "cam1"
    new.parent.mkdir()
    shutil.move(old, new)

    rc, _, err = run(capsys, "relink", proj, old, tmp_path / "moved")
    assert rc == 1
    assert_one_line_error(err, "Nothing was changed")

    rc, out, _ = run(capsys, "relink", proj, old, new)
    assert rc == 0
    assert "Relinked 1 camera(s)" in out and "12/12" in out
    with Project.open(proj) as project:
        assert project.cameras.by_name("cam1").root == str(new)
        assert [c.id for c in project.crops.all()] == ids_before

    rc, out, _ = run(capsys, "ingest", proj, new)
    assert rc == 0 and "0 added, 12 unchanged" in out and "0 missing" in out


def test_usage_errors(capsys):
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    with pytest.raises(SystemExit):
        main(["ingest", "--layout", "bogus", "p", "f"])
    assert "invalid choice" in capsys.readouterr().err


def test_entry_point_subprocess(tmp_path: Path, two_cameras: list[Path]):
    proj = tmp_path / "p.reidproj"
    script = Path(sys.executable).parent / "reid"
    ingest_cmd = [str(script)] if script.exists() else [sys.executable, "-m", "reid_desktop.cli"]
    done = subprocess.run(
        [*ingest_cmd, "ingest", str(proj), str(two_cameras[0])], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "12 added" in done.stdout

    done = subprocess.run(
        [sys.executable, "-m", "reid_desktop.cli", "info", "--json", str(proj)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["crops"] == 12

    done = subprocess.run(
        [sys.executable, "-m", "reid_desktop.cli", "info", str(two_cameras[0])],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("reid: error:") and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_progress_goes_to_current_stderr(tmp_path: Path, two_cameras: list[Path]):
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stderr(buf):
        assert main(["ingest", str(tmp_path / "p.reidproj"), str(two_cameras[0])]) == 0
    assert "Created project" in buf.getvalue()
    assert "12/12 files checked" in buf.getvalue()


def test_info_counts_identities_as_the_app_does(capsys, tmp_path: Path, two_cameras: list[Path]):
    """One definition of an identity: components of "same" decisions (not the named rows)."""
    import json

    from reid_desktop.core.identities.curation import identity_rows

    path = tmp_path / "p.reidproj"
    assert main(["ingest", str(path), *map(str, two_cameras)]) == 0
    with Project.open(path) as p:
        ids = [c.id for c in p.crops.all()]
        for a, b in [(ids[0], ids[12]), (ids[12], ids[13]), (ids[1], ids[14]), (ids[2], ids[15])]:
            p.decisions.record(a, b, "same", operator="t")
        p.decisions.record(ids[3], ids[16], "different", operator="t")
        app_count = len(identity_rows(p))
    capsys.readouterr()
    assert main(["info", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["identities"] == app_count == 3
