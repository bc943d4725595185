"""Training curves of a `reid-train` run, live (from the monitor) or recorded (from the project).

The x axis is the epoch: a logged step s of S in epoch e sits at e − 1 + s/S; held-out figures
sit on whole epochs (0 = before training). A finished run keeps a compact copy of its curves in
its `training_runs` row (`to_record`); runs recorded without one are replayed from the trainer's
`metrics.json` (held-out figures per epoch, no loss).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from reid_desktop.core.training.monitor import TrainingMonitor
from reid_desktop.store import TrainingRun

log = logging.getLogger(__name__)

MAX_RECORDED_STEPS = 1000  # a recorded run keeps at most this many loss points (evenly thinned)


@dataclass(frozen=True)
class TrainingCurves:
    step_x: np.ndarray = field(default_factory=lambda: np.zeros(0))  # fractional epochs
    step_loss: np.ndarray = field(default_factory=lambda: np.zeros(0))
    loss_epochs: np.ndarray = field(default_factory=lambda: np.zeros(0))  # epochs with a mean loss
    epoch_loss: np.ndarray = field(default_factory=lambda: np.zeros(0))  # mean logged loss per epoch
    eval_epochs: np.ndarray = field(default_factory=lambda: np.zeros(0))  # 0 = before training
    rank1: np.ndarray = field(default_factory=lambda: np.zeros(0))
    mAP: np.ndarray = field(default_factory=lambda: np.zeros(0))
    best_epoch: int | None = None  # the epoch the trainer kept (or the best so far while live)
    note: str = ""  # what the curves lack, for the user

    @property
    def empty(self) -> bool:
        return not (len(self.step_x) or len(self.eval_epochs))

    def value_at_best(self, name: str) -> float | None:
        if self.best_epoch is None:
            return None
        hit = np.flatnonzero(self.eval_epochs == self.best_epoch)
        return float(getattr(self, name)[hit[0]]) if len(hit) else None

    @classmethod
    def from_steps(
        cls,
        steps: list[tuple[int, int, int, float]],
        evals: list[dict],
        best_epoch: int | None,
        note: str = "",
    ) -> TrainingCurves:
        """From (epoch, step, steps per epoch, loss) tuples and eval dicts (epoch, rank1, mAP)."""
        x = np.array([e - 1 + (s / n if n else 1.0) for e, s, n, _ in steps], np.float64)
        loss = np.array([v for *_, v in steps], np.float64)
        ep = np.array([e for e, *_ in steps], np.int64)
        loss_epochs = np.unique(ep)
        epoch_loss = np.array([loss[ep == e].mean() for e in loss_epochs], np.float64)
        return cls(
            step_x=x,
            step_loss=loss,
            loss_epochs=loss_epochs.astype(np.float64),
            epoch_loss=epoch_loss,
            eval_epochs=np.array([int(e["epoch"]) for e in evals], np.int64),
            rank1=np.array([float(e.get("rank1", np.nan)) for e in evals], np.float64),
            mAP=np.array([float(e["mAP"]) for e in evals], np.float64),
            best_epoch=best_epoch,
            note=note,
        )

    @classmethod
    def from_monitor(cls, m: TrainingMonitor) -> TrainingCurves:
        if m.done is not None and m.done.get("best_epoch") is not None:
            best = int(m.done["best_epoch"])
        else:
            best = int(m.best["epoch"]) if m.best is not None else None
        return cls.from_steps(m.steps, m.evals, best)

    def to_record(self) -> dict:
        """A compact JSON-able copy for the run's row in the project (loss thinned evenly)."""
        keep = np.arange(len(self.step_x))
        if len(keep) > MAX_RECORDED_STEPS:
            keep = np.unique(np.linspace(0, len(keep) - 1, MAX_RECORDED_STEPS).round().astype(int))
        return {
            "steps": [[round(float(self.step_x[i]), 4), float(self.step_loss[i])] for i in keep],
            "epoch_loss": [
                [int(e), float(v)] for e, v in zip(self.loss_epochs, self.epoch_loss, strict=True)
            ],
            "evals": [
                [int(e), float(r), float(m)]
                for e, r, m in zip(self.eval_epochs, self.rank1, self.mAP, strict=True)
            ],
            "best_epoch": self.best_epoch,
        }

    @classmethod
    def from_record(cls, rec: dict, note: str = "") -> TrainingCurves:
        steps = np.asarray(rec.get("steps") or np.zeros((0, 2)), np.float64).reshape(-1, 2)
        epl = np.asarray(rec.get("epoch_loss") or np.zeros((0, 2)), np.float64).reshape(-1, 2)
        ev = np.asarray(rec.get("evals") or np.zeros((0, 3)), np.float64).reshape(-1, 3)
        return cls(
            step_x=steps[:, 0],
            step_loss=steps[:, 1],
            loss_epochs=epl[:, 0],
            epoch_loss=epl[:, 1],
            eval_epochs=ev[:, 0].astype(np.int64),
            rank1=ev[:, 1],
            mAP=ev[:, 2],
            best_epoch=rec.get("best_epoch"),
            note=note,
        )


def curves_of_run(run: TrainingRun) -> TrainingCurves:
    """The curves a recorded run can still show: its stored copy, else the trainer's
    metrics.json in the run's output folder, else nothing (with a note saying why)."""
    if isinstance(run.metrics.get("curve"), dict):
        return TrainingCurves.from_record(run.metrics["curve"])
    out = run.metrics.get("out") or run.params.get("out")
    if not out:
        return TrainingCurves(note=f"run {run.id} ({run.status}) recorded no curves")
    path = Path(out) / "metrics.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        history = [h for h in data.get("history", []) if isinstance(h, dict) and "mAP" in h]
    except (OSError, ValueError, AttributeError) as exc:
        log.info("run %s: no curves in %s: %s", run.id, path, exc)
        why = (
            "it has no metrics.json"
            if isinstance(exc, FileNotFoundError)
            else "its metrics.json is unreadable"
        )
        return TrainingCurves(note=f"run {run.id} ({run.status}) recorded no curves and {why} ({path})")
    best = data.get("best_epoch")
    return TrainingCurves.from_steps(
        [],
        history,
        int(best) if isinstance(best, int | float) else None,
        note="the training loss was not recorded for this run (held-out figures from its metrics.json)",
    )
