"""Review, identities, models, fine-tune and export workflows driven through the window
(pytest-qt, offscreen, synthetic crops and a tiny ONNX encoder)."""

from __future__ import annotations

from pathlib import Path

from helpers.onnx_factory import tiny_encoder
from PySide6.QtCore import Qt

from reid_desktop.core.encoders.registry import register_encoder
from reid_desktop.core.training.monitor import TrainingMonitor
from reid_desktop.ui.encoders.finetune_dialog import FineTuneDialog
from reid_desktop.ui.shell.main_window import MainWindow

RECORDED = Path(__file__).resolve().parents[1] / "data" / "train_events.jsonl"


def wait_idle(qtbot, w: MainWindow, timeout: int = 60_000) -> None:
    qtbot.waitUntil(lambda: w.job is None, timeout=timeout)


def open_review(qtbot, w: MainWindow) -> None:
    """Show Review; embed when asked; wait for the queue."""
    w.show_tab("Review")
    wait_idle(qtbot, w)
    if w.review.session is None and w.review.empty_action.isVisible():
        w.review.empty_action.click()  # "Embed N crops"
        wait_idle(qtbot, w)
    qtbot.waitUntil(lambda: w.review.session is not None, timeout=60_000)


def key(qtbot, w: MainWindow, k) -> None:
    qtbot.keyClick(w.review, k)


def test_end_to_end_review_identities_undo_export(qtbot, window, tmp_path, two_cameras):
    w = window
    assert w.create_project(tmp_path / "e2e.reidproj")
    w.add_folders([str(f) for f in two_cameras], "folders")
    wait_idle(qtbot, w)
    assert w.status_counts.text() == "2 camera(s) · 24 crops"
    register_encoder(w.project, tiny_encoder(tmp_path / "tiny.onnx"), "tiny")
    open_review(qtbot, w)
    assert w.project.embeddings.count() == 24
    first = w.review.session.current()
    assert first is not None and w.review.candidates.rowCount() >= 1
    # Decide by keyboard: merge the current candidate (S), different (D), can't tell (K).
    key(qtbot, w, Qt.Key_S)
    key(qtbot, w, Qt.Key_D)
    key(qtbot, w, Qt.Key_K)
    active = w.project.decisions.active()
    assert [d.verdict for d in active] == ["same", "different", "skip"]
    assert active[0].operator and active[0].encoder_id == w.project.active_encoder_id
    assert "Saved:" in w.review.hint.text() and "can't tell" in w.review.hint.text()
    # Undo the last action (U), redo it (Shift+U), undo again.
    key(qtbot, w, Qt.Key_U)
    assert [d.verdict for d in w.project.decisions.active()] == ["same", "different"]
    qtbot.keyClick(w.review, Qt.Key_U, Qt.ShiftModifier)
    assert len(w.project.decisions.active()) == 3
    key(qtbot, w, Qt.Key_U)
    # Tick candidate 2 with its number key (candidate 1 stays as preselected), then Enter.
    if w.review.candidates.rowCount() >= 2:
        key(qtbot, w, Qt.Key_2)
        assert w.review.strip.currentIndex().row() == 1 and w.review.candidates.is_ticked(1)
    key(qtbot, w, Qt.Key_Return)
    # Identities appear from "same" decisions.
    w.show_tab("Identities")
    rows = w.identities.model.rows()
    assert len(rows) >= 1 and all(len(r.crops) >= 2 for r in rows)
    w.identities.table.selectRow(0)
    w.identities.rename("red jacket, bag")
    assert w.identities.current().name == "red jacket, bag"
    w.identities.undo_stack.undo()
    assert w.identities.current().name == ""
    w.identities.undo_stack.redo()
    # Export: a Market-1501 folder with the confirmed identities.
    from reid_desktop.ui.export.actions import export_job

    out = tmp_path / "market"
    w.run_job(
        "Exporting identities",
        lambda t: export_job(
            w.project.path, {"out_dir": out, "test_ratio": 0.0, "seed": 0, "overwrite": False}, t
        ),
        w.export_actions._exported,
    )
    wait_idle(qtbot, w)
    files = sorted(p.name for p in (out / "bounding_box_train").iterdir())
    assert len(files) == sum(len(r.crops) for r in w.identities.model.rows())
    assert (out / "identities.csv").read_text().count("red jacket, bag") >= 2
    assert "Exported" in w.banner.label.text()


