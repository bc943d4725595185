"""The Fine-tune dialog: the plan it shows is the trainer's plan, it starts from the active model,
names recipes in plain words from the one recipe list, and says what its figures rest on."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
from helpers.onnx_factory import tiny_encoder
from helpers.synth import make_camera_folder

from reid_desktop.core.encoders.registry import register_encoder
from reid_desktop.core.training.events import parse_line
from reid_desktop.core.training.plan import (
    COMPARABLE_HOLDOUT_IDS,
    DEFAULT_HOLDOUT,
    TrainingPlan,
    holdout_count,
    min_identities,
)
from reid_desktop.core.training.recipes import DEFAULT_RECIPE, RECIPES
from reid_desktop.ui.encoders.finetune_dialog import BUDGET_HINT, FineTuneDialog, budget_hint, plan_text
from trainer.cli import main as train_main


def confirmed_project(qtbot, w, tmp_path: Path, people: int = 9) -> dict[str, int]:
    cams = [
        make_camera_folder(tmp_path / "c" / f"cam{i}", people=people, per_person=2, seed=i) for i in (1, 2)
    ]
    w.create_project(tmp_path / "ft.reidproj")
    w.add_folders([str(c) for c in cams], "folders")
    qtbot.waitUntil(lambda: w.job is None, timeout=60_000)
    by_name = {Path(c.rel_path).name: c.id for c in w.project.crops.all()}
    for p in range(people):
        a = by_name[f"p{p:03d}_v0_s1.jpg"]
        w.project.decisions.record(a, by_name[f"p{p:03d}_v0_s2.jpg"], "same", operator="t")
        w.project.decisions.record(a, by_name[f"p{p:03d}_v1_s2.jpg"], "same", operator="t")
    return by_name


def test_the_dialogs_plan_is_the_trainers_plan(qtbot, window, tmp_path):
    """Issue 9 bug 3: the dialog left out identities with contradictory decisions while the trainer
    trained on them. One plan module now serves both; its numbers are the trainer's plan event."""
    w = window
    by_name = confirmed_project(qtbot, w, tmp_path, people=10)
    # Person 0's identity holds a contradiction: two of its crops were also called different.
    w.project.decisions.record(
        by_name["p000_v0_s2.jpg"], by_name["p000_v1_s2.jpg"], "different", operator="t"
    )
    dlg = FineTuneDialog(w.project, w)
    qtbot.addWidget(dlg)
    plan = dlg.plan_data
    assert plan.ok and plan.identities == 9 and plan.left_out == {"contradictions": 1}
    assert "9</b> confirmed identities" in dlg.plan.text() and "contradictions" in dlg.plan.text()
    dlg.out_dir = tmp_path / "run"
    args = dlg.trainer_args()
    i = args.index("--minutes")
    args[i : i + 2] = ["--epochs", "1"]
    args[args.index("--init") + 1] = "bignet"  # the tiny test net; the plan does not depend on it
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert train_main(args) == 0
    events = [e for e in (parse_line(x) for x in buf.getvalue().splitlines()) if e is not None]
    assert next(e for e in events if e.type == "step")["step"] == 1  # the chart's first point
    plan_event = next(e for e in events if e.type == "plan")
    assert plan_event.data == plan.as_dict()
    start = next(e for e in events if e.type == "start")
    assert (start["train_ids"], start["holdout_ids"]) == (plan.train_ids, plan.holdout_ids)


def test_start_from_the_active_model_and_recipes_from_one_list(qtbot, window, tmp_path):
    w = window
    w.create_project(tmp_path / "s.reidproj")
    dlg = FineTuneDialog(w.project, w)
    qtbot.addWidget(dlg)
    assert dlg.start_from.currentData() == "default"  # only the shipped default: start there
    imported = register_encoder(w.project, tiny_encoder(tmp_path / "imported.onnx"), "lobby-cam")
    dlg = FineTuneDialog(w.project, w)
    qtbot.addWidget(dlg)
    assert dlg.start_from.currentData() == imported.file
    assert "active model (lobby-cam)" in dlg.start_from.currentText()
    assert [dlg.recipe.itemData(i) for i in range(dlg.recipe.count())] == list(RECIPES)
    assert dlg.recipe.currentData() == DEFAULT_RECIPE
    assert dlg.recipe.currentText() == RECIPES[DEFAULT_RECIPE].title + " (recommended)"  # plain words
    assert RECIPES[DEFAULT_RECIPE].method in dlg.method.text()  # the method name second
    dlg.recipe.setCurrentIndex(list(RECIPES).index("cosine-slice"))
    assert "cosine softmax" in dlg.method.text()
    dlg.out_dir = tmp_path / "o"
    args = dlg.trainer_args()
    assert (
        args[args.index("--init") + 1] == imported.file and args[args.index("--recipe") + 1] == "cosine-slice"
    )


