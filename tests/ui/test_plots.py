"""The plots draw what the Qt-free code computed: data read back from the plot items, not pixels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from helpers.embedded import confirm_people, embedded_project
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMessageBox

from reid_desktop.core.jobs import run_job
from reid_desktop.core.reports.model_report import CMC_RANKS, model_report
from reid_desktop.core.reports.training_curves import TrainingCurves
from reid_desktop.core.training.monitor import TrainingMonitor
from reid_desktop.ui.encoders.finetune_dialog import FineTuneDialog
from reid_desktop.ui.plots.embedding_map import UNLABELLED
from reid_desktop.ui.plots.report_plots import BINS, CmcPlot, ScorePlot
from reid_desktop.ui.plots.training_curves import TrainingCurvesPlot
from reid_desktop.ui.reports.report_dialog import ModelReportDialog

RECORDED = Path(__file__).resolve().parents[1] / "data" / "train_events.jsonl"


def xy(item):
    x, y = item.getData()
    return np.asarray(x if x is not None else []), np.asarray(y if y is not None else [])


def assert_curves_drawn(plot: TrainingCurvesPlot, c: TrainingCurves) -> None:
    np.testing.assert_allclose(xy(plot.step_curve)[0], c.step_x)
    np.testing.assert_allclose(xy(plot.step_curve)[1], c.step_loss)
    np.testing.assert_allclose(xy(plot.epoch_loss_curve)[1], c.epoch_loss)
    np.testing.assert_allclose(xy(plot.map_curve)[0], c.eval_epochs)
    np.testing.assert_allclose(xy(plot.map_curve)[1], c.mAP)
    np.testing.assert_allclose(xy(plot.rank1_curve)[1], c.rank1)


def test_finetune_dialog_plots_the_event_stream_and_records_it(qtbot, project):
    dlg = FineTuneDialog(project)
    qtbot.addWidget(dlg)
    dlg.run_id = project.training_runs.start("baseline", {"minutes": 1}).id
    lines = RECORDED.read_text().splitlines(keepends=True)
    dlg.feed("".join(lines[:6]))  # mid-run: what has arrived so far is drawn
    live = TrainingMonitor()
    live.feed("".join(lines[:6]))
    assert_curves_drawn(dlg.plot, TrainingCurves.from_monitor(live))
    dlg.feed("".join(lines[6:]))
    events = [json.loads(line) for line in lines if line.strip()]
    losses = [e["loss"] for e in events if e["event"] == "step"]
    maps = [e["mAP"] for e in events if e["event"] == "eval"]
    np.testing.assert_allclose(xy(dlg.plot.step_curve)[1], losses)
    np.testing.assert_allclose(xy(dlg.plot.map_curve)[1], maps)
    best = next(e for e in events if e["event"] == "done")["best_epoch"]
    assert dlg.plot.best_lines[1].value() == best and dlg.plot.best_lines[1].isVisible()
    assert xy(dlg.plot.best_star)[0].tolist() == [best]
    # The finished run keeps its curves in the project; the Models tab replays them.
    run = project.training_runs.get(dlg.run_id)
    assert run.status == "done" and len(run.metrics["curve"]["steps"]) == len(losses)


def test_hover_reads_out_the_epoch_under_the_cursor(qtbot):
    plot = TrainingCurvesPlot()
    qtbot.addWidget(plot)
    plot.resize(600, 400)
    plot.show()
    m = TrainingMonitor()
    m.feed(RECORDED.read_text())
    c = TrainingCurves.from_monitor(m)
    plot.show_curves(c)
    qtbot.wait(50)
    vb = plot.eval_plot.vb
    plot.hover.move(vb.mapViewToScene(QPointF(2.1, 0.5)))
    i = c.eval_epochs.tolist().index(2)
    assert plot.hover.last.startswith("epoch 2") and f"mAP {c.mAP[i]:.3f}" in plot.hover.last
    assert plot.hover.lines[0].value() == 2 and plot.hover.lines[0].isVisible()
    plot.hover.move(QPointF(-50, -50))  # off the plot
    assert not plot.hover.lines[0].isVisible()
    # New epochs widen the view, until the user zooms; the "A" button follows again.
    plot.loss_plot.getViewBox().setXRange(1, 2, padding=0)
    plot.loss_plot.getViewBox().sigRangeChangedManually.emit([True, True])
    longer = TrainingCurves.from_steps([(e, 1, 1, 1.0) for e in range(1, 9)], [], None)
    plot.show_curves(longer)
    assert plot.loss_plot.getViewBox().viewRange()[0] == [1, 2]
    plot.loss_plot.autoBtn.clicked.emit(plot.loss_plot.autoBtn)
    assert plot.loss_plot.getViewBox().viewRange()[0][1] > 8


def test_report_plots_draw_the_report(qtbot, project):
    enc, ids = embedded_project(project, people=8, per_camera=3, noise=1.0)
    confirm_people(project, ids, list(range(7)), different=30)
    r = run_job(model_report(project, enc))
    dlg = ModelReportDialog([r])
    qtbot.addWidget(dlg)
    (curve,) = dlg.cmc.curves
    np.testing.assert_allclose(xy(curve)[0], np.arange(1, CMC_RANKS + 1))
    np.testing.assert_allclose(xy(curve)[1], r.metrics.cmc[:CMC_RANKS])
    plot = dlg.scores[0]
    edges = np.linspace(r.scores.curve_x[0], r.scores.curve_x[-1], BINS + 1)
    np.testing.assert_allclose(xy(plot.same_hist)[0], edges)
    np.testing.assert_allclose(
        xy(plot.same_hist)[1], 100 * np.histogram(r.scores.same, edges)[0] / len(r.scores.same)
    )
    np.testing.assert_allclose(
        xy(plot.diff_hist)[1], 100 * np.histogram(r.scores.different, edges)[0] / len(r.scores.different)
    )
    np.testing.assert_allclose(xy(plot.cal_curve)[1], r.scores.curve_p)
    assert plot.floor_line.isVisible() and plot.floor_line.value() == r.scores.floor
    assert f"{r.metrics.mAP:.3f}" in dlg.figures.text() and f"{r.metrics.rank1:.3f}" in dlg.figures.text()


def test_comparison_draws_both_models_and_their_difference(qtbot, project):
    enc, ids = embedded_project(project, people=6, per_camera=2, noise=1.2)
    confirm_people(project, ids, list(range(6)), different=12)
    better = project.encoders.add("better", "/nonexistent/b.onnx", "1" * 64)
    _ids, _cams, glob, _ = project.embeddings.load_all(enc)
    people = np.array([int(c.gt_person) for c in project.crops.all()])
    centres = np.random.default_rng(5).normal(size=(6, glob.shape[1]))
    project.embeddings.put_many(
        better.id,
        [
            (c.id, centres[p] + 0.1 * glob[i], None)
            for i, (c, p) in enumerate(zip(project.crops.all(), people, strict=True))
        ],
    )
    reports = [run_job(model_report(project, e)) for e in (enc, better.id)]
    dlg = ModelReportDialog(reports)
    qtbot.addWidget(dlg)
    assert [c.report.encoder_name for c in dlg.cmc.curves] == ["synthetic", "better"]
    for c, r in zip(dlg.cmc.curves, reports, strict=True):
        np.testing.assert_allclose(xy(c)[1], r.cmc)
    delta = reports[1].metrics.mAP - reports[0].metrics.mAP
    assert f"{delta:+.3f}" in dlg.figures.text() and len(dlg.scores) == 2
    assert "Compare models" in dlg.windowTitle()


def test_empty_plots_say_why(qtbot, project):
    enc, ids = embedded_project(project, people=3)
    project.decisions.record(ids[(0, 0, 0)], ids[(0, 0, 1)], "same", operator="t")  # one camera only
    r = run_job(model_report(project, enc))
    cmc = CmcPlot()
    qtbot.addWidget(cmc)
    cmc.show_reports([r])
    assert cmc.curves == [] and "another camera" in cmc.empty.toPlainText()
    scores = ScorePlot()
    qtbot.addWidget(scores)
    scores.show_scores(r.scores)
    assert not scores.floor_line.isVisible() and len(xy(scores.cal_curve)[0]) == 0
    assert "need 10 same" in scores.summary.text()


def test_models_tab_report_and_runs(qtbot, window, tmp_path):
    from PySide6.QtWidgets import QPushButton

    from reid_desktop.ui.reports.report_dialog import ModelReportDialog
    from reid_desktop.ui.reports.runs_dialog import TrainingRunsDialog

    w = window
    w.create_project(tmp_path / "m.reidproj")
    w.show_tab("Models")
    buttons = {b.text(): b for b in w.encoders_view.findChildren(QPushButton)}
    buttons["Report…"].click()  # no model, no identities: one clear sentence, no job
    box = next(b for b in w.findChildren(QMessageBox) if b.isVisible())
    assert "no model" in box.text().lower() and w.job is None
    box.close()
    enc, ids = embedded_project(w.project, people=4)
    confirm_people(w.project, ids, [0, 1, 2, 3], different=4)
    buttons["Report…"].click()  # nothing selected: the active model
    qtbot.waitUntil(lambda: w.job is None and bool(w.report_actions.windows), timeout=30_000)
    dlg = w.report_actions.windows[-1]
    assert isinstance(dlg, ModelReportDialog) and dlg.reports[0].encoder_id == enc
    run = w.project.training_runs.start("baseline", {})
    m = TrainingMonitor()
    m.feed(RECORDED.read_text())
    curves = TrainingCurves.from_monitor(m)
    w.project.training_runs.finish(run.id, "done", {"curve": curves.to_record()})
    buttons["Training runs…"].click()
    runs = w.report_actions.windows[-1]
    assert isinstance(runs, TrainingRunsDialog) and runs.model.rowCount() == 1
    np.testing.assert_allclose(xy(runs.plot.map_curve)[1], curves.mAP)
    w.close_project()  # report windows close with their project
    assert w.report_actions.windows == []


def test_map_tab_hover_click_and_lasso(qtbot, window, tmp_path):
    w = window
    w.create_project(tmp_path / "map.reidproj")
    enc, ids = embedded_project(w.project, people=6, per_camera=2, root=str(tmp_path))
    confirm_people(w.project, ids, [0, 1, 2])
    w.browser.refresh()
    w.act_map.trigger()  # View → Embedding Map (Ctrl+5)
    qtbot.waitUntil(lambda: w.map_view.plot.map is not None, timeout=30_000)
    plot = w.map_view.plot
    m = plot.map
    # Every point is drawn once, in its identity's colour, or grey when in no identity.
    np.testing.assert_allclose(np.column_stack(xy(plot.points)), m.xy[plot.order], rtol=1e-6)
    assert sorted(plot.order.tolist()) == list(range(len(m)))
    drawn = [b.color().name() for b in plot.points.data["brush"]]
    keys = m.identity[plot.order]
    assert {c for c, k in zip(drawn, keys, strict=True) if k < 0} == {UNLABELLED}
    colour_of = {}
    for c, k in zip(drawn, keys, strict=True):
        if k >= 0:
            assert colour_of.setdefault(int(k), c) == c  # one colour per identity
    assert len(set(colour_of.values())) == len(colour_of) == 3  # fewer identities than colours
    # Hover over a point: its name and identity, and its thumbnail is asked for.
    i = int(np.flatnonzero(m.identity >= 0)[0])
    asked = []
    plot.thumbnails.get = lambda path: asked.append(path)
    plot.hover_at(plot.vb.mapViewToScene(QPointF(*m.xy[i])))
    assert plot.hovered is not None and plot.tip.isVisible()
    assert m.names[plot.hovered] in plot.tip_text.text() and asked == [m.paths[plot.hovered]]
    # Click: the crop is shown (and selected) in the Crops tab.
    plot.cropActivated.emit(int(m.crop_ids[i]))
    assert w.tabs.currentWidget() is w.browser
    assert w.browser.grid.currentIndex().data(Qt.UserRole + 1) == int(m.crop_ids[i])
    # Lasso around everything left of the middle: exactly those crops are shown in Crops.
    w.show_tab("Map")
    mid = float(np.median(m.xy[:, 0]))
    (x0, y0), y1 = m.xy.min(0) - 1, m.xy[:, 1].max() + 1
    plot.lasso_points = [QPointF(x0, y0), QPointF(mid, y0), QPointF(mid, y1), QPointF(x0, y1)]
    plot.finish_lasso()
    expected = sorted(m.crop_ids[m.xy[:, 0] < mid].tolist())
    assert sorted(w.map_view.selection) == expected
    qtbot.keyClick(w.map_view.plot, Qt.Key_Return)
    shown = sorted(w.browser.crops.item(r).crop_id for r in range(w.browser.crops.rowCount()))
    assert shown == expected and "selected on the map" in w.browser.count_label.text()
    w.browser.count_label.linkActivated.emit("all")  # "show all"
    assert w.browser.crops.rowCount() == len(m)


class ScriptedTSNE:
    """openTSNE's interface: calls back every k iterations until told to stop (slow=True: 10 ms a
    call, long enough to cancel) and returns the first two feature columns."""

    slow = False

    def __init__(self, callbacks, callbacks_every_iters, **_kw):
        self.callback, self.every = callbacks, callbacks_every_iters

    def fit(self, x):
        import time

        for it in range(self.every, (100_000 if self.slow else 751), self.every):
            time.sleep(0.01 if self.slow else 0)
            if self.callback(it, 0.0, None):
                break
        return x[:, :2]


def test_tsne_map_and_its_cancel(qtbot, window, tmp_path, monkeypatch):
    import sys
    import types

    from reid_desktop.core.reports import embedding_map as em

    monkeypatch.setitem(sys.modules, "openTSNE", types.SimpleNamespace(TSNE=ScriptedTSNE))
    monkeypatch.setattr(em, "tsne_available", lambda: True)
    w = window
    w.create_project(tmp_path / "t.reidproj")
    embedded_project(w.project, people=4)
    w.show_tab("Map")
    qtbot.waitUntil(lambda: w.map_view.plot.map is not None and w.job is None, timeout=30_000)
    axis = w.map_view.plot.plot.getPlotItem().getAxis("bottom")
    assert w.map_view.plot.map.method == "pca" and axis.isVisible()  # PCA axes mean something
    w.map_view.method.setCurrentIndex(1)
    qtbot.waitUntil(lambda: w.job is None and w.map_view.plot.map.method == "tsne", timeout=30_000)
    assert not axis.isVisible()  # t-SNE coordinates do not
    monkeypatch.setattr(ScriptedTSNE, "slow", True)
    w.map_view.method.setCurrentIndex(0)
    qtbot.waitUntil(lambda: w.job is None and w.map_view.plot.map.method == "pca", timeout=30_000)
    w.map_view.method.setCurrentIndex(1)  # a slow t-SNE: a progress dialog with Cancel
    qtbot.waitUntil(lambda: w.job is not None, timeout=5_000)
    seen = []
    w.job.progress.connect(seen.append)
    qtbot.waitUntil(lambda: any(p.total == 750 and p.done > 0 for p in seen), timeout=10_000)
    w.job.cancel()
    qtbot.waitUntil(lambda: w.job is None and w.map_view.method.currentData() == "pca", timeout=30_000)
    assert w.map_view.plot.map.method == "pca" and "PCA" in w.map_view.info.text()


def test_visible_map_catches_up_after_a_job_and_on_open(qtbot, window, tmp_path):
    w = window
    w.create_project(tmp_path / "c.reidproj")
    _enc, ids = embedded_project(w.project, people=4)
    w.show_tab("Map")
    qtbot.waitUntil(lambda: w.map_view.plot.map is not None and w.job is None, timeout=30_000)
    assert (w.map_view.plot.map.identity >= 0).sum() == 0
    confirm_people(w.project, ids, [0])  # e.g. decided elsewhere while the map is shown

    def other_job(token):
        yield from ()

    w.run_job("Some other work", other_job)
    qtbot.waitUntil(lambda: w.job is None and (w.map_view.plot.map.identity >= 0).sum() == 4, timeout=30_000)
    w.close_project()
    assert w.map_view.plot.map is None
    w.open_project(tmp_path / "c.reidproj")  # the Map tab is still the one shown
    qtbot.waitUntil(lambda: w.map_view.plot.map is not None and w.job is None, timeout=30_000)


def test_help_lists_the_map_and_report_keys(qtbot, window):
    from reid_desktop.ui.shell.help_dialogs import shortcut_groups

    groups = shortcut_groups(window.findChildren(QAction), window.screen_of)
    assert ("L", "Lasso") in groups["Map"] and ("Esc", "Clear selection") in groups["Map"]
    everywhere = dict(groups["Everywhere"])
    assert everywhere["Ctrl+R"] == "Model Report…" and everywhere["Ctrl+5"] == "Embedding Map"


def test_a_clicked_map_point_is_scrolled_into_view_and_a_selection_clears_old_filters(
    qtbot, window, tmp_path
):
    w = window
    w.create_project(tmp_path / "many.reidproj")
    embedded_project(w.project, people=40, per_camera=4)  # 320 crops: far more than one screen
    w.show_tab("Map")
    qtbot.waitUntil(lambda: w.map_view.plot.map is not None and w.job is None, timeout=30_000)
    m = w.map_view.plot.map
    last = max(m.crop_ids.tolist(), key=lambda c: w.project.crops.get(c).rel_path)  # the grid's end
    w.map_view.plot.cropActivated.emit(int(last))
    qtbot.wait(50)  # the deferred scroll, after the grid's layout
    idx = w.browser.grid.currentIndex()
    assert idx.data(Qt.UserRole + 1) == last
    assert w.browser.grid.viewport().rect().intersects(w.browser.grid.visualRect(idx))
    # An old name filter must not silently hide part of a lasso selection.
    w.browser.filter.setText("p039")
    w.show_tab("Map")
    some = sorted(m.crop_ids[:30].tolist())
    w.show_crops(some)
    proxy = w.browser.proxy
    shown = sorted(proxy.index(r, 0).data(Qt.UserRole + 1) for r in range(proxy.rowCount()))
    assert w.browser.filter.text() == "" and shown == some


def test_the_score_legend_never_hides_a_bar(qtbot):
    from reid_desktop.core.reports.model_report import score_summary

    rng = np.random.default_rng(0)
    # "different" piles up at the low scores, right under the legend's corner.
    s = score_summary(rng.normal(0.6, 0.08, 300), rng.normal(0.1, 0.03, 300))
    plot = ScorePlot()
    qtbot.addWidget(plot)
    plot.resize(560, 340)
    plot.show()
    plot.show_scores(s)
    qtbot.wait(20)
    box = plot.legend.sceneBoundingRect()
    vb = plot.item.vb
    centres = (plot.edges[:-1] + plot.edges[1:]) / 2
    for share in (plot.same_share, plot.diff_share):
        for x, y in zip(centres, share, strict=True):
            if y > 0:
                assert not box.contains(vb.mapViewToScene(QPointF(x, y))), (x, y)
