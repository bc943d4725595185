"""Export confirmed identities as a Market-1501 style data set, with a CSV index and the audit trail.

Layout written under the chosen folder (names are generated here, never taken from user text)::

    bounding_box_train/   crops of the training identities
    bounding_box_test/    gallery crops of the test identities
    query/                one crop per camera of each multi-camera test identity
    identities.csv        one row per exported image (see `CSV_COLUMNS`)
    decisions.json        every decision row, undo rows included

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
test side. For a test identity seen in >= 2 cameras the first crop (by crop id) of each camera goes
to ``query/`` and the rest to ``bounding_box_test/``. A test identity seen in one camera only goes
entirely to ``bounding_box_test/`` as gallery-only: the Market-1501 protocol ignores same-camera
matches, so a query from it could never be answered and would only distort the scores.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
import random
import secrets
import time
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reid_desktop.store import Crop, Project, utc_now

from .imaging import BadImage, load_rgb
from .jobs import Cancelled, CancelToken, Job, Progress
from .layouts import is_image_name, parse_market
from .links import LinkGraph

log = logging.getLogger(__name__)

TRAIN_DIR, TEST_DIR, QUERY_DIR = "bounding_box_train", "bounding_box_test", "query"
SPLIT_DIRS = {"train": TRAIN_DIR, "gallery": TEST_DIR, "query": QUERY_DIR}
CSV_NAME, DECISIONS_NAME = "identities.csv", "decisions.json"
CSV_COLUMNS = (
    "file",
    "split",
    "person_id",
    "identity_name",
    "identity_notes",
    "camera",
    "source_path",
    "crop_id",
)
JPEG_QUALITY = 95
DECISIONS_FORMAT = "reid-desktop-decisions"
DECISIONS_VERSION = 1
# Spreadsheets run cells starting with these as formulas (OWASP "CSV injection"); tab and CR too.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CHUNK = 32  # images per batch: cancel is checked between batches
WORKERS = min(8, (os.cpu_count() or 2))


class ExportError(ValueError):
    """The export cannot run as asked; str(exc) says why and what to do."""


class ExportConflict(ExportError):
    """Files of the export already exist and overwriting was not allowed. Nothing was written."""

    def __init__(self, paths: Iterable[Path]) -> None:
        self.paths = sorted(paths)
        shown = ", ".join(str(p) for p in self.paths[:3]) + (" ..." if len(self.paths) > 3 else "")
        super().__init__(
            f"{len(self.paths)} file(s) of the export already exist ({shown}); "
            "choose an empty folder or allow overwriting"
        )


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


@dataclass
class ExportReport:
    """What an export wrote. A cancelled export keeps its images but writes no CSV/JSON (the
    paths below are then where they would have gone), so an index never describes a partial set."""

    out_dir: Path
    written: int
    identities: int
    csv: Path
    decisions_json: Path
    cancelled: bool
    missing: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)  # (crop id, reason) unreadable now
    contradicted: list[list[int]] = field(default_factory=list)
    too_small: list[list[int]] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)  # stale files an overwriting export removed
    seconds: float = 0.0


@dataclass(frozen=True)
class _Item:
    crop: Crop
    source: Path
    target: Path
    split: str  # "train", "query" or "gallery"
    pid: int
    camera: str
    name: str
    notes: str


def _neutralise(text: str) -> str:
    """Prefix an apostrophe to cells a spreadsheet would run as a formula (= + - @ tab CR)."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def _identity_names(project: Project) -> tuple[dict[int, int], dict[int, set[int]]]:
    """crop id -> stored identity id, and stored identity id -> its member crop ids."""
    members = {i.id: set(project.identities.members(i.id)) for i in project.identities.all()}
    owner = {c: iid for iid, crops in members.items() for c in crops}
    return owner, members


def _check_out_dir(out_dir: Path, camera_roots: Iterable[str]) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise ExportError(f"{out_dir} is a file, not a folder")
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


