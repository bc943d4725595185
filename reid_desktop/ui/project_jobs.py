"""Jobs the window starts, each opening its own connection on the worker thread."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from reid_desktop.core.jobs import CancelToken, Job
from reid_desktop.core.scan import IngestReport, ingest
from reid_desktop.store import Project


def ingest_job(
    project_path: Path, folders: Sequence[str], layout: str, token: CancelToken
) -> Job[IngestReport]:
    project = Project.open(project_path)
    try:
        report = yield from ingest(project, folders, layout, token)
    finally:
        project.close()
    return report


def rescan_job(project_path: Path, token: CancelToken) -> Job[IngestReport]:
    project = Project.open(project_path)
    try:
        roots = list(
            dict.fromkeys((c.root, c.layout) for c in project.cameras.all() if Path(c.root).is_dir())
        )
        missing = sorted({c.root for c in project.cameras.all() if not Path(c.root).is_dir()})
        report = IngestReport()
        for root, layout in roots:
            part = yield from ingest(project, [root], layout, token)
            report.sources += part.sources
            report.errors += part.errors
            report.warnings += part.warnings
            report.folder_skipped += part.folder_skipped
            if part.cancelled:
                report.cancelled = True
                break
        report.errors += [f"{r} is not reachable; relink it if it moved" for r in missing]
    finally:
        project.close()
    return report
