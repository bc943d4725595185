"""Embedding a project's crops with an encoder: decode in parallel with inference, batched,
cached in the project file by (crop, model). A killed or cancelled run resumes where it stopped
because only crops without an embedding for that model are processed."""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from reid_desktop.core.encoders.runtime import EncoderRuntime
from reid_desktop.core.imaging import BadImage, load_rgb
from reid_desktop.core.jobs import Cancelled, CancelToken, Job, Progress
from reid_desktop.store import Project

log = logging.getLogger(__name__)


@dataclass
class EmbedReport:
    encoder_id: int
    encoded: int = 0
    already: int = 0  # had an embedding for this model before the run
    failed: list[tuple[int, str]] = field(default_factory=list)  # (crop id, reason)
    cancelled: bool = False
    seconds: float = 0.0
    provider: str = ""

    @property
    def rate(self) -> float:
        return self.encoded / self.seconds if self.seconds else 0.0


def _decode(items: list[tuple[int, Path]]) -> list[tuple[int, Image.Image | None, str]]:
    out = []
    for crop_id, path in items:
        try:
            out.append((crop_id, load_rgb(path), ""))
        except (BadImage, OSError) as exc:
            out.append((crop_id, None, str(exc)))
    return out


def embed_project(
    project: Project,
    encoder_id: int,
    encoder: EncoderRuntime,
    cancel: CancelToken | None = None,
    batch_size: int = 32,
) -> Job[EmbedReport]:
    cancel = cancel or CancelToken()
    t0 = time.perf_counter()
    missing = project.embeddings.missing_crop_ids(encoder_id)
    report = EmbedReport(
        encoder_id, already=project.crops.count() - len(missing), provider=encoder.provider_label
    )
    paths = project.crops.paths(missing)
    todo = [(cid, paths[cid]) for cid in missing if cid in paths]
    batches = [todo[i : i + batch_size] for i in range(0, len(todo), batch_size)]
    total = len(todo)
    yield Progress(0, total, f"Embedding {total:,} crops on {encoder.provider_label}")
    # Two decode workers keep the next batch ready while the model runs on the current one.
    with ThreadPoolExecutor(max_workers=2) as pool:
        pending: list[Future] = [pool.submit(_decode, b) for b in batches[:2]]
        next_batch = 2
        try:
            while pending:
                cancel.raise_if_cancelled()
                decoded = pending.pop(0).result()
                if next_batch < len(batches):
                    pending.append(pool.submit(_decode, batches[next_batch]))
                    next_batch += 1
                good = [(cid, img) for cid, img, _ in decoded if img is not None]
                report.failed += [(cid, why) for cid, img, why in decoded if img is None]
                if good:
                    emb = encoder.encode([img for _, img in good])
                    stripes = emb.stripes if emb.stripes is not None else [None] * len(good)
                    project.embeddings.put_many(
                        encoder_id,
                        [(cid, g, s) for (cid, _), g, s in zip(good, emb.global_, stripes, strict=True)],
                    )
                    report.encoded += len(good)
                done = report.encoded + len(report.failed)
                elapsed = time.perf_counter() - t0
                rate = report.encoded / elapsed if elapsed else 0
                yield Progress(
                    done,
                    total,
                    f"Embedded {done:,}/{total:,} crops · {rate:,.0f}/s · {encoder.provider_label}",
                )
        except Cancelled:
            for f in pending:
                f.cancel()
            report.cancelled = True
    report.seconds = time.perf_counter() - t0
    for cid, why in report.failed:
        log.warning("crop %s not embedded: %s", cid, why)
    return report
