"""Where training crops come from, and the identity-disjoint hold-out split. No torch here.

Sources: a project file (identities = crops joined by the operators' "same" decisions; their
"different" decisions supply hard negative pairs), a folder with `ground_truth.csv`, or a
Market-1501 folder (`bounding_box_train/`).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from reid_desktop.core.evaluation.evaluate import Labelled, read_ground_truth, read_market
from reid_desktop.core.identities.links import LinkGraph
from reid_desktop.core.ingest.ground_truth import GT_NAME, GroundTruthError
from reid_desktop.store import Project


class DataError(ValueError):
    """The label set cannot train anything; the message says why and what to do."""


@dataclass
class TrainingSet:
    samples: list[Labelled]
    description: str
    hard_negatives: list[tuple[Path, Path]] = field(default_factory=list)

    @property
    def identities(self) -> list[str]:
        return sorted({s.pid for s in self.samples})


def from_folder(data_dir: Path, gt: Path | None = None) -> TrainingSet:
    """Crops of a ground-truth CSV (the app's one reader); absolute paths only in a `--gt` file."""
    explicit = gt is not None
    gt = gt or data_dir / GT_NAME
    if not gt.is_file():
        raise DataError(f"no ground truth at {gt}")
    try:
        samples = read_ground_truth(data_dir, gt, absolute_ok=explicit)
    except GroundTruthError as exc:
        raise DataError(str(exc)) from None
    return TrainingSet(samples, f"{data_dir} ({gt.name})")


def from_market(data_dir: Path) -> TrainingSet:
    samples = [s for s in read_market(data_dir, "bounding_box_train") if s.pid != "0"]
    return TrainingSet(samples, f"{data_dir} (Market-1501 bounding_box_train)")


def from_project(path: Path) -> TrainingSet:
    with Project.open(path, read_only=True) as project:  # training only reads the project
        decisions = project.decisions.active()
        links = LinkGraph(decisions)
        cams = {c.id: c for c in project.cameras.all()}
        crops = {c.id: c for c in project.crops.all()}

        paths = project.crops.paths()

        samples = [
            Labelled(paths[cid], f"id{root}", cams[crops[cid].camera_id].name)
            for root, members in sorted(links.components().items())
            for cid in members
            if cid in crops
        ]
        negatives = [
            (paths[d.query_crop_id], paths[d.candidate_crop_id])
            for d in decisions
            if d.verdict == "different" and d.query_crop_id in crops and d.candidate_crop_id in crops
        ]
    return TrainingSet(samples, f"project {path.name}: confirmed identities", negatives)


def check(ts: TrainingSet, *, drop_singletons: bool = False) -> TrainingSet:
    """Refuse label sets that cannot train; identities with one crop are an error unless dropped."""
    if not ts.samples:
        raise DataError(f"no labelled crops in {ts.description}")
    counts = Counter(s.pid for s in ts.samples)
    singles = sorted(p for p, n in counts.items() if n < 2)
    if singles and not drop_singletons:
        shown = ", ".join(singles[:8]) + (" …" if len(singles) > 8 else "")
        raise DataError(
            f"{len(singles)} identit{'y has' if len(singles) == 1 else 'ies have'} only one crop "
            f"({shown}); confirm more crops of them or pass --drop-singletons"
        )
    samples = [s for s in ts.samples if counts[s.pid] >= 2]
    if len({s.pid for s in samples}) < 2:
        raise DataError(
            f"training needs at least two identities with two crops each; {ts.description} has "
            f"{len({s.pid for s in samples})}"
        )
    missing = [s.path for s in samples if not s.path.is_file()]
    if missing:
        raise DataError(f"{len(missing)} labelled crop file(s) are missing, e.g. {missing[0]}")
    return TrainingSet(samples, ts.description, ts.hard_negatives)


def split_holdout(ts: TrainingSet, frac: float, seed: int) -> tuple[list[Labelled], list[Labelled]]:
    """Identity-disjoint split: `frac` of identities (never trained on) for evaluation."""
    if not 0.0 < frac < 1.0:
        raise DataError("--holdout-frac must be between 0 and 1")
    ids = ts.identities
    rng = random.Random(seed)
    rng.shuffle(ids)
    n_hold = max(2, round(frac * len(ids)))
    if len(ids) - n_hold < 2:
        raise DataError(
            f"{len(ids)} identities are too few to hold out {frac:.0%} and still train on two or more"
        )
    held = set(ids[:n_hold])
    train = [s for s in ts.samples if s.pid not in held]
    hold = [s for s in ts.samples if s.pid in held]
    if len({s.camera for s in hold}) < 2:
        raise DataError("the held-out identities come from a single camera; evaluation needs two")
    return train, hold
