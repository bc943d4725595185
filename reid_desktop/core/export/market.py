"""Export confirmed identities as a Market-1501 style data set, with a CSV index and the audit trail.

Layout written under the chosen folder (names are generated, never taken from user text)::

    bounding_box_train/   crops of the training identities
    bounding_box_test/    gallery crops of the test identities
    query/                one crop per camera of each test identity, where that query has a
                          gallery crop of its person in another camera (see `export_plan`)
    identities.csv        one row per exported image (see `CSV_COLUMNS`)
    decisions.json        every decision row, undo rows included

Which identities are exported, their file names and the train/test split are decided by
`export_plan` (rules in its docstring, computed by `plan_export` without writing); the images are
written by `export_files`, the CSV and JSON by `export_index`; errors are in `export_errors`. This
module runs the export as a cancellable job and re-exports the names of those modules.

Every file is written to a temp name in its folder and renamed, only into real folders inside the
chosen one (a symbolic link there is refused: `ExportLinkError`). A full disk stops the export
with `ExportDiskFull` (other write errors: `ExportWriteError`): the images written so far are
whole, no temp file is left, and no index is written.
"""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from reid_desktop.core.export.errors import (
    ExportConflict,
    ExportDiskFull,
    ExportError,
    ExportLinkError,
    ExportWriteError,
    write_failure,
)
from reid_desktop.core.export.files import JPEG_QUALITY, ExportFolders, open_folders, write_image
from reid_desktop.core.export.index import (
    CSV_COLUMNS,
    DECISIONS_FORMAT,
    DECISIONS_VERSION,
    FORMULA_PREFIXES,
    csv_bytes,
    decisions_bytes,
)
from reid_desktop.core.export.index import neutralise as _neutralise  # noqa: F401  (the name before the split)
from reid_desktop.core.export.plan import (
    CSV_NAME,
    DECISIONS_NAME,
    QUERY_DIR,
    SPLIT_DIRS,
    TEST_DIR,
    TRAIN_DIR,
    ExportItem,
    ExportPlan,
    build_plan,
    plan_export,
)
from reid_desktop.core.jobs import Cancelled, CancelToken, Job, Progress
from reid_desktop.store import Project

__all__ = [
    "CHUNK",
    "CSV_COLUMNS",
    "CSV_NAME",
    "DECISIONS_FORMAT",
    "DECISIONS_NAME",
    "DECISIONS_VERSION",
    "FORMULA_PREFIXES",
    "JPEG_QUALITY",
    "QUERY_DIR",
    "SPLIT_DIRS",
    "TEST_DIR",
    "TRAIN_DIR",
    "WORKERS",
    "ExportConflict",
    "ExportDiskFull",
    "ExportError",
    "ExportLinkError",
    "ExportPlan",
    "ExportReport",
    "ExportWriteError",
    "export_market",
    "plan_export",
]

log = logging.getLogger(__name__)

CHUNK = 32  # images per batch: cancel is checked between batches
WORKERS = min(8, (os.cpu_count() or 2))


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
    no_pair: list[int] = field(default_factory=list)  # test person ids with no query (one camera)
    warnings: list[str] = field(default_factory=list)  # ExportPlan.warnings: for the user to read


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
    A link inside the folder raises ExportLinkError (before anything is written, or as soon as one
    appears); a write error raises ExportWriteError / ExportDiskFull, leaving whole files only.
    """
    cancel = cancel or CancelToken()
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    yield Progress(0, None, "Planning export…")
    plan, items = build_plan(project, out_dir, test_ratio, seed)
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
        no_pair=plan.no_pair,
        warnings=plan.warnings,
    )
    for w in plan.warnings:
        log.warning("export to %s: %s", out_dir, w)
    total = len(items)
    written: list[ExportItem] = []
    index: list[str] = []
    yield Progress(0, total, f"Exporting {total:,} images…")
    try:
        with open_folders(out_dir) as folders:
            for path in [*plan.stale, csv_path, json_path] if overwrite else []:
                if folders.remove(path):
                    report.removed.append(path)
            yield from _write_images(items, folders, overwrite, cancel, written, report)
            cancel.raise_if_cancelled()
            folders.write(csv_bytes(out_dir, written), csv_path, overwrite, sync=True)
            index.append(CSV_NAME)
            folders.write(decisions_bytes(project, out_dir, written), json_path, overwrite, sync=True)
            index.append(DECISIONS_NAME)
    except Cancelled:
        report.cancelled = True
    except OSError as exc:
        err = write_failure(exc, out_dir, len(written), total, index)
        log.error("export to %s failed: %s", out_dir, err)
        raise err from None
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


def _write_images(
    items: list[ExportItem],
    folders: ExportFolders,
    overwrite: bool,
    cancel: CancelToken,
    written: list[ExportItem],
    report: ExportReport,
) -> Job[None]:
    """Write the images in batches of CHUNK on a few threads, appending each written item to
    `written`; after a failed write the rest of its batch still finishes (or fails) before the
    first error is raised, so no thread is writing once the export reports."""
    total = len(items)
    # PIL releases the GIL while decoding/encoding, so a few threads speed up large exports.
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for start in range(0, total, CHUNK):
            cancel.raise_if_cancelled()
            chunk = items[start : start + CHUNK]
            futures = [pool.submit(write_image, it, folders, overwrite) for it in chunk]
            first: BaseException | None = None
            for i, (item, fut) in enumerate(zip(chunk, futures, strict=True)):
                try:
                    err = fut.result()
                except (OSError, ExportError) as exc:
                    first = first or exc
                    continue
                if err is None:
                    written.append(item)
                else:
                    log.warning("export: skipped crop %d (%s): %s", item.crop.id, item.source, err)
                    report.failed.append((item.crop.id, err))
                yield Progress(start + i + 1, total, f"Exporting… {start + i + 1:,}/{total:,} images")
            if first is not None:
                raise first
