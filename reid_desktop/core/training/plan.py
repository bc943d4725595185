"""What a training run will use: its labelled crops, the identity-disjoint hold-out split, and
the plan the Fine-tune dialog shows. No torch here: the dialog and `reid-train` call the same
functions, so the numbers the operator reads before a run are the numbers the run reports
(its `plan` event).

Sources: a project (identities = crops joined by the operators' "same" decisions; identities that
hold a contradiction, a "different" decision between two of their own crops, are left out until an
analyst resolves it, because one of their links is wrong; "different" decisions between identities
supply hard negative pairs), a folder with `ground_truth.csv`, or a Market-1501 folder.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from reid_desktop.core.evaluation.evaluate import Labelled, read_ground_truth, read_market
from reid_desktop.core.identities.links import LinkGraph
from reid_desktop.core.ingest.ground_truth import GT_NAME, GroundTruthError
from reid_desktop.store import Project

DEFAULT_HOLDOUT = 0.3
MIN_TRAIN_IDS = 2  # a run needs two identities to learn from…
MIN_HOLDOUT_IDS = 2  # …and two held out (never trained on) to measure it
# Fewer held-out people than this cannot tell two models apart: Rank-1/mAP move in big steps or
# saturate at 1.000 (the plan warns; a run is still allowed).
COMPARABLE_HOLDOUT_IDS = 5


class DataError(ValueError):
    """The label set cannot train anything; the message says why and what to do."""


@dataclass
class TrainingSet:
    samples: list[Labelled]
    description: str
    hard_negatives: list[tuple[Path, Path]] = field(default_factory=list)
    left_out: dict[str, int] = field(default_factory=dict)  # reason -> identities not used

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


def project_set(project: Project) -> TrainingSet:
    """The confirmed identities of an open project (read only)."""
    decisions = project.decisions.active()
    links = LinkGraph(decisions)
    cams = {c.id: c for c in project.cameras.all()}
    crops = {c.id: c for c in project.crops.all()}
    paths = project.crops.paths()
    contradicted = {links.component(x) for x, _ in links.contradictions()}
    samples = [
        Labelled(paths[cid], f"id{root}", cams[crops[cid].camera_id].name)
        for root, members in sorted(links.components().items())
        if root not in contradicted
        for cid in members
        if cid in crops
    ]
    negatives = [
        (paths[d.query_crop_id], paths[d.candidate_crop_id])
        for d in decisions
        if d.verdict == "different" and d.query_crop_id in crops and d.candidate_crop_id in crops
    ]
    left = {"contradictions": len(contradicted)} if contradicted else {}
    return TrainingSet(samples, f"project {project.path.name}: confirmed identities", negatives, left)


def from_project(path: Path) -> TrainingSet:
    with Project.open(path, read_only=True) as project:  # training only reads the project
        return project_set(project)


def check(ts: TrainingSet, *, drop_singletons: bool = False, files: bool = True) -> TrainingSet:
    """Refuse label sets that cannot train; identities with one crop are an error unless dropped
    (a project's are always dropped: a lone crop left after a split is no identity to learn).
    `files=False` skips the disk check (the dialog's preview)."""
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
    left = dict(ts.left_out)
    if singles:
        left["one crop"] = left.get("one crop", 0) + len(singles)
    if len({s.pid for s in samples}) < 2:
        raise DataError(
            f"training needs at least two identities with two crops each; {ts.description} has "
            f"{len({s.pid for s in samples})}"
        )
    if files:
        missing = [s.path for s in samples if not s.path.is_file()]
        if missing:
            raise DataError(f"{len(missing)} labelled crop file(s) are missing, e.g. {missing[0]}")
    return TrainingSet(samples, ts.description, ts.hard_negatives, left)


def holdout_count(n_ids: int, frac: float) -> int:
    return max(MIN_HOLDOUT_IDS, round(frac * n_ids))


def min_identities(frac: float, held_out: int = MIN_HOLDOUT_IDS) -> int:
    """The fewest identities that leave `held_out` (at least two) held out and two to train on."""
    n = max(held_out, MIN_HOLDOUT_IDS) + MIN_TRAIN_IDS
    while n - holdout_count(n, frac) < MIN_TRAIN_IDS or holdout_count(n, frac) < held_out:
        n += 1
    return n


def split_holdout(ts: TrainingSet, frac: float, seed: int) -> tuple[list[Labelled], list[Labelled]]:
    """Identity-disjoint split: `frac` of identities (never trained on) for evaluation. Held-out
    identities seen in one camera only are fine: they are scored within their camera
    (`core.training.holdout`)."""
    if not 0.0 < frac < 1.0:
        raise DataError("--holdout-frac must be between 0 and 1")
    ids = ts.identities
    rng = random.Random(seed)
    rng.shuffle(ids)
    n_hold = holdout_count(len(ids), frac)
    if len(ids) - n_hold < MIN_TRAIN_IDS:
        raise DataError(
            f"{len(ids)} identities are too few to hold out {frac:.0%} and still train on two or more "
            f"(need at least {min_identities(frac)})"
        )
    held = set(ids[:n_hold])
    train = [s for s in ts.samples if s.pid not in held]
    hold = [s for s in ts.samples if s.pid in held]
    return train, hold


def cross_camera_ids(items: list[Labelled]) -> int:
    cams: dict[str, set[str]] = defaultdict(set)
    for s in items:
        cams[s.pid].add(s.camera)
    return sum(len(c) > 1 for c in cams.values())


@dataclass(frozen=True)
class TrainingPlan:
    """The numbers a run rests on (the dialog shows them; `reid-train` emits them as `plan`)."""

    identities: int = 0
    crops: int = 0
    train_ids: int = 0
    train_crops: int = 0
    holdout_ids: int = 0
    holdout_crops: int = 0
    holdout_cross_camera_ids: int = 0  # held-out people seen in two or more cameras
    train_cross_camera_ids: int = 0
    left_out: dict[str, int] = field(default_factory=dict)
    holdout_frac: float = DEFAULT_HOLDOUT
    seed: int = 0
    problem: str = ""  # why the run cannot start ("" = it can)

    @property
    def ok(self) -> bool:
        return not self.problem

    @property
    def weak_holdout(self) -> bool:
        """Too few held-out people for before/after figures to tell models apart."""
        return self.ok and self.holdout_ids < COMPARABLE_HOLDOUT_IDS

    def as_dict(self) -> dict:
        return asdict(self)


def make_plan(
    ts: TrainingSet,
    frac: float = DEFAULT_HOLDOUT,
    seed: int = 0,
    *,
    drop_singletons: bool = False,
    files: bool = True,
) -> tuple[TrainingPlan, list[Labelled], list[Labelled]]:
    """(plan, train crops, held-out crops); raises DataError when the set cannot train."""
    checked = check(ts, drop_singletons=drop_singletons, files=files)
    train, hold = split_holdout(checked, frac, seed)
    plan = TrainingPlan(
        identities=len(checked.identities),
        crops=len(checked.samples),
        train_ids=len({s.pid for s in train}),
        train_crops=len(train),
        holdout_ids=len({s.pid for s in hold}),
        holdout_crops=len(hold),
        holdout_cross_camera_ids=cross_camera_ids(hold),
        train_cross_camera_ids=cross_camera_ids(train),
        left_out=dict(checked.left_out),
        holdout_frac=frac,
        seed=seed,
    )
    return plan, train, hold


def project_plan(project: Project, frac: float = DEFAULT_HOLDOUT, seed: int = 0) -> TrainingPlan:
    """The plan `reid-train --project` will follow for this project (the dialog's preview); a set
    that cannot train gives a plan whose `problem` says why."""
    ts = project_set(project)
    try:
        plan, _, _ = make_plan(ts, frac, seed, drop_singletons=True, files=False)
    except DataError as exc:
        counts = Counter(s.pid for s in ts.samples)
        return TrainingPlan(
            identities=sum(n >= 2 for n in counts.values()),
            crops=sum(n for n in counts.values() if n >= 2),
            left_out=dict(ts.left_out),
            holdout_frac=frac,
            seed=seed,
            problem=str(exc),
        )
    return plan