def done_line(verdict: str, recommend: str, sentence: str) -> str:
    import json

    basis = {"queries": 24, "holdout_ids": 6, "protocol": "cross-camera"}
    return (
        json.dumps(
            {
                "v": 1,
                "event": "done",
                "t": 9.0,
                "out": "/x/run",
                "best_epoch": 3,
                "before": {"rank1": 1.0, "rank5": 1.0, "mAP": 1.0, **basis},
                "after": {"rank1": 1.0, "rank5": 1.0, "mAP": 1.0, "mAP_interval": [1.0, 1.0], **basis},
                "comparison": {"verdict": verdict, "recommend": recommend, "sentence": sentence},
            }
        )
        + "\n"
    )


def test_result_says_what_it_rests_on_and_recommends_keeping_when_not_better(qtbot, window, tmp_path):
    w = window
    w.create_project(tmp_path / "r.reidproj")
    dlg = FineTuneDialog(w.project, w)
    qtbot.addWidget(dlg)
    dlg.feed(done_line("unclear", "keep", "Not shown to be better: … too few held-out people to tell"))
    text = dlg.result.text()
    assert "6 held-out people, 24 queries" in text and "too few" in text and "95 % interval" in text
    assert dlg.close_button.text() == "Keep the current model" and dlg.close_button.isDefault()
    assert "anyway" in dlg.activate_button.text() and not dlg.activate_button.isHidden()  # still possible
    dlg2 = FineTuneDialog(w.project, w)
    qtbot.addWidget(dlg2)
    dlg2.feed(done_line("better", "activate", "Better than the start model: …"))
    assert dlg2.activate_button.isDefault() and dlg2.activate_button.text() == "Activate && re-score"


# A stand-in trainer: announces its start, then runs until SIGTERM, which it turns into the real
# trainer's clean cancel event (the real trainer's cancel is covered in test_workflows).
FAKE_TRAINER = """
import json, signal, sys, time
def say(**ev):
    print(json.dumps({"v": 1, "t": 0.1, **ev}), flush=True)
def stop(*_):
    say(event="error", message="cancelled; nothing was written", cancelled=True)
    sys.exit(1)
signal.signal(signal.SIGTERM, stop)
say(event="start", recipe="baseline", train_ids=3, train_crops=12, holdout_ids=2, minutes=10)
while True:
    time.sleep(0.05)
"""


@pytest.fixture
def running_dialog(qtbot, window, tmp_path):
    """A Fine-tune dialog whose (stand-in) trainer is running; stopped again after the test."""
    import sys

    confirmed_project(qtbot, window, tmp_path, people=5)
    dlg = FineTuneDialog(window.project, window, program=[sys.executable, "-c", FAKE_TRAINER])
    qtbot.addWidget(dlg)
    dlg.show()
    dlg.start()
    qtbot.waitUntil(lambda: dlg.monitor.start is not None, timeout=30_000)
    yield dlg
    dlg.cancel()  # a failed test must not leave the process behind its deleted dialog


def answer_stop_question(monkeypatch, answer: str) -> list[str]:
    """The 'Stop training?' box is answered with the button labelled `answer`; texts recorded."""
    from PySide6.QtWidgets import QMessageBox

    asked: list[str] = []

    def exec_(box: QMessageBox) -> int:
        asked.append(box.text().splitlines()[0])
        next(b for b in box.buttons() if b.text().replace("&&", "&") == answer).click()
        return 0

    monkeypatch.setattr(QMessageBox, "exec", exec_)
    return asked


def test_closing_while_training_asks_and_keep_training_keeps_the_run(qtbot, running_dialog, monkeypatch):
    from PySide6.QtCore import Qt

    dlg = running_dialog
    asked = answer_stop_question(monkeypatch, "Keep training")
    dlg.close_button.click()  # Close
    qtbot.keyClick(dlg, Qt.Key_Escape)  # Esc
    dlg.close()  # the window's ✕
    assert asked == ["Training is running. Stop it and close?"] * 3
    assert dlg.isVisible() and dlg.running() and dlg.monitor.error is None
    asked_stop = answer_stop_question(monkeypatch, "Stop & close")
    dlg.close()
    assert asked_stop and not dlg.isVisible() and not dlg.running()


def test_stop_and_close_cancels_like_cancel_training(qtbot, window, running_dialog, monkeypatch):
    w, dlg = window, running_dialog
    answer_stop_question(monkeypatch, "Stop & close")
    dlg.close_button.click()
    qtbot.waitUntil(lambda: dlg.monitor.finished, timeout=30_000)
    assert not dlg.isVisible() and not dlg.running() and dlg.monitor.cancelled
    assert [r.status for r in w.project.training_runs.all()] == ["cancelled"]
    assert dlg.status.text() == "Training cancelled; nothing was written. The active model is unchanged."


def test_a_closed_dialog_without_a_run_does_not_ask(qtbot, window, tmp_path, monkeypatch):
    window.create_project(tmp_path / "n.reidproj")
    dlg = FineTuneDialog(window.project, window)
    qtbot.addWidget(dlg)
    dlg.show()
    asked = answer_stop_question(monkeypatch, "Keep training")
    dlg.close_button.click()
    assert asked == [] and not dlg.isVisible()


