"""Export of confirmed identities: Market-1501 folders, identities.csv, decisions.json, conflicts."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from helpers.badfiles import CMYK_RGB, EXIF_SIZE, cmyk_jpeg, exif_rotated_jpeg, grey16_png, rgba_png
from PIL import Image

from reid_desktop.core.export import market as export_mod
from reid_desktop.core.export.market import (
    CSV_COLUMNS,
    ExportConflict,
    ExportError,
    ExportReport,
    export_market,
    plan_export,
)
from reid_desktop.core.identities.links import LinkGraph
from reid_desktop.core.ingest.layouts import parse_market
from reid_desktop.core.ingest.scan import ingest
from reid_desktop.core.jobs import CancelToken, Progress, run_job
from reid_desktop.store import Project

OP = "tester"
SPLITS = ("bounding_box_train", "bounding_box_test", "query")
NASTY_NAME = '=HYPERLINK("http://x"),\n"quoted", name'
NASTY_NOTES = '+1, "two"\nthree'
ODD = {
    "cam1": {"odd_exif.jpg": exif_rotated_jpeg, "odd_grey16.png": grey16_png},
    "cam2": {"odd_cmyk.jpg": cmyk_jpeg, "odd_rgba.png": rgba_png},
}


@pytest.fixture
def scenario(project: Project, two_cameras: list[Path]) -> dict:
    """Six synthetic people in two cameras (+ odd formats) and decisions covering every case:

    P0: 4 crops, 2 cameras   P1: 2 crops, 2 cameras, named   P2: 2 crops, cam1 only
    P3: 3 crops, 2 cameras   P4: contradiction (not exported)   P5: "same" undone (no identity)
    ODD: EXIF-rotated, 16-bit, CMYK and RGBA crops, 2 cameras.
    """
    for folder in two_cameras:
        for name, make in ODD[folder.name].items():
            (folder / name).write_bytes(make())
    rep = run_job(ingest(project, [str(f) for f in two_cameras]))
    assert not rep.skipped, rep.skipped
    cams = {c.id: c.name for c in project.cameras.all()}
    ids = {f"{cams[c.camera_id]}/{c.rel_path}": c.id for c in project.crops.all()}

    def c(cam: int, person: int, v: int) -> int:
        return ids[f"cam{cam}/p{person:03d}_v{v}_s{cam}.jpg"]

    model = project.encoders.add("osnet-test", "osnet.onnx", "0" * 64)

    def same(a: int, b: int, score: float | None = None):
        return project.decisions.record(
            a, b, "same", operator=OP, score=score, encoder_id=model.id if score is not None else None
        )

    same(c(1, 0, 0), c(2, 0, 0), score=0.91)
    same(c(1, 0, 0), c(1, 0, 1))
    same(c(2, 0, 0), c(2, 0, 1))
    same(c(1, 1, 0), c(2, 1, 0))
    same(c(1, 2, 0), c(1, 2, 1))
    same(c(1, 3, 0), c(2, 3, 0))
    same(c(2, 3, 0), c(2, 3, 1))
    same(c(1, 4, 0), c(2, 4, 0))
    same(c(2, 4, 0), c(1, 4, 1))
    project.decisions.record(c(1, 4, 0), c(1, 4, 1), "different", operator=OP)  # contradiction
    undone = same(c(1, 5, 0), c(2, 5, 0))
    undo = project.decisions.undo(undone.id, operator=OP)
    project.decisions.record(c(1, 0, 0), c(1, 1, 0), "different", operator=OP)
    odd = [
        ids["cam1/odd_exif.jpg"],
        ids["cam2/odd_cmyk.jpg"],
        ids["cam1/odd_grey16.png"],
        ids["cam2/odd_rgba.png"],
    ]
    for a, b in zip(odd, odd[1:], strict=False):
        same(a, b)
    named = project.identities.create(NASTY_NAME, NASTY_NOTES)
    project.identities.set_members(named.id, [c(1, 1, 0), c(2, 1, 0)])
    groups = {
        "P0": {c(1, 0, 0), c(1, 0, 1), c(2, 0, 0), c(2, 0, 1)},
        "P1": {c(1, 1, 0), c(2, 1, 0)},
        "P2": {c(1, 2, 0), c(1, 2, 1)},
        "P3": {c(1, 3, 0), c(2, 3, 0), c(2, 3, 1)},
        "P4": {c(1, 4, 0), c(2, 4, 0), c(1, 4, 1)},
        "ODD": set(odd),
    }
    return {
        "project": project,
        "ids": ids,
        "c": c,
        "groups": groups,
        "undo": undo,
        "undone": undone,
        "model": model,
        "folders": two_cameras,
    }


def do_export(project: Project, out: Path, progress: list[Progress] | None = None, **kw) -> ExportReport:
    return run_job(export_market(project, out, **kw), progress.append if progress is not None else None)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
        return list(reader)


def images(out: Path) -> list[str]:
    return sorted(
        p.relative_to(out).as_posix() for d in SPLITS if (out / d).is_dir() for p in (out / d).iterdir()
    )


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        p.relative_to(folder).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file()
    }


EXPORTED = ("P0", "P1", "P2", "P3", "ODD")


# --- structure, names and person ids ---------------------------------------------------------------


def test_structure_names_and_person_ids(scenario, tmp_path: Path):
    project, groups = scenario["project"], scenario["groups"]
    out = tmp_path / "export"
    progress: list[Progress] = []
    plan = plan_export(project, out)
    assert not out.exists()  # planning writes nothing
    report = do_export(project, out, progress)

    assert sorted(p.name for p in out.iterdir()) == sorted([*SPLITS, "decisions.json", "identities.csv"])
    assert not report.cancelled and report.failed == [] and report.missing == []
    n_crops = sum(len(groups[g]) for g in EXPORTED)
    assert plan.identities == report.identities == len(EXPORTED)
    assert plan.crops == report.written == n_crops == plan.train + plan.query + plan.gallery
    assert plan.train_ids + plan.test_ids == plan.identities
    assert [set(c) for c in report.contradicted] == [groups["P4"]]
    assert report.too_small == [] and plan.conflicts == []

    rows = read_csv(report.csv)
    by_file = {r["file"]: r for r in rows}
    assert sorted(by_file) == images(out)
    crops = {c.id: c for c in project.crops.all()}
    cam_number = {"cam1": "c1", "cam2": "c2"}  # 1-based by camera name
    pid_crops: dict[str, set[int]] = defaultdict(set)
    for rel, row in by_file.items():
        name = rel.split("/")[1]
        info = parse_market(name)
        assert info is not None, name
        crop = crops[int(row["crop_id"])]
        assert f"{int(info.gt_person):04d}" == row["person_id"] == name[:4]
        assert info.camera == cam_number[row["camera"]]
        assert info.frame == (crop.frame if crop.frame is not None else crop.id)
        pid_crops[row["person_id"]].add(crop.id)
    # Every person id is exactly one identity, and every exported identity has one person id.
    assert sorted(map(frozenset, pid_crops.values()), key=min) == sorted(
        (frozenset(groups[g]) for g in EXPORTED), key=min
    )
    # Sequential ids in the order of each identity's smallest crop id.
    assert sorted(pid_crops) == [f"{i:04d}" for i in range(1, len(EXPORTED) + 1)]
    assert [min(pid_crops[p]) for p in sorted(pid_crops)] == sorted(min(groups[g]) for g in EXPORTED)
    # Neither the contradiction nor the undone link is exported.
    exported = set().union(*pid_crops.values())
    assert not exported & groups["P4"]
    assert scenario["c"](1, 5, 0) not in exported and scenario["c"](2, 5, 0) not in exported

    assert progress[-1].done == progress[-1].total == n_crops
    per_image = [p for p in progress if p.total == n_crops and p.done > 0]
    assert [p.done for p in per_image] == list(range(1, n_crops + 1))
    assert all(p.message.startswith("Exporting") for p in per_image)


def test_names_unique_with_counter_per_person_and_camera(scenario, tmp_path: Path):
    report = do_export(scenario["project"], tmp_path / "out")
    names = [f.split("/")[1] for f in images(tmp_path / "out")]
    assert len(names) == len(set(names))
    counters: dict[tuple[str, str], list[int]] = defaultdict(list)
    for n in names:
        pid, cam, _frame, k = n[:-4].split("_")
        counters[(pid, cam[:-2])].append(int(k))
    assert all(sorted(v) == list(range(len(v))) for v in counters.values())
    assert report.written == len(names)


# --- split -----------------------------------------------------------------------------------------


def split_of(rows: list[dict[str, str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        out[r["person_id"]].add(r["split"])
    return out


def test_split_identity_disjoint_and_deterministic(scenario, tmp_path: Path):
    project = scenario["project"]
    a = read_csv(do_export(project, tmp_path / "a", seed=7).csv)
    b = read_csv(do_export(project, tmp_path / "b", seed=7).csv)
    assert images(tmp_path / "a") == images(tmp_path / "b")

    def key(rows: list[dict[str, str]]) -> list[tuple[str, str, str]]:
        return [(r["file"], r["split"], r["crop_id"]) for r in rows]

    assert key(a) == key(b)
    splits = split_of(a)
    train = {p for p, s in splits.items() if s == {"train"}}
    test = {p for p, s in splits.items() if "train" not in s}
    assert train | test == set(splits) and not train & test  # no identity on both sides
    assert len(test) == math.floor(0.5 * len(splits) + 0.5)
    for r in a:
        assert r["file"].startswith(
            {"train": "bounding_box_train/", "gallery": "bounding_box_test/", "query": "query/"}[r["split"]]
        )
    # Other seeds choose other test identities (deterministically too).
    choices = {
        frozenset(
            p
            for p, s in split_of(read_csv(do_export(project, tmp_path / f"s{seed}", seed=seed).csv)).items()
            if "train" not in s
        )
        for seed in range(6)
    }
    assert len(choices) > 1


def test_query_one_crop_per_camera_per_test_identity(scenario, tmp_path: Path):
    project, groups = scenario["project"], scenario["groups"]
    report = do_export(project, tmp_path / "all_test", test_ratio=1.0)
    rows = read_csv(report.csv)
    crops = {c.id: c for c in project.crops.all()}
    by_pid: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        by_pid[r["person_id"]].append(r)
    assert all(r["split"] != "train" for r in rows)
    for pid_rows in by_pid.values():
        ids = {int(r["crop_id"]) for r in pid_rows}
        cams = {crops[i].camera_id for i in ids}
        query = [int(r["crop_id"]) for r in pid_rows if r["split"] == "query"]
        gallery_cams = {crops[int(r["crop_id"])].camera_id for r in pid_rows if r["split"] == "gallery"}
        per_cam = {cam: sum(crops[i].camera_id == cam for i in ids) for cam in cams}
        if len(cams) >= 2 and min(per_cam.values()) >= 2:
            # One query per camera: the camera's first crop by id; the rest is gallery.
            assert sorted(query) == sorted(min(i for i in ids if crops[i].camera_id == cam) for cam in cams)
        elif len(cams) >= 2:
            # A camera with one crop: still one query per camera at most, each answerable.
            assert 1 <= len(query) < len(cams)
            for q in query:
                assert gallery_cams - {crops[q].camera_id}, "a query without a cross-camera match"
        else:
            assert ids == groups["P2"] and query == []  # single-camera identity: gallery only
    plan = plan_export(project, tmp_path / "x", test_ratio=1.0)
    # P0 (2+2 crops): 2 queries; P1 (1+1): 1; P3 (1+2): cam1's only; ODD (2+2): 2; P2: none.
    assert plan.train_ids == plan.train == 0 and plan.query == 6 and plan.gallery == plan.crops - 6
    assert len(plan.no_pair) == 1 and plan.warnings == [
        "1 of 5 test identities could not contribute a query+gallery pair (seen in one camera only); "
        "they are in bounding_box_test/ only"
    ]

    train_only = plan_export(project, tmp_path / "y", test_ratio=0.0)
    assert train_only.test_ids == train_only.query == train_only.gallery == 0
    assert train_only.train == train_only.crops


def test_bad_ratio_and_out_dir_refused(scenario, tmp_path: Path):
    project = scenario["project"]
    with pytest.raises(ExportError, match="test_ratio"):
        plan_export(project, tmp_path / "o", test_ratio=1.5)
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(ExportError, match="is a file"):
        plan_export(project, a_file)
    cam1 = scenario["folders"][0]
    before = snapshot(cam1)
    for inside in (cam1, cam1 / "export"):
        with pytest.raises(ExportError, match="camera folder"):
            run_job(export_market(project, inside, overwrite=True))
    assert snapshot(cam1) == before


# --- identities.csv and decisions.json ---------------------------------------------------------------


def test_csv_columns_and_escaping(scenario, tmp_path: Path):
    project, groups = scenario["project"], scenario["groups"]
    # A stored identity that no longer matches its component (members spread over two) stays unnamed.
    split_ident = project.identities.create("@split", "x")
    project.identities.set_members(split_ident.id, [min(groups["P2"]), min(groups["P3"])])
    report = do_export(project, tmp_path / "out")
    raw = report.csv.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")  # plain UTF-8
    rows = read_csv(report.csv)
    crops = {c.id: c for c in project.crops.all()}
    roots = {c.id: c.root for c in project.cameras.all()}
    for r in rows:
        crop_id = int(r["crop_id"])
        assert (report.out_dir / r["file"]).is_file()
        assert r["source_path"] == str(Path(roots[crops[crop_id].camera_id]) / crops[crop_id].rel_path)
        if crop_id in groups["P1"]:
            # Commas, quotes and newlines survive the round trip; the formula is neutralised.
            assert r["identity_name"] == "'" + NASTY_NAME
            assert r["identity_notes"] == "'" + NASTY_NOTES
        else:
            assert r["identity_name"] == r["identity_notes"] == ""
    text = raw.decode("utf-8")
    assert '"\'=HYPERLINK(""http://x""),\n""quoted"", name"' in text


@pytest.mark.parametrize("text", ["=1+2", "+cmd", "-2", "@SUM(A1)", "\tx", "plain, text"])
def test_formula_prefixes_neutralised(text: str):
    out = export_mod._neutralise(text)
    assert out == (text if text == "plain, text" else "'" + text)


def test_decisions_json_has_the_audit_trail(scenario, tmp_path: Path):
    project = scenario["project"]
    report = do_export(project, tmp_path / "out")
    doc = json.loads(report.decisions_json.read_text(encoding="utf-8"))
    assert doc["format"] == "reid-desktop-decisions" and doc["version"] == 1
    rows = doc["decisions"]
    history = project.decisions.history()
    assert [r["id"] for r in rows] == [d.id for d in history]
    assert set(rows[0]) == {
        "id",
        "query_crop_id",
        "query_path",
        "query_export",
        "candidate_crop_id",
        "candidate_path",
        "candidate_export",
        "verdict",
        "score",
        "model_id",
        "model_name",
        "operator",
        "created_at",
        "voids_id",
        "action_id",
        "active",
    }
    by_id = {r["id"]: r for r in rows}
    undo, undone = by_id[scenario["undo"].id], by_id[scenario["undone"].id]
    assert undo["verdict"] == "undo" and undo["voids_id"] == undone["id"] and undo["operator"] == OP
    assert undo["action_id"] is not None and undo["action_id"] != undone["action_id"]  # units
    assert undone["active"] is False and undone["verdict"] == "same" and undone["query_export"] is None
    first = rows[0]
    assert first["score"] == pytest.approx(0.91) and first["model_name"] == "osnet-test"
    assert first["model_id"] == scenario["model"].id
    assert first["query_path"].endswith("p000_v0_s1.jpg")
    assert first["candidate_path"].endswith("p000_v0_s2.jpg")
    assert (report.out_dir / first["query_export"]).is_file()
    assert sum(r["verdict"] == "different" for r in rows) == 2
    assert report.decisions_json.read_text(encoding="utf-8").startswith("{\n  ")  # pretty


# --- conflicts, overwrite, cancel ------------------------------------------------------------------


def test_conflict_refused_before_writing_anything(scenario, tmp_path: Path):
    project = scenario["project"]
    out = tmp_path / "out"
    do_export(project, out)
    before = snapshot(out)
    plan = plan_export(project, out)
    assert len(plan.conflicts) == plan.crops + 2
    with pytest.raises(ExportConflict) as exc:
        do_export(project, out)
    assert exc.value.paths == plan.conflicts
    assert snapshot(out) == before

    # Only the CSV exists: still refused, and no image or folder is created.
    lone = tmp_path / "lone"
    lone.mkdir()
    (lone / "identities.csv").write_text("mine\n", encoding="utf-8")
    with pytest.raises(ExportConflict):
        do_export(project, lone)
    assert [p.name for p in lone.iterdir()] == ["identities.csv"]
    assert (lone / "identities.csv").read_text(encoding="utf-8") == "mine\n"

    # An existing empty folder (or one holding unrelated files) is fine.
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("keep", encoding="utf-8")
    assert do_export(project, empty).written == plan.crops
    assert (empty / "readme.txt").read_text(encoding="utf-8") == "keep"


def test_overwrite_replaces_and_removes_stale_images(scenario, tmp_path: Path):
    project, groups = scenario["project"], scenario["groups"]
    out = tmp_path / "out"
    first = do_export(project, out, seed=0)
    (out / "readme.txt").write_text("keep", encoding="utf-8")
    # Undo P2's only link: it is no longer an identity, so its images must not linger.
    p2 = [d for d in project.decisions.active() if {d.query_crop_id, d.candidate_crop_id} == groups["P2"]]
    project.decisions.undo(p2[0].id, operator=OP)
    plan = plan_export(project, out, seed=0)
    assert plan.stale and set(plan.stale) <= set(plan.conflicts)
    second = do_export(project, out, seed=0, overwrite=True)
    assert second.written == first.written - len(groups["P2"]) and not second.cancelled
    assert set(second.removed) >= set(plan.stale)
    rows = read_csv(out / "identities.csv")
    assert sorted(r["file"] for r in rows) == images(out)
    assert not {int(r["crop_id"]) for r in rows} & groups["P2"]
    assert (out / "readme.txt").read_text(encoding="utf-8") == "keep"
    doc = json.loads((out / "decisions.json").read_text(encoding="utf-8"))
    assert doc["decisions"][-1]["verdict"] == "undo"


def test_cancel_keeps_images_and_writes_no_index(scenario, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(export_mod, "CHUNK", 2)  # cancel is honoured between batches
    project = scenario["project"]
    out = tmp_path / "out"
    cancel = CancelToken()
    seen: list[Progress] = []

    def on_progress(p: Progress) -> None:
        seen.append(p)
        if p.total and p.done == 3:
            cancel.cancel()

    report = run_job(export_market(project, out, cancel=cancel), on_progress)
    assert report.cancelled
    assert 3 <= report.written < plan_export(project, tmp_path / "fresh").crops
    assert len(images(out)) == report.written
    assert not report.csv.exists() and not report.decisions_json.exists()
    # Finishing needs overwrite (the kept images are there); it then completes.
    with pytest.raises(ExportConflict):
        do_export(project, out)
    done = do_export(project, out, overwrite=True)
    assert not done.cancelled and done.csv.is_file() and len(images(out)) == done.written


# --- missing crops and image content ---------------------------------------------------------------


def test_missing_crops_are_skipped_and_counted(scenario, tmp_path: Path):
    project, c, groups = scenario["project"], scenario["c"], scenario["groups"]
    cam1, cam2 = scenario["folders"]
    gone = c(2, 3, 1)
    (cam2 / "p003_v1_s2.jpg").unlink()  # deleted since the scan: status still "present"
    (cam1 / "p002_v1_s1.jpg").unlink()
    run_job(ingest(project, [str(cam1)]))  # rescan: marked "missing"
    assert project.crops.get(c(1, 2, 1)).status == "missing"
    assert project.crops.get(gone).status == "present"

    plan = plan_export(project, tmp_path / "out")
    report = do_export(project, tmp_path / "out")
    assert sorted(report.missing) == sorted(plan.missing) == sorted([gone, c(1, 2, 1)])
    assert [set(g) for g in report.too_small] == [groups["P2"]]  # one crop left: not an identity
    exported = {int(r["crop_id"]) for r in read_csv(report.csv)}
    assert exported & groups["P3"] == groups["P3"] - {gone}
    assert not exported & groups["P2"]
    assert report.identities == len(EXPORTED) - 1 and report.written == len(exported)


def test_images_are_rgb_jpeg_with_the_source_size(scenario, tmp_path: Path):
    project, ids = scenario["project"], scenario["ids"]
    report = do_export(project, tmp_path / "out")
    crops = {c.id: c for c in project.crops.all()}
    rows = read_csv(report.csv)
    for r in rows:
        crop = crops[int(r["crop_id"])]
        with Image.open(report.out_dir / r["file"]) as img:
            assert img.format == "JPEG" and img.mode == "RGB"
            assert img.size == (crop.width, crop.height)
            assert 0x0112 not in img.getexif()  # pixels already upright
    row = {int(r["crop_id"]): r for r in rows}
    with Image.open(report.out_dir / row[ids["cam1/odd_exif.jpg"]]["file"]) as img:
        assert img.size == EXIF_SIZE[::-1]  # rotated as displayed
    with Image.open(report.out_dir / row[ids["cam2/odd_cmyk.jpg"]]["file"]) as img:
        centre = img.getpixel((img.width // 2, img.height // 2))
        assert all(abs(a - b) <= 12 for a, b in zip(centre, CMYK_RGB, strict=True))


def test_export_matches_link_graph_components(scenario, tmp_path: Path):
    """The exported identities are exactly the clean components of the active decisions."""
    project = scenario["project"]
    links = LinkGraph(project.decisions.active())
    bad = {links.component(x) for x, _ in links.contradictions()}
    clean = {frozenset(m) for r, m in links.components().items() if r not in bad}
    rows = read_csv(do_export(project, tmp_path / "out").csv)
    got: dict[str, set[int]] = defaultdict(set)
    for r in rows:
        got[r["person_id"]].add(int(r["crop_id"]))
    assert {frozenset(v) for v in got.values()} == clean


def test_core_export_imports_no_qt():
    code = (
        "import sys, reid_desktop.core.export.market; "
        "sys.exit(any(m.split('.')[0] in ('PySide6', 'shiboken6') for m in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
