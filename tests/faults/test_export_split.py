"""Export of a test split that Market-1501 evaluation can use, also when people are seen once per
camera (every crop used to go to query/, leaving bounding_box_test/ empty: 0 queries evaluated)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

from helpers.synth import make_camera_folder, person_crop

from reid_desktop.core.export.market import QUERY_DIR, TEST_DIR, export_market, plan_export
from reid_desktop.core.ingest.scan import ingest
from reid_desktop.core.jobs import run_job
from reid_desktop.store import Project

from .tiny import link_identities


def one_crop_per_camera(tmp_path: Path) -> Project:
    """6 people seen once in each of 2 cameras, plus one person seen twice in cam1 only."""
    cam1 = make_camera_folder(tmp_path / "cams" / "cam1", people=6, per_person=1, seed=1)
    cam2 = make_camera_folder(tmp_path / "cams" / "cam2", people=6, per_person=1, seed=2)
    for v in range(2):
        person_crop(9, v, seed=1).save(cam1 / f"p009_v{v}_s1.jpg", quality=92)
    project = Project.create(tmp_path / "one.reidproj")
    run_job(ingest(project, [str(cam1), str(cam2)]))
    link_identities(project)
    return project


def test_one_crop_per_camera_still_gives_queries_and_a_gallery(tmp_path, caplog):
    from helpers.onnx_factory import tiny_encoder

    from reid_desktop import cli

    project = one_crop_per_camera(tmp_path)
    out = tmp_path / "market"
    try:
        plan = plan_export(project, out, test_ratio=1.0)
        rep = run_job(export_market(project, out, test_ratio=1.0))
    finally:
        project.close()
    query = sorted((out / QUERY_DIR).iterdir())
    gallery = sorted((out / TEST_DIR).iterdir())
    assert plan.query == len(query) == 6 and plan.gallery == len(gallery) == 8
    # Every query has its person in the gallery under another camera.
    gal = {(p.name[:4], p.name.split("_")[1][:2]) for p in gallery}
    for q in query:
        pid, cam = q.name[:4], q.name.split("_")[1][:2]
        assert any(g_pid == pid and g_cam != cam for g_pid, g_cam in gal), q.name
    # The single-camera identity could not contribute a query+gallery pair: said once, in numbers.
    assert plan.no_pair == rep.no_pair == [7]
    assert any("1 of 7 test identities" in w for w in plan.warnings), plan.warnings
    assert rep.warnings == plan.warnings
    logged = [r for r in caplog.records if "could not contribute" in r.getMessage()]
    assert len(logged) == 1 and logged[0].levelname == "WARNING"  # once, by the export

    model = tiny_encoder(tmp_path / "tiny.onnx", height=128, width=48)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = cli.main(["eval", "--model", str(model), "--data", str(out), "--layout", "market", "--json"])
    assert rc == 0
    res = json.loads(buf.getvalue().strip().splitlines()[-1])
    assert res["queries"] == 6 and 0.0 <= res["mAP"] <= 1.0


def test_split_rule_per_camera_counts():
    """Which cameras give a query, for an identity with crops per camera as given."""
    from reid_desktop.core.export.plan import query_cameras

    assert query_cameras({1: 1}) == set()  # one camera: gallery only
    assert query_cameras({1: 3}) == set()
    assert query_cameras({1: 1, 2: 1}) == {1}  # cam2's crop is the gallery
    assert query_cameras({1: 1, 2: 1, 3: 1}) == {1, 2}
    assert query_cameras({1: 2, 2: 1}) == {2}  # cam1 keeps both crops as the gallery
    assert query_cameras({1: 2, 2: 2}) == {1, 2}
    assert query_cameras({1: 1, 2: 3, 3: 1}) == {1, 3}
    assert query_cameras({1: 2, 2: 1, 3: 2}) == {1, 2, 3}


def test_export_dialog_shows_the_split_warning(qtbot, tmp_path):
    from reid_desktop.ui.export.dialog import ExportDialog

    project = one_crop_per_camera(tmp_path)
    try:
        dlg = ExportDialog(project)
        qtbot.addWidget(dlg)
        dlg.out.setText(str(tmp_path / "market"))
        dlg.ratio.setValue(1.0)
        dlg.refresh()
        assert "1 of 7 test identities" in dlg.plan.text()
    finally:
        project.close()
