"""Ingest: turn camera folders into crops in the project, reporting every file it refuses.

Re-scanning the same folder adds new files, marks vanished ones missing (never deleting them, so
their decisions survive) and re-checks files whose size or time changed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from reid_desktop.core.imaging import MAX_FILE_BYTES, BadImage, probe
from reid_desktop.core.ingest.ground_truth import FolderLabels
from reid_desktop.core.ingest.layouts import parse_generic, parse_market
from reid_desktop.core.ingest.plan import Source, plan_scan, plan_sources
from reid_desktop.core.ingest.report import IngestReport, ScanReport
from reid_desktop.core.ingest.walk import Listed, Refused, list_images
from reid_desktop.core.jobs import Cancelled, CancelToken, Job, Progress
from reid_desktop.store import Camera, Crop, Project, SkippedFile, utc_now

__all__ = ["IngestReport", "ScanReport", "Source", "ingest", "plan_sources"]

log = logging.getLogger(__name__)
CHUNK = 256
WORKERS = min(8, (os.cpu_count() or 2) * 2)


@dataclass(frozen=True)
class _Inspected:
    listed: Listed
    sha256: str = ""
    width: int = 0
    height: int = 0
    size: int = 0
    mtime_ns: int = 0
    reason: str | None = None


def _inspect(item: Listed) -> _Inspected:
    try:
        st = item.path.stat()
        if st.st_size > MAX_FILE_BYTES:
            return _Inspected(item, reason=f"file too large to be a crop ({st.st_size} bytes)")
        with item.path.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        return _Inspected(item, reason=f"cannot read file: {exc.strerror or exc}")
    try:
        info = probe(data)
    except BadImage as exc:
        return _Inspected(item, reason=str(exc))
    sha = hashlib.sha256(data).hexdigest()
    return _Inspected(item, sha, info.width, info.height, st.st_size, st.st_mtime_ns)


def ingest(
    project: Project,
    folders: Iterable[str | os.PathLike[str]],
    layout: str = "auto",
    cancel: CancelToken | None = None,
) -> Job[IngestReport]:
    """Scan folders into the project. Yields Progress; returns an IngestReport (never raises
    for bad files; a cancelled scan keeps what it committed and says so; a ground_truth.csv that
    cannot be used labels nothing and is reported in `warnings`)."""
    cancel = cancel or CancelToken()
    report = IngestReport()
    sources, left_out = plan_scan(folders, layout)
    now = utc_now()
    for root, refused in left_out.items():  # replaced on every scan, so a renamed folder drops out
        project.skipped.replace_for_root(
            str(root), [SkippedFile(None, str(root), r.rel_path, r.reason, now) for r in refused]
        )
        report.folder_skipped += [(str(root), r) for r in refused]
    labels = FolderLabels()
    for i, src in enumerate(sources, 1):
        prefix = f"[{i}/{len(sources)}] {src.root.name}"
        scan = _SourceScan(project, src, cancel, prefix, labels)
        try:
            yield from scan.run()
        except Cancelled:
            scan.report.cancelled = True
            report.cancelled = True
        except OSError as exc:
            report.errors.append(f"{src.root}: {exc.strerror or exc}")
        report.sources.append(scan.report)
        if report.cancelled:
            break
    report.warnings += labels.warnings
    for s in report.sources:
        if not s.cameras and not s.listed and not s.cancelled:
            report.warnings.append(
                f"{s.root}: no image found, so no camera was added (choose a folder of crops, "
                "a folder of such camera folders, or a Market-1501 folder)"
            )
    return report


class _SourceScan:
    def __init__(
        self, project: Project, src: Source, cancel: CancelToken, prefix: str, labels: FolderLabels
    ) -> None:
        self.p = project
        self.labels = labels
        self.src = src
        self.cancel = cancel
        self.prefix = prefix
        self.report = ScanReport(str(src.root), src.layout)
        # Keyed by the camera's id within the source, so renaming a camera never splits it.
        self.cameras: dict[str, Camera] = {
            c.source_key: c for c in project.cameras.all() if c.root == str(src.root)
        }

    def _camera(self, key: str) -> Camera:
        if key not in self.cameras:
            base = key or self.src.root.name
            unique, n = base, 2
            while self.p.cameras.by_name(unique) is not None:
                unique, n = f"{base} ({n})", n + 1
            self.cameras[key] = self.p.cameras.add(unique, str(self.src.root), self.src.layout, key)
        return self.cameras[key]

    def _camera_id_for(self, rel_path: str) -> int | None:
        """The camera a refused file would have belonged to, when it can be told."""
        if self.src.layout == "market":
            info = parse_market(Path(rel_path).name)
            key = info.camera if info else None
        else:
            key = ""
        cam = self.cameras.get(key) if key is not None else None
        return cam.id if cam else None

    def _camera_name(self, item: Listed) -> tuple[str | None, dict]:
        name = item.path.name
        if self.src.layout == "market":
            info = parse_market(name)
            if info is None:
                return None, {}
            return info.camera, {"frame": info.frame, "gt_person": info.gt_person}
        info = parse_generic(name)
        return "", {
            "frame": info.frame,
            "timestamp": info.timestamp,
            "gt_person": self.gt.get(item.path),
        }

    def run(self) -> Job[None]:
        t0 = time.perf_counter()
        rep = self.report
        yield Progress(0, None, f"{self.prefix}: listing files")
        listed, refused = list_images(self.src.root, self.cancel)
        rep.listed = len(listed)
        rep.skipped.extend(refused)
        self.gt = self.labels.for_camera(self.src.root) if self.src.layout == "folders" else {}
        known: dict[tuple[str, str], Crop] = {}
        for name, cam in self.cameras.items():
            for crop in self.p.crops.for_camera(cam.id, include_missing=True):
                known[(name, crop.rel_path)] = crop
        shas = self.p.crops.by_sha()
        cam_names = {c.id: c.name for c in self.p.cameras.all()}

        todo: list[tuple[Listed, str, dict]] = []
        seen: set[tuple[str, str]] = set()
        back: list[int] = []
        for item in listed:
            cam, extra = self._camera_name(item)
            if cam is None:
                rep.skipped.append(
                    Refused(item.rel_path, "name does not follow Market-1501 (e.g. 0002_c1s1_000451_03.jpg)")
                )
                continue
            seen.add((cam, item.rel_path))
            old = known.get((cam, item.rel_path))
            if old is not None:
                try:
                    st = item.path.stat()
                except OSError:
                    st = None
                if st is not None and (st.st_size, st.st_mtime_ns) == (old.size_bytes, old.mtime_ns):
                    rep.unchanged += 1
                    if old.status == "missing":
                        back.append(old.id)
                    continue
            todo.append((item, cam, extra))
        if back:
            self.p.crops.set_status(back, "present")
            rep.returned = len(back)
        # Crops whose file vanished in this scan: a new file with the same content is a rename.
        self.vanished = {c.id for key, c in known.items() if key not in seen}

        total = len(todo)
        done = 0
        yield Progress(0, total, f"{self.prefix}: checking {total} new or changed files")
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            for start in range(0, total, CHUNK):
                self.cancel.raise_if_cancelled()
                chunk = todo[start : start + CHUNK]
                results = list(pool.map(_inspect, [c[0] for c in chunk]))
                self._commit(chunk, results, known, shas, cam_names)
                done += len(chunk)
                yield Progress(done, total, f"{self.prefix}: {done}/{total} files checked")

        gone = [c for c in known.values() if c.id in self.vanished and c.status == "present"]
        if gone:
            self.p.crops.set_status([c.id for c in gone], "missing")
            rep.missing = sorted(c.rel_path for c in gone)
        rep.cameras = sorted(c.name for c in self.cameras.values())
        now = utc_now()
        self.p.skipped.replace_for_root(
            str(self.src.root),
            [
                SkippedFile(self._camera_id_for(r.rel_path), str(self.src.root), r.rel_path, r.reason, now)
                for r in rep.skipped
            ],
        )
        rep.seconds = time.perf_counter() - t0
        log.info("scanned %s: %s", self.src.root, rep)

    def _commit(self, chunk, results, known, shas, cam_names) -> None:
        rep = self.report
        new_rows, updates, moves, broken = [], [], [], []
        for (item, cam, extra), res in zip(chunk, results, strict=True):
            old = known.get((cam, item.rel_path))
            if res.reason is not None:
                rep.skipped.append(Refused(item.rel_path, res.reason))
                if old is not None and old.status == "present":
                    broken.append(old.id)
                continue
            row = {
                "sha256": res.sha256,
                "width": res.width,
                "height": res.height,
                "size_bytes": res.size,
                "mtime_ns": res.mtime_ns,
            }
            if old is not None:
                updates.append({"id": old.id, **row})
                continue
            dup = shas.get(res.sha256)
            camera = None
            if dup is not None:
                dup_id, dup_cam, dup_rel, dup_status = dup
                if dup_id not in self.vanished and dup_status != "missing":
                    where = f"{cam_names.get(dup_cam, '?')}/{dup_rel}"
                    rep.skipped.append(Refused(item.rel_path, f"duplicate of {where} (same content)"))
                    continue
                # Its old file is gone: the crop was renamed or moved, keep its id and decisions.
                camera = self._camera(cam)
                self.vanished.discard(dup_id)
                moves.append({"id": dup_id, "camera_id": camera.id, "rel_path": item.rel_path, **row})
                shas[res.sha256] = (dup_id, camera.id, item.rel_path, "present")
                continue
            camera = self._camera(cam)
            cam_names[camera.id] = camera.name
            shas[res.sha256] = (-1, camera.id, item.rel_path, "present")
            new_rows.append({"camera_id": camera.id, "rel_path": item.rel_path, **row, **extra})
        with self.p.write():
            if new_rows:
                self.p.crops.insert_many(new_rows)
            if updates:
                self.p.crops.update_files(updates)
            if moves:
                self.p.crops.relocate(moves)
            if broken:
                self.p.crops.set_status(broken, "missing")
        rep.added += len(new_rows)
        rep.updated += len(updates)
        rep.moved += len(moves)


def rescan(project: Project, cancel: CancelToken | None = None) -> Job[IngestReport]:
    """Scan every camera folder of the project again (F5); unreachable folders are reported."""
    cameras = project.cameras.all()
    roots = list(dict.fromkeys((c.root, c.layout) for c in cameras if Path(c.root).is_dir()))
    missing = sorted({c.root for c in cameras if not Path(c.root).is_dir()})
    report = IngestReport()
    for root, layout in roots:
        part = yield from ingest(project, [root], layout, cancel)
        report.sources += part.sources
        report.errors += part.errors
        report.warnings += part.warnings
        report.folder_skipped += part.folder_skipped
        if part.cancelled:
            report.cancelled = True
            break
    report.errors += [f"{r} is not reachable; relink it if it moved" for r in missing]
    return report
