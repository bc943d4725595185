"""What the Market-1501 export (`reid_desktop.core.export.market`) will write; nothing is written here.

Identities are the connected components of the *active* "same" decisions (`LinkGraph`). A
component is exported when it has no "different" decision inside it (a contradiction the operator
still has to resolve) and at least 2 of its crops are readable on disk (missing crops are skipped).

File names follow Market-1501: ``{pid:04d}_c{cam}s1_{frame:06d}_{n:02d}.jpg`` where

- pid: 1, 2, 3, ... in the order of each identity's smallest crop id (0 and -1 mean distractor and
  junk in Market-1501, so they are never used); more than 9999 identities widen the field;
- cam: 1-based index of the crop's camera among the project's cameras sorted by name;
- frame: the frame parsed from the source name, else the crop id;
- n: running counter per (pid, cam), from 00, in crop-id order, so every name is unique.

Split (by identity, so train and test never share a person): the identities are shuffled with
``random.Random(seed)`` and the first ``n_test = floor(test_ratio * n_identities + 0.5)`` go to the
test side. A test identity gives ``query/`` the first crop (by crop id) of each camera that
`query_cameras` picks and puts the rest in ``bounding_box_test/``; the pick keeps every query
answerable, i.e. with a gallery crop of the same person in another camera (the Market-1501 protocol
ignores same-camera matches). With one crop per camera, one camera's crop stays in the gallery.
A test identity seen in one camera only cannot give such a pair: it goes to the gallery only (as a
distractor), and the plan's `no_pair` and `warnings` say how many did so.

Nothing is ever written through a symbolic link inside the folder: a link in place of a split
folder, the CSV/JSON or any file the export would write or remove is refused (`ExportLinkError`).
"""

from __future__ import annotations

import logging
import math
import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from reid_desktop.core.export.errors import ExportError, ExportLinkError
from reid_desktop.core.export.nofollow import find_links
from reid_desktop.core.identities.links import LinkGraph
from reid_desktop.core.ingest.layouts import is_image_name, parse_market
from reid_desktop.store import Crop, Project

log = logging.getLogger("reid_desktop.core.export.market")  # one logger for the whole export

TRAIN_DIR, TEST_DIR, QUERY_DIR = "bounding_box_train", "bounding_box_test", "query"
SPLIT_DIRS = {"train": TRAIN_DIR, "gallery": TEST_DIR, "query": QUERY_DIR}
CSV_NAME, DECISIONS_NAME = "identities.csv", "decisions.json"


@dataclass(frozen=True)
class ExportPlan:
    """What an export would write, computed without writing so the UI can show it first.

    `crops = train + query + gallery` images; `identities = train_ids + test_ids`. `conflicts`
    lists every existing file the export would replace: its own targets plus `stale` (image files
    with Market-1501 names in the three split folders that this export would not write; an
    overwriting export removes them so the folders hold exactly this export).
    """

    out_dir: Path
    identities: int
    crops: int
    train_ids: int
    test_ids: int
    query: int
    gallery: int
    conflicts: list[Path]
    train: int = 0  # images in bounding_box_train
    missing: list[int] = field(default_factory=list)  # crop ids skipped: status missing/file absent
    contradicted: list[list[int]] = field(default_factory=list)  # crop ids of refused identities
    too_small: list[list[int]] = field(default_factory=list)  # < 2 readable crops left
    stale: list[Path] = field(default_factory=list)
    no_pair: list[int] = field(default_factory=list)  # person ids of test identities without a query

    @property
    def warnings(self) -> list[str]:
        """What makes the test split less useful for Market-1501 evaluation, in words."""
        out = []
        if self.no_pair:
            out.append(
                f"{len(self.no_pair)} of {self.test_ids} test identities could not contribute a "
                f"query+gallery pair (seen in one camera only); they are in {TEST_DIR}/ only"
            )
        if self.test_ids and not self.query:
            out.append(f"{QUERY_DIR}/ is empty: Market-1501 evaluation of this export has no query to rank")
        return out


def query_cameras(counts: dict[int, int]) -> set[int]:
    """The cameras (keys of `counts`: camera -> number of crops of one test identity) whose first
    crop goes to query/, so that each query has a gallery crop of its person in another camera.

    Two or more cameras with >= 2 crops: every camera gives a query. Exactly one such camera: the
    others give a query and it keeps all its crops as their gallery. One crop per camera: all but
    the last camera give a query. One camera: none (same-camera matches do not count).
    """
    if len(counts) < 2:
        return set()
    cams = sorted(counts)
    deep = [c for c in cams if counts[c] >= 2]
    if len(deep) >= 2:
        return set(cams)
    if deep:
        return set(cams) - set(deep)
    return set(cams[:-1])


@dataclass(frozen=True)
class ExportItem:
    """One image of the export: where it comes from, where it goes and what the CSV says of it."""

    crop: Crop
    source: Path
    target: Path
    split: str  # "train", "query" or "gallery"
    pid: int
    camera: str
    name: str
    notes: str


def _identity_names(project: Project) -> tuple[dict[int, int], dict[int, set[int]]]:
    """crop id -> stored identity id, and stored identity id -> its member crop ids."""
    members = {i.id: set(project.identities.members(i.id)) for i in project.identities.all()}
    owner = {c: iid for iid, crops in members.items() for c in crops}
    return owner, members


def _check_out_dir(out_dir: Path, camera_roots: Iterable[str]) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise ExportError(f"{out_dir} is a file, not a folder")
    if out_dir.is_symlink() and not out_dir.exists():  # writing would create the folder elsewhere
        raise ExportError(f"{out_dir} is a symbolic link to a folder that does not exist; choose a folder")
    here = out_dir.resolve()
    for root in camera_roots:
        r = Path(root).resolve()
        # Writing into a camera folder would re-ingest the copies, or overwrite/remove originals.
        if (
            here == r
            or here.is_relative_to(r)
            or any(r.is_relative_to(here / d) for d in SPLIT_DIRS.values())
        ):
            raise ExportError(f"{out_dir} overlaps the camera folder {r}; choose a folder outside it")