def _build(project: Project, out_dir: Path, test_ratio: float, seed: int) -> tuple[ExportPlan, list[_Item]]:
    if not 0.0 <= test_ratio <= 1.0:
        raise ExportError(f"test_ratio must be between 0 and 1, not {test_ratio}")
    out_dir = Path(out_dir)
    cameras = sorted(project.cameras.all(), key=lambda c: (c.name, c.id))
    _check_out_dir(out_dir, {c.root for c in cameras})
    cam_index = {c.id: i for i, c in enumerate(cameras, 1)}
    cam_name = {c.id: c.name for c in cameras}
    roots = {c.id: Path(c.root) for c in cameras}
    crops = {c.id: c for c in project.crops.all(include_missing=True)}

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
            on_disk = crop is not None and (roots[crop.camera_id] / crop.rel_path).is_file()
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

    items: list[_Item] = []
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
        multi_cam = len({c.camera_id for c in present}) >= 2
        counter: dict[int, int] = defaultdict(int)
        queried: set[int] = set()
        for crop in present:  # sorted by crop id (components are sorted)
            cam = cam_index[crop.camera_id]
            frame = crop.frame if crop.frame is not None else crop.id
            fname = f"{pid:04d}_c{cam}s1_{frame:06d}_{counter[cam]:02d}.jpg"
            counter[cam] += 1
            if k not in test:
                split = "train"
            elif multi_cam and crop.camera_id not in queried:
                split = "query"
                queried.add(crop.camera_id)
            else:
                split = "gallery"
            items.append(
                _Item(
                    crop,
                    roots[crop.camera_id] / crop.rel_path,
                    out_dir / SPLIT_DIRS[split] / fname,
                    split,
                    pid,
                    cam_name[crop.camera_id],
                    name,
                    notes,
                )
            )

    targets = {it.target for it in items} | {out_dir / CSV_NAME, out_dir / DECISIONS_NAME}
    existing = {t for t in targets if t.exists()}
    stale = []
    for d in SPLIT_DIRS.values():
        folder = out_dir / d
        if folder.is_dir():
            stale += [
                p
                for p in folder.iterdir()
                if p not in targets and is_image_name(p.name) and parse_market(p.name) and p.is_file()
            ]
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
    )
    return plan, items


def plan_export(project: Project, out_dir: Path, *, test_ratio: float = 0.5, seed: int = 0) -> ExportPlan:
    """What `export_market` would write (see the module docstring); writes nothing.

    Raises ExportError for a folder that is a file or overlaps a camera folder, or a bad ratio."""
    return _build(project, Path(out_dir), test_ratio, seed)[0]


def _write_atomic(data: bytes, dst: Path, overwrite: bool, sync: bool = False) -> None:
    """Write via a hidden temp file in dst's folder and rename, so dst is complete or absent."""
    tmp = dst.parent / f".{dst.name}.{secrets.token_hex(4)}.tmp"
    try:
        with open(tmp, "xb") as fh:
            fh.write(data)
            if sync:
                fh.flush()
                os.fsync(fh.fileno())
        if not overwrite and dst.exists():  # appeared since the plan was checked
            raise ExportConflict([dst])
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_image(item: _Item, overwrite: bool) -> str | None:
    """Re-encode one crop as an 8-bit RGB JPEG; returns why the source could not be read, or None."""
    try:
        img = load_rgb(item.source)  # EXIF-rotated, CMYK, 16-bit, alpha -> plain RGB
    except (BadImage, OSError) as exc:
        return str(exc)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=JPEG_QUALITY)  # no EXIF copied: pixels are already upright
    _write_atomic(buf.getvalue(), item.target, overwrite)
    return None


def _csv_bytes(out_dir: Path, items: list[_Item]) -> bytes:
    """UTF-8 (no BOM), RFC 4180 quoting; user text is formula-neutralised (see `_neutralise`)."""
    buf = io.StringIO(newline="")
    w = csv.writer(buf, quoting=csv.QUOTE_MINIMAL)
    w.writerow(CSV_COLUMNS)
    for it in items:
        w.writerow(
            [
                it.target.relative_to(out_dir).as_posix(),
                it.split,
                f"{it.pid:04d}",
                _neutralise(it.name),
                _neutralise(it.notes),
                _neutralise(it.camera),
                _neutralise(str(it.source)),
                it.crop.id,
            ]
        )
    return buf.getvalue().encode("utf-8", "backslashreplace")  # see _decisions_bytes