def test_ended_text_is_one_sentence_per_thought():
    from reid_desktop.ui.encoders.finetune_dialog import ended_text

    assert ended_text(True, "cancelled; nothing was written") == (
        "Training cancelled; nothing was written. The active model is unchanged."
    )
    assert ended_text(False, "the trainer stopped (exit code 2)") == (
        "Training failed: the trainer stopped (exit code 2). The active model is unchanged."
    )
    assert (
        ended_text(False, "out of memory.")
        == "Training failed: out of memory. The active model is unchanged."
    )


def small_plan(identities: int, holdout: int, crops: int = 18) -> TrainingPlan:
    return TrainingPlan(
        identities=identities,
        crops=crops,
        train_ids=identities - holdout,
        train_crops=crops - 2 * holdout,
        holdout_ids=holdout,
        holdout_crops=2 * holdout,
        holdout_cross_camera_ids=holdout,
    )


def test_the_plan_shows_the_real_held_out_share_and_warns_when_too_few_are_held_out():
    text = plan_text(small_plan(5, 2))  # walkthrough: "2 (30%)" for 2 of 5
    assert "<b>2</b> of 5 (40%) are held out" in text
    assert "Only 2 held-out people: too few to tell" in text and "you can still start" in text
    assert f"Confirm about {min_identities(DEFAULT_HOLDOUT, COMPARABLE_HOLDOUT_IDS)} identities" in text
    enough = min_identities(DEFAULT_HOLDOUT, COMPARABLE_HOLDOUT_IDS)
    plan = small_plan(enough, holdout_count(enough, DEFAULT_HOLDOUT), crops=4 * enough)
    assert plan.holdout_ids == COMPARABLE_HOLDOUT_IDS and not plan.weak_holdout
    assert "too few" not in plan_text(plan)


def test_five_identities_can_start_but_the_dialog_warns(qtbot, window, tmp_path):
    w = window
    confirmed_project(qtbot, w, tmp_path, people=5)
    dlg = FineTuneDialog(w.project, w, program=["true"])
    qtbot.addWidget(dlg)
    assert dlg.plan_data.identities == 5 and dlg.plan_data.weak_holdout
    assert "too few to tell" in dlg.plan.text() and dlg.start_button.isEnabled()


def test_readme_and_code_agree_on_how_many_identities_fine_tuning_needs():
    import re

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    [needed] = re.findall(r"Fine-tune…\*\* \(Ctrl\+T\) once you have confirmed at least (\d+)", readme)
    assert int(needed) == min_identities(DEFAULT_HOLDOUT)
    [warned] = re.findall(r"with fewer than (\d+) the plan warns", readme)
    assert int(warned) == min_identities(DEFAULT_HOLDOUT, COMPARABLE_HOLDOUT_IDS)


def test_budget_hint_uses_the_projects_last_run_else_the_measured_figure(qtbot, window, tmp_path):
    w = window
    w.create_project(tmp_path / "b.reidproj")
    dlg = FineTuneDialog(w.project, w)
    qtbot.addWidget(dlg)
    assert dlg.budget_hint.text() == BUDGET_HINT
    run = w.project.training_runs.start(DEFAULT_RECIPE, {"minutes": 8})
    curve = {"evals": [[0, 0.5, 0.4], [1, 0.6, 0.5], [2, 0.7, 0.6]]}
    w.project.training_runs.finish(run.id, "done", {"curve": curve})
    assert budget_hint(w.project) == "your last run: 8 min gave 2 epochs"


def test_a_saturated_start_is_said_before_training_goes_on(qtbot, window, tmp_path):
    import json

    window.create_project(tmp_path / "s.reidproj")
    dlg = FineTuneDialog(window.project, window)
    qtbot.addWidget(dlg)
    ev = {"v": 1, "event": "eval", "t": 1.0, "epoch": 0, "rank1": 1.0, "rank5": 1.0, "mAP": 1.0}
    dlg.feed(json.dumps(ev) + "\n")
    assert "this run cannot show an improvement" in dlg.status.text()


def test_the_loss_chart_fits_losses_above_one_from_the_first_step(qtbot, window, tmp_path):
    """Walkthrough: the loss axis stayed at 0–1 (fixed while empty) so losses of 3–6 never showed."""
    import json

    window.create_project(tmp_path / "l.reidproj")
    dlg = FineTuneDialog(window.project, window)
    qtbot.addWidget(dlg)
    dlg.show()

    def feed(**ev) -> None:
        dlg.feed(json.dumps({"v": 1, "t": 1.0, **ev}) + "\n")

    feed(event="eval", epoch=0, rank1=0.5, rank5=0.8, mAP=0.4)
    feed(event="step", epoch=1, step=1, steps=40, loss=5.5, terms={}, lr=0.1)
    feed(event="step", epoch=1, step=5, steps=40, loss=4.5, terms={}, lr=0.1)
    view = dlg.plot.loss_plot

    def fits() -> bool:
        (_x, (y0, y1)) = view.viewRange()
        return y0 <= 4.5 and y1 >= 5.5

    qtbot.waitUntil(fits, timeout=5_000)  # the axis follows on the next paint
