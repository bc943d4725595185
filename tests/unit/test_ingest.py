"""Ingest: camera folders into crops, every refused file reported, re-scans, cancel and relink."""

from __future__ import annotations

import os
import shutil
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from helpers.badfiles import (
    ACCEPTED,
    CMYK,
    CMYK_RGB,
    EXIF_ROTATED,
    GREY8,
    GREY16,
    IGNORED,
    PALETTE,
    RGBA,
    UNICODE_NAME,
    UNICODE_SUBDIR,
    garbage_scan_jpeg,
    make_bad_folder,
    reason_matches,
    same_name,
)
from helpers.synth import make_camera_folder, person_crop

from reid_desktop.core.imaging import BadImage, load_rgb, probe
from reid_desktop.core.ingest import scan
from reid_desktop.core.ingest.layouts import detect_layout, parse_generic, parse_market
from reid_desktop.core.ingest.relink import RelinkError, relink
from reid_desktop.core.ingest.scan import IngestReport, ingest
from reid_desktop.core.jobs import CancelToken, Progress, run_job
from reid_desktop.store import Project

OP = "tester"


def do_ingest(
    project: Project,
    folders,
    layout: str = "auto",
    cancel: CancelToken | None = None,
    progress: list[Progress] | None = None,
) -> IngestReport:
    on_progress = progress.append if progress is not None else None
    return run_job(ingest(project, [str(f) for f in folders], layout, cancel), on_progress)


def crops_by_rel(project: Project, include_missing: bool = True) -> dict[str, object]:
    return {c.rel_path: c for c in project.crops.all(include_missing=include_missing)}