def test_review_blocks_a_merge_that_contradicts_different(qtbot, window, tmp_path, two_cameras):
    w = window
    w.create_project(tmp_path / "c.reidproj")
    w.add_folders([str(f) for f in two_cameras], "folders")
    wait_idle(qtbot, w)
    register_encoder(w.project, tiny_encoder(tmp_path / "tiny.onnx"), "tiny")
    open_review(qtbot, w)
    v = w.review
    p = v.proposal
    x, y = p.candidates[0], p.candidates[1]
    w.project.decisions.record(x.crops[0], y.crops[0], "different", operator="other screen")
    v.session.ledger.sync()  # the "different" arrived; the strip still shows both
    for row in (0, 1):
        if not v.candidates.is_ticked(row):
            v.toggle(row)
    before = len(w.project.decisions.history())
    key(qtbot, w, Qt.Key_Return)
    assert len(w.project.decisions.history()) == before  # nothing saved
    assert "declared different" in v.hint.text() and "Not saved" in v.hint.text()


def test_models_tab_lists_and_switches_models(qtbot, window, tmp_path, two_cameras):
    w = window
    w.create_project(tmp_path / "m.reidproj")
    w.add_folders([str(two_cameras[0])], "folders")
    wait_idle(qtbot, w)
    m1 = register_encoder(w.project, tiny_encoder(tmp_path / "a.onnx"), "a")
    m2 = register_encoder(w.project, tiny_encoder(tmp_path / "b.onnx", seed=4), "b")
    w.show_tab("Models")
    assert w.encoders_view.model.rowCount() == 2
    assert w.encoders_view.model.data(w.encoders_view.model.index(1, 0)) == "●"  # b is active
    w.encoder_actions.activate(m1.id)  # embeds only what "a" lacks (everything)
    wait_idle(qtbot, w)
    assert w.project.active_encoder_id == m1.id and w.project.embeddings.count(m1.id) == 12
    w.encoder_actions.activate(m2.id)
    wait_idle(qtbot, w)
    w.encoder_actions.activate(m1.id)  # nothing missing: no job
    assert w.job is None and w.project.embeddings.count() == 24


def test_finetune_dialog_replays_recorded_events(qtbot, window, tmp_path):
    w = window
    w.create_project(tmp_path / "f.reidproj")
    dlg = FineTuneDialog(w.project, w)
    qtbot.addWidget(dlg)
    assert not dlg.start_button.isEnabled()  # no confirmed identities yet
    assert "Not enough yet" in dlg.plan.text()
    text = RECORDED.read_text()
    half = len(text) // 2
    dlg.feed(text[:half])  # partial lines are buffered
    assert dlg.monitor.start is not None and not dlg.monitor.finished
    assert 0 < dlg.progress.value() < 1000
    dlg.feed(text[half:])
    assert dlg.monitor.done is not None and dlg.progress.value() == 1000
    assert "fine-tuned" in dlg.result.text() and not dlg.activate_button.isHidden()
    assert w.project.training_runs.all() == []  # only a started run is recorded
    got = []
    dlg.modelReady.connect(got.append)
    dlg.activate_button.click()
    assert got and got[0].endswith("encoder.onnx")


def test_training_monitor_on_error_and_cancel():
    m = TrainingMonitor()
    m.feed(
        '{"v": 1, "event": "error", "t": 1.0, "message": "cancelled; nothing was written", '
        '"cancelled": true}\nnot json\n'
    )
    assert m.finished and m.cancelled and m.error.startswith("cancelled")
    m2 = TrainingMonitor()
    m2.feed('{"event": "eval", "epoch": 1}\n')  # malformed events are counted, not fatal
    assert m2.malformed == 1 and not m2.finished


