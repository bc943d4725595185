"""The Fine-tune dialog: the plan it shows is the trainer's plan, it starts from the active model,
names recipes in plain words from the one recipe list, and says what its figures rest on."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from helpers.onnx_factory import tiny_encoder
from helpers.synth import make_camera_folder

from reid_desktop.core.encoders.registry import register_encoder
from reid_desktop.core.training.events import parse_line
from reid_desktop.core.training.recipes import DEFAULT_RECIPE, RECIPES
from reid_desktop.ui.encoders.finetune_dialog import FineTuneDialog
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
    assert dlg.recipe.currentText() == RECIPES[DEFAULT_RECIPE].title  # plain words first
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