@pytest.fixture
def bad_folder(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    folder = tmp_path / "bad" / "cam"
    return folder, make_bad_folder(folder)


# --- plain camera folders ----------------------------------------------------------------------


def test_two_camera_folders(project: Project, two_cameras: list[Path]):
    progress: list[Progress] = []
    report = do_ingest(project, two_cameras, progress=progress)
    assert not report.cancelled and not report.errors and not report.skipped
    assert report.added == 24
    assert [(s.layout, s.cameras, s.listed, s.added) for s in report.sources] == [
        ("folders", ["cam1"], 12, 12),
        ("folders", ["cam2"], 12, 12),
    ]
    stats = {s.camera.name: s for s in project.cameras.stats()}
    assert sorted(stats) == ["cam1", "cam2"]
    assert all(s.present == 12 and s.missing == 0 for s in stats.values())
    assert {c.root for c in project.cameras.all()} == {str(f) for f in two_cameras}
    crops = project.crops.all()
    assert len(crops) == 24 and len({c.sha256 for c in crops}) == 24
    assert all((c.width, c.height) == (48, 128) for c in crops)
    one = project.crops.for_camera(stats["cam1"].camera.id)[0]
    assert one.size_bytes == (two_cameras[0] / one.rel_path).stat().st_size
    assert one.mtime_ns == (two_cameras[0] / one.rel_path).stat().st_mtime_ns

    # Progress: per source, `done` never goes back and ends at `total`.
    stages: dict[str, list[Progress]] = defaultdict(list)
    for p in progress:
        stages[p.message.split("]")[0]].append(p)
    assert sorted(stages) == ["[1/2", "[2/2"]
    for items in stages.values():
        counted = [p for p in items if p.total is not None]
        assert counted, "a stage never reported a total"
        assert len({p.total for p in counted}) == 1
        dones = [p.done for p in counted]
        assert dones == sorted(dones)
        assert dones[-1] == counted[-1].total == 12
        assert all(p.fraction is None or 0.0 <= p.fraction <= 1.0 for p in items)


def test_folder_of_camera_folders(project: Project, two_cameras: list[Path]):
    parent = two_cameras[0].parent
    (parent / ".thumbnails").mkdir()
    person_crop(40, 0).save(parent / ".thumbnails" / "t.jpg")
    report = do_ingest(project, [parent])
    assert [s.root for s in report.sources] == [str(f) for f in two_cameras]
    assert sorted(c.name for c in project.cameras.all()) == ["cam1", "cam2"]
    assert project.crops.count() == 24


def test_same_folder_name_gets_unique_camera_names(project: Project, tmp_path: Path):
    a = make_camera_folder(tmp_path / "site_a" / "entrance", people=2, per_person=1, seed=1)
    b = make_camera_folder(tmp_path / "site_b" / "entrance", people=2, per_person=1, seed=2)
    do_ingest(project, [a, b])
    assert sorted(c.name for c in project.cameras.all()) == ["entrance", "entrance (2)"]
    # Re-scanning maps each folder back to its own camera.
    report = do_ingest(project, [b, a])
    assert report.added == 0 and len(project.cameras.all()) == 2


def test_missing_folder_is_an_error(project: Project, tmp_path: Path):
    with pytest.raises(ValueError, match="not a folder"):
        do_ingest(project, [tmp_path / "nope"])
    with pytest.raises(ValueError, match="layout"):
        do_ingest(project, [tmp_path], layout="bogus")
    assert project.cameras.all() == []


# --- the bad folder ----------------------------------------------------------------------------


def test_bad_folder_reports_every_refused_file(project: Project, bad_folder):
    folder, expected = bad_folder
    report = do_ingest(project, [folder])
    assert not report.errors and not report.cancelled
    [src] = report.sources
    assert src.cameras == ["cam"]

    reported = {r.rel_path: r.reason for root, r in report.skipped}
    assert all(root == str(folder) for root, _ in report.skipped)
    assert len(reported) == len(report.skipped) == len(expected), sorted(reported)
    for name, want in expected.items():
        hits = [rel for rel in reported if same_name(rel, name)]
        assert len(hits) == 1, f"{name!r} not reported exactly once: {sorted(reported)}"
        assert reason_matches(reported[hits[0]], want), (name, reported[hits[0]])
    for name in IGNORED:
        assert name not in reported

    stored = {s.path: s.reason for s in project.skipped.all()}
    assert stored == reported
    assert {s.source_root for s in project.skipped.all()} == {str(folder)}

    crops = crops_by_rel(project)
    assert sorted(crops) == sorted(ACCEPTED)
    assert src.added == len(ACCEPTED)
    assert all(c.status == "present" for c in crops.values())
    assert not set(crops) & set(reported)
    assert UNICODE_NAME in crops and UNICODE_SUBDIR in crops
    exif = crops[EXIF_ROTATED]
    assert (exif.width, exif.height) == (100, 40)


def test_bad_folder_rescan_is_stable(project: Project, bad_folder):
    folder, expected = bad_folder
    first = do_ingest(project, [folder])
    second = do_ingest(project, [folder])
    [src] = second.sources
    assert (src.added, src.unchanged, src.updated, src.missing) == (0, len(ACCEPTED), 0, [])
    assert sorted(r.rel_path for _, r in second.skipped) == sorted(r.rel_path for _, r in first.skipped)
    assert len(project.skipped.all()) == len(expected)  # replaced, not appended


def test_skipped_files_count_against_their_camera(project: Project, bad_folder, tmp_path: Path):
    folder, expected = bad_folder
    do_ingest(project, [folder])
    [stats] = project.cameras.stats()
    assert stats.skipped == len(expected)
    assert {s.camera_id for s in project.skipped.all()} == {stats.camera.id}

    # Market: a refused file counts against the camera its name names, when that camera exists.
    root = make_market(tmp_path / "market")
    (root / "bounding_box_test" / "0009_c1s1_000009_01.jpg").write_bytes(b"")
    do_ingest(project, [root])
    by_name = {s.camera.name: s.skipped for s in project.cameras.stats()}
    assert (by_name["c1"], by_name["c2"]) == (1, 0)
    market_rows = [s for s in project.skipped.all() if s.source_root == str(root)]
    assert sorted((s.path, s.camera_id is None) for s in market_rows) == [
        ("bounding_box_test/0009_c1s1_000009_01.jpg", False),
        ("bounding_box_test/snapshot_1.jpg", True),
    ]


def test_accepted_odd_images_decode_to_rgb(bad_folder):
    folder, _ = bad_folder
    for name in ACCEPTED:
        img = load_rgb(folder / name)
        assert img.mode == "RGB"
        info = probe((folder / name).read_bytes())
        assert img.size == (info.width, info.height)

    grey16 = np.asarray(load_rgb(folder / GREY16))
    assert grey16.dtype == np.uint8
    assert (grey16[:40] == 255).all()  # 16-bit white is white, not clipped garbage
    ramp = grey16[-1, :, 0].astype(int)
    assert ramp[0] == 0 and ramp[-1] == 255 and (np.diff(ramp) >= 0).all()

    cmyk = np.asarray(load_rgb(folder / CMYK)).reshape(-1, 3).mean(axis=0)
    np.testing.assert_allclose(cmyk, CMYK_RGB, atol=12)

    rgba = np.asarray(load_rgb(folder / RGBA))
    assert tuple(rgba[0, 0]) == (255, 0, 0)  # opaque red stays red
    assert tuple(rgba[-1, 0]) == (128, 128, 128)  # transparent becomes neutral grey

    pal = np.asarray(load_rgb(folder / PALETTE))
    assert tuple(pal[0, 0]) == (0, 255, 0)
    assert tuple(pal[-1, 0]) == (128, 128, 128)

    grey8 = np.asarray(load_rgb(folder / GREY8))
    assert (grey8[..., 0] == grey8[..., 1]).all() and (grey8[..., 1] == grey8[..., 2]).all()

    assert load_rgb(folder / EXIF_ROTATED).size == (100, 40)


def test_load_rgb_refuses_bad_files(bad_folder):
    folder, _ = bad_folder
    for name in ("empty.jpg", "truncated.jpg", "notes.jpg", "bomb.png", "tiny.jpg"):
        with pytest.raises(BadImage):
            load_rgb(folder / name)
    with pytest.raises(BadImage, match="cannot read"):
        load_rgb(folder / "gone.jpg")


def test_jpeg_with_garbage_scan_data_is_refused():
    accepted = []
    for seed in range(5):
        try:
            probe(garbage_scan_jpeg(seed))
        except BadImage:
            continue
        accepted.append(seed)
    assert accepted == []


# --- layouts -----------------------------------------------------------------------------------

MARKET_FILES = {
    "0002_c1s1_000451_03.jpg": ("c1", 451, "2"),
    "0002_c2s1_000500_01.jpg": ("c2", 500, "2"),
    "-1_c2s1_000100_01.jpg": ("c2", 100, "-1"),
    "0007_c1s2_001234_00.jpg": ("c1", 1234, "7"),
    "0007_c2s3_000777_02.jpg": ("c2", 777, "7"),
    "0000_c1s1_000001_01.jpg": ("c1", 1, "0"),
}


def make_market(root: Path) -> Path:
    sub = root / "bounding_box_test"
    sub.mkdir(parents=True)
    for i, name in enumerate(MARKET_FILES):
        person_crop(i, 0, seed=3).save(sub / name)
    person_crop(30, 0, seed=3).save(sub / "snapshot_1.jpg")  # does not follow the naming
    return root


def test_market_layout(project: Project, tmp_path: Path):
    root = make_market(tmp_path / "Market-1501")
    assert detect_layout(root) == "market"
    report = do_ingest(project, [root])
    [src] = report.sources
    assert (src.layout, src.cameras, src.added) == ("market", ["c1", "c2"], len(MARKET_FILES))
    cams = {c.name: c for c in project.cameras.all()}
    assert sorted(cams) == ["c1", "c2"]
    assert all(c.root == str(root) and c.layout == "market" for c in cams.values())
    assert {c.source_key for c in cams.values()} == {"c1", "c2"}
    crops = crops_by_rel(project)
    for name, (cam, frame, pid) in MARKET_FILES.items():
        crop = crops[f"bounding_box_test/{name}"]
        assert (crop.camera_id, crop.frame, crop.gt_person) == (cams[cam].id, frame, pid)
    [(_, refused)] = report.skipped
    assert refused.rel_path == "bounding_box_test/snapshot_1.jpg"
    assert "Market-1501" in refused.reason

    # Renaming a Market camera does not split it on re-scan.
    project.cameras.rename(cams["c1"].id, "Gate")
    again = do_ingest(project, [root])
    assert again.added == 0 and again.sources[0].unchanged == len(MARKET_FILES)
    assert sorted(c.name for c in project.cameras.all()) == ["Gate", "c2"]


def test_market_layout_forced_and_detection_threshold(project: Project, tmp_path: Path):
    folder = make_camera_folder(tmp_path / "plain", people=3, per_person=1, seed=1)
    assert detect_layout(folder) == "folders"
    report = do_ingest(project, [folder], layout="market")
    assert report.added == 0 and len(report.skipped) == 3
    assert all("Market-1501" in r.reason for _, r in report.skipped)


def test_name_parsers():
    assert parse_market("0002_c1s1_000451_03.jpg").camera == "c1"
    assert parse_market("-1_c6_000100.png").gt_person == "-1"
    assert parse_market("person_c1.jpg") is None
    info = parse_generic("cam3_frame_000123_20240102_030405.jpg")
    assert (info.frame, info.timestamp) == (None, "2024-01-02T03:04:05")  # frames: Market only
    assert parse_generic("f4bc44e6b681.jpg").frame is None  # a hash, not frame 4
    assert parse_market("0002_c1s1_000451_03.jpg").frame == 451
    assert parse_generic("p001_v0_s1.jpg") == parse_generic("")
    assert parse_generic("x_20241340_250000.jpg").timestamp is None  # month 13: not a time


def test_ground_truth_csv(project: Project, two_cameras: list[Path]):
    parent = two_cameras[0].parent
    files = sorted(p.relative_to(parent).as_posix() for f in two_cameras for p in f.glob("*.jpg"))
    unlabelled = files.pop()
    rows = [f"{f},{int(f.split('_')[0][-3:]) + 100}" for f in files]
    (parent / "ground_truth.csv").write_text("file,person_id\n" + "\n".join(rows) + "\n")
    do_ingest(project, two_cameras)
    cams = {c.id: c.name for c in project.cameras.all()}
    got = {f"{cams[c.camera_id]}/{c.rel_path}": c.gt_person for c in project.crops.all()}
    assert got.pop(unlabelled) is None
    assert got == {f: str(int(f.split("_")[0][-3:]) + 100) for f in files}


# --- re-scans ----------------------------------------------------------------------------------


def test_rescan_added_missing_returned(project: Project, two_cameras: list[Path], tmp_path: Path):
    folder = two_cameras[0]
    do_ingest(project, [folder])
    before = crops_by_rel(project)
    gone_rel, other_rel = sorted(before)[:2]
    decision = project.decisions.record(before[gone_rel].id, before[other_rel].id, "same", operator=OP)

    person_crop(50, 0, seed=9).save(folder / "new_person.jpg")
    aside = tmp_path / "aside.jpg"
    os.rename(folder / gone_rel, aside)  # keeps mtime, so putting it back is a return
    report = do_ingest(project, [folder])
    [src] = report.sources
    assert (src.added, src.missing, src.unchanged) == (1, [gone_rel], 11)
    after = crops_by_rel(project)
    assert after[gone_rel].status == "missing"
    assert after[gone_rel].id == before[gone_rel].id
    assert project.crops.count() == 12 and project.crops.count(status="missing") == 1
    assert project.decisions.active() == [decision]
    assert [s.missing for s in project.cameras.stats()] == [1]

    os.rename(aside, folder / gone_rel)
    report = do_ingest(project, [folder])
    [src] = report.sources
    assert (src.added, src.returned, src.missing) == (0, 1, [])
    back = crops_by_rel(project)[gone_rel]
    assert (back.id, back.status) == (before[gone_rel].id, "present")
    assert project.crops.count() == 13
    assert project.decisions.active() == [decision]


def test_rescan_renamed_file_stays_in_project(project: Project, two_cameras: list[Path]):
    folder = two_cameras[0]
    do_ingest(project, [folder])
    rel = sorted(crops_by_rel(project))[0]
    old_id = crops_by_rel(project)[rel].id
    os.rename(folder / rel, folder / "renamed.jpg")
    report = do_ingest(project, [folder])
    assert report.skipped == []
    assert project.crops.count() == 12
    assert report.sources[0].moved == 1 and report.sources[0].missing == []
    moved = project.crops.get(old_id)  # same id: decisions on it stay attached
    assert (moved.rel_path, moved.status) == ("renamed.jpg", "present")


def test_rescan_changed_file_is_updated(project: Project, two_cameras: list[Path]):
    folder = two_cameras[0]
    do_ingest(project, [folder])
    rel = sorted(crops_by_rel(project))[3]
    old = crops_by_rel(project)[rel]
    person_crop(60, 1, seed=4, size=(50, 130)).save(folder / rel, quality=80)
    st = (folder / rel).stat()
    os.utime(folder / rel, ns=(st.st_atime_ns, old.mtime_ns + 5_000_000_000))
    report = do_ingest(project, [folder])
    [src] = report.sources
    assert (src.added, src.updated, src.unchanged) == (0, 1, 11)
    new = crops_by_rel(project)[rel]
    assert new.id == old.id
    assert new.sha256 != old.sha256
    assert (new.width, new.height) == (50, 130)
    assert new.size_bytes == (folder / rel).stat().st_size
    assert new.mtime_ns == old.mtime_ns + 5_000_000_000


def test_rescan_file_turned_corrupt_is_missing_and_reported(project: Project, two_cameras: list[Path]):
    folder = two_cameras[0]
    do_ingest(project, [folder])
    rel = sorted(crops_by_rel(project))[0]
    (folder / rel).write_bytes(b"")
    report = do_ingest(project, [folder])
    assert [(r.rel_path, "empty" in r.reason) for _, r in report.skipped] == [(rel, True)]
    assert crops_by_rel(project)[rel].status == "missing"
    assert [s.path for s in project.skipped.all()] == [rel]


def test_rename_camera_then_rescan(project: Project, two_cameras: list[Path]):
    do_ingest(project, two_cameras)
    cam = project.cameras.by_name("cam1")
    project.cameras.rename(cam.id, "Entrance")
    report = do_ingest(project, two_cameras)
    assert report.added == 0
    assert sorted(c.name for c in project.cameras.all()) == ["Entrance", "cam2"]
    assert report.sources[0].cameras == ["Entrance"]
    assert len(project.crops.for_camera(cam.id)) == 12


# --- cancel ------------------------------------------------------------------------------------


def test_cancel_keeps_committed_work(
    project: Project, two_cameras: list[Path], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(scan, "CHUNK", 4)
    folder = two_cameras[0]
    token = CancelToken()
    seen: list[Progress] = []

    def on_progress(p: Progress) -> None:
        seen.append(p)
        if p.total is not None and p.done > 0:  # right after the first committed chunk
            token.cancel()

    report = run_job(ingest(project, [str(folder), str(two_cameras[1])], cancel=token), on_progress)
    assert report.cancelled and report.sources[0].cancelled
    assert len(report.sources) == 1  # the second folder was not started
    committed = project.crops.count()
    assert committed == 4
    assert [c.name for c in project.cameras.all()] == ["cam1"]
    assert "scan again" in report.lines()[0]

    report = do_ingest(project, [folder])
    assert not report.cancelled
    assert (report.sources[0].added, report.sources[0].unchanged) == (12 - committed, committed)
    assert project.crops.count() == len(list(folder.glob("*.jpg"))) == 12


def test_cancel_before_start(project: Project, two_cameras: list[Path]):
    token = CancelToken()
    token.cancel()
    report = do_ingest(project, two_cameras, cancel=token)
    assert report.cancelled and project.crops.count() == 0 and project.cameras.all() == []


# --- relink ------------------------------------------------------------------------------------


def test_relink_moved_folder(project: Project, two_cameras: list[Path], tmp_path: Path):
    old = two_cameras[0]
    (old / "empty.jpg").write_bytes(b"")
    do_ingest(project, two_cameras)
    ids_before = {(c.camera_id, c.rel_path): c.id for c in project.crops.all()}
    cam1, cam2 = project.cameras.by_name("cam1"), project.cameras.by_name("cam2")
    a = project.crops.for_camera(cam1.id)[0]
    b = project.crops.for_camera(cam2.id)[0]
    d = project.decisions.record(a.id, b.id, "same", operator=OP, score=0.7)

    new = tmp_path / "moved" / "renamed_cam1"
    new.parent.mkdir()
    shutil.move(old, new)
    rep = relink(project, str(old), new)
    assert (rep.cameras, rep.sampled, rep.matched, rep.new_root) == (1, 12, 12, str(new))
    assert project.cameras.get(cam1.id).root == str(new)
    assert project.cameras.get(cam1.id).name == "cam1"
    assert project.cameras.get(cam2.id).root == str(two_cameras[1])
    assert {s.source_root for s in project.skipped.all()} == {str(new)}

    report = do_ingest(project, [new])
    [src] = report.sources
    assert (src.added, src.missing, src.unchanged) == (0, [], 12)
    assert {(c.camera_id, c.rel_path): c.id for c in project.crops.all()} == ids_before
    assert project.decisions.active() == [d]
    assert len(project.cameras.all()) == 2


def test_relink_to_wrong_folder_changes_nothing(project: Project, two_cameras: list[Path], tmp_path: Path):
    do_ingest(project, two_cameras)
    cams_before = project.cameras.all()
    crops_before = project.crops.all()
    wrong = make_camera_folder(tmp_path / "elsewhere", people=6, per_person=2, seed=7)
    with pytest.raises(RelinkError, match="does not look like"):
        relink(project, str(two_cameras[0]), wrong)
    with pytest.raises(RelinkError, match="not a folder"):
        relink(project, str(two_cameras[0]), tmp_path / "nope")
    with pytest.raises(RelinkError, match="no camera"):
        relink(project, str(tmp_path / "never-scanned"), wrong)
    with pytest.raises(RelinkError, match="already"):
        relink(project, str(two_cameras[0]), two_cameras[1])
    assert project.cameras.all() == cams_before
    assert project.crops.all() == crops_before


# --- real data ---------------------------------------------------------------------------------


@pytest.mark.shared
def test_pku_real_data(project: Project, pku: Path):
    report = do_ingest(project, [pku / "cam1", pku / "cam2"])
    assert not report.errors and not report.skipped
    assert sorted(c.name for c in project.cameras.all()) == ["cam1", "cam2"]
    crops = project.crops.all()
    assert len(crops) == 800
    assert all(c.gt_person for c in crops)
    assert all(c.width >= 8 and c.height >= 8 for c in crops)


def test_a_folder_without_images_is_a_warning_that_names_it(project, tmp_path):
    empty = tmp_path / "emptycam"
    (empty / "sub").mkdir(parents=True)
    (empty / "readme.txt").write_text("no crops here")
    report = run_job(ingest(project, [empty]))
    assert report.added == 0
    assert any(str(empty) in w and "no image found" in w for w in report.warnings)
    assert any(line.startswith("warning: ") and "no image found" in line for line in report.lines())
    good = make_camera_folder(tmp_path / "cam1", people=2, per_person=1, seed=1)
    assert not run_job(ingest(project, [good])).warnings  # a folder of crops says nothing