def _decisions_bytes(project: Project, out_dir: Path, items: list[_Item]) -> bytes:
    """The audit trail as pretty UTF-8 JSON::

        {"format": "reid-desktop-decisions", "version": 1, "exported_at": ISO-8601 UTC,
         "decisions": [{"id", "query_crop_id", "query_path", "query_export", "candidate_crop_id",
                        "candidate_path", "candidate_export", "verdict", "score", "model_id",
                        "model_name", "operator", "created_at", "voids_id", "active"}, ...]}

    `*_path` is the source file (null for an unknown crop), `*_export` the exported file relative to
    the folder (null when that crop was not exported), `active` whether the row is in force now.
    """
    roots = {c.id: Path(c.root) for c in project.cameras.all()}
    paths = {c.id: str(roots[c.camera_id] / c.rel_path) for c in project.crops.all(include_missing=True)}
    exported = {it.crop.id: it.target.relative_to(out_dir).as_posix() for it in items}
    models = {m.id: m.name for m in project.models.all()}
    active = {d.id for d in project.decisions.active()}
    rows: list[dict[str, Any]] = []
    for d in project.decisions.history():
        score = d.score if d.score is None or math.isfinite(d.score) else None  # JSON has no NaN
        rows.append(
            {
                "id": d.id,
                "query_crop_id": d.query_crop_id,
                "query_path": paths.get(d.query_crop_id),
                "query_export": exported.get(d.query_crop_id),
                "candidate_crop_id": d.candidate_crop_id,
                "candidate_path": paths.get(d.candidate_crop_id),
                "candidate_export": exported.get(d.candidate_crop_id),
                "verdict": d.verdict,
                "score": score,
                "model_id": d.model_id,
                "model_name": models.get(d.model_id) if d.model_id is not None else None,
                "operator": d.operator,
                "created_at": d.created_at,
                "voids_id": d.voids_id,
                "active": d.id in active,
            }
        )
    doc = {
        "format": DECISIONS_FORMAT,
        "version": DECISIONS_VERSION,
        "exported_at": utc_now(),
        "decisions": rows,
    }
    # A non-UTF-8 file name (surrogate-escaped by Python) becomes a JSON \udcXX escape, not bad bytes.
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8", "backslashreplace")


def export_market(
    project: Project,
    out_dir: Path,
    *,
    test_ratio: float = 0.5,
    seed: int = 0,
    overwrite: bool = False,
    cancel: CancelToken | None = None,
) -> Job[ExportReport]:
    """Write the plan of `plan_export`; yields Progress per image, returns an ExportReport.

    Nothing is written when a file of the export exists and `overwrite` is False: ExportConflict is
    raised (on the job's first step, as it is a generator; call `plan_export` first to ask the user).
    With `overwrite`, existing targets are replaced, stale split images and the old CSV/JSON are
    removed first (so a cancelled re-export never leaves an index that describes other images).
    Cancel keeps the images written so far, writes no CSV/JSON and reports cancelled=True.
    Sources that became unreadable since the plan are skipped and listed in `failed`.
    """
    cancel = cancel or CancelToken()
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    yield Progress(0, None, "Planning export…")
    plan, items = _build(project, out_dir, test_ratio, seed)
    if plan.conflicts and not overwrite:
        raise ExportConflict(plan.conflicts)

    csv_path, json_path = out_dir / CSV_NAME, out_dir / DECISIONS_NAME
    report = ExportReport(
        out_dir,
        0,
        0,
        csv_path,
        json_path,
        False,
        missing=plan.missing,
        contradicted=plan.contradicted,
        too_small=plan.too_small,
    )
    for path in [*plan.stale, csv_path, json_path] if overwrite else []:
        if path.exists():
            path.unlink()
            report.removed.append(path)
    for d in SPLIT_DIRS.values():
        (out_dir / d).mkdir(parents=True, exist_ok=True)

    total = len(items)
    written: list[_Item] = []
    yield Progress(0, total, f"Exporting {total:,} images…")
    try:
        # PIL releases the GIL while decoding/encoding, so a few threads speed up large exports.
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            for start in range(0, total, CHUNK):
                cancel.raise_if_cancelled()
                chunk = items[start : start + CHUNK]
                for i, (item, err) in enumerate(
                    zip(chunk, pool.map(lambda it: _write_image(it, overwrite), chunk), strict=True)
                ):
                    if err is None:
                        written.append(item)
                    else:
                        log.warning("export: skipped crop %d (%s): %s", item.crop.id, item.source, err)
                        report.failed.append((item.crop.id, err))
                    yield Progress(start + i + 1, total, f"Exporting… {start + i + 1:,}/{total:,} images")
        cancel.raise_if_cancelled()
        _write_atomic(_csv_bytes(out_dir, written), csv_path, overwrite, sync=True)
        _write_atomic(_decisions_bytes(project, out_dir, written), json_path, overwrite, sync=True)
    except Cancelled:
        report.cancelled = True
    report.written = len(written)
    report.identities = len({it.pid for it in written})
    report.seconds = time.perf_counter() - t0
    log.info(
        "export to %s: %d images of %d identities%s in %.1fs",
        out_dir,
        report.written,
        report.identities,
        " (cancelled)" if report.cancelled else "",
        report.seconds,
    )
    return report