def test_finetune_runs_the_real_trainer_and_cancel_keeps_model(qtbot, window, tmp_path):
    """Start reid-train through QProcess on confirmed identities, see events arrive, cancel."""
    import sys

    from helpers.synth import make_camera_folder

    w = window
    cams = [make_camera_folder(tmp_path / "c" / f"cam{i}", people=9, per_person=2, seed=i) for i in (1, 2)]
    w.create_project(tmp_path / "ft.reidproj")
    w.add_folders([str(c) for c in cams], "folders")
    wait_idle(qtbot, w)
    by_name = {Path(c.rel_path).name: c.id for c in w.project.crops.all()}
    for p in range(9):  # confirm 9 people across both cameras
        a, b = by_name[f"p{p:03d}_v0_s1.jpg"], by_name[f"p{p:03d}_v0_s2.jpg"]
        w.project.decisions.record(a, b, "same", operator="t")
        w.project.decisions.record(a, by_name[f"p{p:03d}_v1_s2.jpg"], "same", operator="t")
    active_before = w.project.active_encoder_id
    dlg = FineTuneDialog(w.project, w, program=[sys.executable, "-m", "trainer.cli", "--init", "bignet"])
    qtbot.addWidget(dlg)
    assert dlg.plan_ok and "9</b> confirmed identities" in dlg.plan.text()
    dlg.minutes.setValue(5)
    dlg.start()
    qtbot.waitUntil(lambda: len(dlg.monitor.losses) >= 1 or dlg.monitor.finished, timeout=120_000)
    assert dlg.monitor.start is not None and dlg.monitor.start["holdout_ids"] == 3
    dlg.cancel()
    qtbot.waitUntil(lambda: dlg.monitor.finished, timeout=60_000)
    assert dlg.monitor.cancelled and "Training cancelled" in dlg.status.text()
    assert not dlg.out_dir.exists()
    assert [r.status for r in w.project.training_runs.all()] == ["cancelled"]
    assert w.project.active_encoder_id == active_before


def test_identity_actions_from_keys_and_edits_after_redo(qtbot, window, tmp_path, two_cameras, monkeypatch):
    """F2/notes actions open their dialogs (not called with Qt's `checked` flag), and a link that
    was deleted, restored by undo, can be deleted again (void follows the undo chain)."""
    from PySide6.QtWidgets import QInputDialog

    w = window
    w.create_project(tmp_path / "i.reidproj")
    w.add_folders([str(two_cameras[0]), str(two_cameras[1])], "folders")
    wait_idle(qtbot, w)
    crops = w.project.crops.all()
    d = w.project.decisions.record(crops[0].id, crops[12].id, "same", operator="t")
    w.show_tab("Identities")
    w.identities.table.selectRow(0)
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Alice", True))
    monkeypatch.setattr(QInputDialog, "getMultiLineText", lambda *a, **k: ("tall, red bag", True))
    w.identities.acts["rename"].trigger()
    w.identities.acts["notes"].trigger()
    row = w.identities.current()
    assert (row.name, row.notes) == ("Alice", "tall, red bag")
    w.identities.links.setCurrentRow(0)
    w.identities.acts["unlink"].trigger()
    assert w.identities.model.rowCount() == 0
    w.identities.undo_stack.undo()  # link back (its deletion voided)
    assert [x.id for x in w.project.decisions.active()] == [d.id]
    w.identities.table.selectRow(0)
    w.identities.links.setCurrentRow(0)
    w.identities.acts["unlink"].trigger()  # deleting it again must work
    assert w.project.decisions.active() == []
    w.identities.undo_stack.undo()
    w.identities.undo_stack.redo()
    assert w.project.decisions.active() == []
