"""Issue 8, item 9: hidden folders are listed (not skipped silently); odd names print on one line."""

from __future__ import annotations

from pathlib import Path

from helpers.synth import make_camera_folder, person_crop

from reid_desktop.cli import main as reid_main
from reid_desktop.core.ingest.scan import ingest
from reid_desktop.core.jobs import run_job
from reid_desktop.store import Project


def skipped_rows(project: Project) -> dict[tuple[str, str], str]:
    return {(Path(s.source_root).name, s.path): s.reason for s in project.skipped.all()}


def test_hidden_camera_folder_is_listed_then_scanned_once_renamed(project: Project, tmp_path: Path):
    cams = tmp_path / "cams"
    make_camera_folder(cams / "cam1", people=2, per_person=1, seed=1)
    make_camera_folder(cams / "cam2", people=2, per_person=1, seed=2)
    make_camera_folder(cams / ".cam3", people=2, per_person=1, seed=3)
    report = run_job(ingest(project, [cams]))
    assert report.added == 4
    assert sorted(c.name for c in project.cameras.all()) == ["cam1", "cam2"]
    listed = [(Path(root).name, r.rel_path, r.reason) for root, r in report.skipped]
    assert len(listed) == 1 and listed[0][:2] == ("cams", ".cam3")
    assert "hidden folder" in listed[0][2] and "rename" in listed[0][2]
    assert skipped_rows(project) == {("cams", ".cam3"): listed[0][2]}

    (cams / ".cam3").rename(cams / "cam3")
    report = run_job(ingest(project, [cams]))
    assert report.added == 2 and report.skipped == []
    assert skipped_rows(project) == {}  # the stale entry is gone


def test_folder_holding_only_a_hidden_camera_folder_says_so(project: Project, tmp_path: Path):
    cams = tmp_path / "cams"
    make_camera_folder(cams / ".cam1", people=2, per_person=1, seed=1)
    report = run_job(ingest(project, [cams]))
    assert report.added == 0
    assert [(r.rel_path, "hidden folder" in r.reason) for _, r in report.skipped] == [(".cam1", True)]


def test_hidden_subfolder_of_a_camera_is_listed_and_macos_files_still_refused(project, tmp_path):
    cam = make_camera_folder(tmp_path / "cam1", people=2, per_person=1, seed=1)
    (cam / ".thumbnails").mkdir()
    person_crop(5, 0).save(cam / ".thumbnails" / "t.jpg")
    (cam / "._p000_v0_s1.jpg").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00" + bytes(74))
    report = run_job(ingest(project, [cam]))
    assert report.added == 2
    reasons = {r.rel_path: r.reason for _, r in report.skipped}
    assert set(reasons) == {".thumbnails", "._p000_v0_s1.jpg"}
    assert "hidden folder" in reasons[".thumbnails"]
    assert "macOS" in reasons["._p000_v0_s1.jpg"]


def test_display_name_escapes_controls_and_keeps_unicode():
    from reid_desktop.core.names import display_name

    assert display_name("cam\n1") == "cam\\n1"
    assert display_name("a\r\tb") == "a\\r\\tb"
    assert display_name("x\x1b[31mred\x7f") == "x\\x1b[31mred\\x7f"
    assert display_name("bad\udcff.jpg") == "bad\\xff.jpg"  # a non-UTF-8 byte, surrogate-escaped
    assert display_name("evil\u202egpj.exe") == "evil\\u202egpj.exe"  # right-to-left override
    assert display_name("a\u2028b") == "a\\u2028b"  # line separator
    for kept in ("café ü", "東京 カメラ", "a\u00a0b", "👨\u200d👩\u200d👧", "back\\slash"):
        assert display_name(kept) == kept
    once = display_name("cam\n\x00")
    assert display_name(once) == once


def test_ingest_report_prints_one_line_per_camera_folder(tmp_path: Path, capsys):
    cams = tmp_path / "cams"
    make_camera_folder(cams / "cam\n1", people=2, per_person=1, seed=1)
    make_camera_folder(cams / "cam\x1b[31m2", people=2, per_person=1, seed=2)
    rc = reid_main(["ingest", str(tmp_path / "p.reidproj"), str(cams)])
    out = capsys.readouterr().out
    assert rc == 0
    lines = out.splitlines()
    assert len(lines) == 2, out
    assert "[folders: cam\\n1]" in lines[0] and "[folders: cam\\x1b[31m2]" in lines[1]
    assert not any(ch in out for ch in "\x1b\r\t")
    with Project.open(tmp_path / "p.reidproj") as p:  # stored as named on disk
        assert sorted(c.name for c in p.cameras.all()) == ["cam\n1", "cam\x1b[31m2"]
    assert reid_main(["info", str(tmp_path / "p.reidproj")]) == 0
    info = capsys.readouterr().out.splitlines()
    camera_lines = [line for line in info if line.startswith("  cam")]
    assert len(camera_lines) == 2, info  # one line per camera, names escaped
    assert "cam\\n1" in camera_lines[0] and "\x1b" not in "".join(info)


def test_camera_folder_with_a_non_utf8_name_is_listed_and_the_others_scanned(project, tmp_path):
    import os

    cams = tmp_path / "cams"
    make_camera_folder(cams / "cam1", people=2, per_person=1, seed=1)
    make_camera_folder(Path(os.fsdecode(os.fsencode(cams) + b"/cam\xff")), people=2, per_person=1, seed=2)
    report = run_job(ingest(project, [cams]))
    assert report.errors == [] and report.added == 2
    assert [c.name for c in project.cameras.all()] == ["cam1"]
    assert [(r.rel_path, "UTF-8" in r.reason) for _, r in report.skipped] == [("cam\\xff", True)]
    assert skipped_rows(project) == {("cams", "cam\\xff"): report.skipped[0][1].reason}