def build_plan(
    project: Project, out_dir: Path, test_ratio: float, seed: int
) -> tuple[ExportPlan, list[ExportItem]]:
    """The plan and, in write order (by person id, then crop id), every image it covers."""
    if not 0.0 <= test_ratio <= 1.0:
        raise ExportError(f"test_ratio must be between 0 and 1, not {test_ratio}")
    out_dir = Path(out_dir)
    cameras = sorted(project.cameras.all(), key=lambda c: (c.name, c.id))
    _check_out_dir(out_dir, {c.root for c in cameras})
    cam_index = {c.id: i for i, c in enumerate(cameras, 1)}
    cam_name = {c.id: c.name for c in cameras}
    crops = {c.id: c for c in project.crops.all(include_missing=True)}
    paths = project.crops.paths(include_missing=True)

    links = LinkGraph(project.decisions.active())
    bad_roots = {links.component(x) for x, _ in links.contradictions()}
    owner, members_of = _identity_names(project)

    missing: list[int] = []
    contradicted: list[list[int]] = []
    too_small: list[list[int]] = []
    kept: list[tuple[list[int], list[Crop]]] = []  # (component, its readable crops)
    # Components sorted by their smallest crop id: the person-id order.
    for root, comp in sorted(links.components().items(), key=lambda kv: kv[1][0]):
        if root in bad_roots:
            contradicted.append(comp)
            continue
        present = []
        for cid in comp:
            crop = crops.get(cid)
            on_disk = crop is not None and paths[cid].is_file()
            if crop is None or crop.status != "present" or not on_disk:
                missing.append(cid)
            else:
                present.append(crop)
        if len(present) < 2:
            too_small.append(comp)
        else:
            kept.append((comp, present))

    n = len(kept)
    n_test = math.floor(test_ratio * n + 0.5)
    order = list(range(n))
    random.Random(seed).shuffle(order)
    test = set(order[:n_test])

    items: list[ExportItem] = []
    no_pair: list[int] = []
    for k, (comp, present) in enumerate(kept):
        pid = k + 1
        name = notes = ""
        stored = sorted({owner[c] for c in comp if c in owner})
        # A stored identity names the component only while all its members are still inside it
        # (an undo may have split it) and no other stored identity claims part of the component.
        if len(stored) == 1 and members_of[stored[0]] <= set(comp):
            ident = project.identities.get(stored[0])
            name, notes = ident.name, ident.notes
        elif stored:
            log.info("identity %04d: stored identities %s do not match it; exported unnamed", pid, stored)
        per_cam: dict[int, int] = defaultdict(int)
        for crop in present:
            per_cam[cam_index[crop.camera_id]] += 1
        ask = query_cameras(per_cam) if k in test else set()
        if k in test and not ask:
            no_pair.append(pid)
        counter: dict[int, int] = defaultdict(int)
        for crop in present:  # sorted by crop id (components are sorted)
            cam = cam_index[crop.camera_id]
            frame = crop.frame if crop.frame is not None else crop.id
            fname = f"{pid:04d}_c{cam}s1_{frame:06d}_{counter[cam]:02d}.jpg"
            counter[cam] += 1
            if k not in test:
                split = "train"
            elif cam in ask:
                split = "query"
                ask.discard(cam)  # one query per camera: its first crop
            else:
                split = "gallery"
            items.append(
                ExportItem(
                    crop,
                    paths[crop.id],
                    out_dir / SPLIT_DIRS[split] / fname,
                    split,
                    pid,
                    cam_name[crop.camera_id],
                    name,
                    notes,
                )
            )

    targets = {it.target for it in items} | {out_dir / CSV_NAME, out_dir / DECISIONS_NAME}
    folders = [out_dir / d for d in SPLIT_DIRS.values()]
    links = find_links([*folders, out_dir / CSV_NAME, out_dir / DECISIONS_NAME])
    if links:  # checked before listing the folders: a linked folder's listing is somewhere else
        raise ExportLinkError(out_dir, links)
    existing = {t for t in targets if t.exists() or t.is_symlink()}
    stale = []
    for folder in folders:
        if folder.is_dir():
            stale += [
                p
                for p in folder.iterdir()
                if p not in targets
                and is_image_name(p.name)
                and parse_market(p.name)
                and (p.is_file() or p.is_symlink())
            ]
    links = find_links([*existing, *stale])
    if links:
        raise ExportLinkError(out_dir, links)
    counts = defaultdict(int, {s: sum(it.split == s for it in items) for s in SPLIT_DIRS})
    plan = ExportPlan(
        out_dir=out_dir,
        identities=n,
        crops=len(items),
        train_ids=n - n_test,
        test_ids=n_test,
        query=counts["query"],
        gallery=counts["gallery"],
        conflicts=sorted(existing | set(stale)),
        train=counts["train"],
        missing=missing,
        contradicted=contradicted,
        too_small=too_small,
        stale=sorted(stale),
        no_pair=no_pair,
    )
    return plan, items


def plan_export(project: Project, out_dir: Path, *, test_ratio: float = 0.5, seed: int = 0) -> ExportPlan:
    """What `export_market` would write (rules in the module docstring); writes nothing.

    Raises ExportError for a folder that is a file or overlaps a camera folder, a bad ratio, or
    (ExportLinkError) a symbolic link inside the folder where the export would write."""
    return build_plan(project, Path(out_dir), test_ratio, seed)[0]
