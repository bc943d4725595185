"""`reid eval`: Rank-1/5/10, mAP and mINP of an encoder on labelled crops.

Protocols:
- a folder with `ground_truth.csv` (file, person_id[, camera]): with two cameras, each camera's
  crops query the other camera's (both directions, averaged, as in ../shared/data/README.md); with
  more, every crop queries all others;
- Market-1501: `query/` against `bounding_box_test/` (junk −1 and distractors 0 handled by the
  same-person-same-camera rule and by dropping junk from the gallery).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reid_desktop.core.encoders.runtime import EncoderRuntime
from reid_desktop.core.evaluation.metrics import RetrievalMetrics, average, evaluate
from reid_desktop.core.imaging import BadImage, load_rgb
from reid_desktop.core.ingest.ground_truth import GT_NAME
from reid_desktop.core.ingest.ground_truth import read_ground_truth as read_gt_rows
from reid_desktop.core.ingest.layouts import is_image_name, parse_market
from reid_desktop.core.jobs import CancelToken, Job, Progress
from reid_desktop.core.retrieval.matching import l2n
from reid_desktop.core.retrieval.rerank import k_reciprocal


@dataclass(frozen=True)
class Labelled:
    path: Path
    pid: str
    camera: str


@dataclass(frozen=True)
class EvalResult:
    metrics: RetrievalMetrics
    provider: str
    protocol: str
    crops: int

    def as_dict(self) -> dict:
        return {
            **self.metrics.as_dict(),
            "provider": self.provider,
            "protocol": self.protocol,
            "crops": self.crops,
        }


def read_ground_truth(data_dir: Path, gt: Path, *, absolute_ok: bool = False) -> list[Labelled]:
    """Labelled crops of a ground-truth CSV (see `ground_truth`); raises GroundTruthError.

    The camera is the `camera` column, else the file's first folder. `absolute_ok` is for a CSV
    the user named (`--gt`), such as reid-train's holdout.csv, which lists absolute paths.
    """
    rows = read_gt_rows(gt, data_dir, absolute_ok=absolute_ok)
    return [Labelled(r.path, r.person_id, r.camera or Path(r.file).parts[0]) for r in rows]


def read_market(data_dir: Path, sub: str) -> list[Labelled]:
    folder = data_dir / sub
    if not folder.is_dir():
        raise ValueError(f"{data_dir} is not a Market-1501 folder (no {sub}/)")
    out = []
    for p in sorted(folder.iterdir()):
        info = parse_market(p.name) if is_image_name(p.name) else None
        if info is not None and info.gt_person != "-1":
            out.append(Labelled(p, str(info.gt_person), str(info.camera)))
    return out


def encode_labelled(
    encoder: EncoderRuntime, items: list[Labelled], cancel: CancelToken, batch: int = 32, label: str = ""
) -> Job[np.ndarray]:
    feats = []
    for i in range(0, len(items), batch):
        cancel.raise_if_cancelled()
        imgs = []
        for it in items[i : i + batch]:
            try:
                imgs.append(load_rgb(it.path))
            except BadImage as exc:
                raise ValueError(f"{it.path}: {exc}") from None
        feats.append(encoder.encode(imgs).global_)
        done = min(i + batch, len(items))
        yield Progress(done, len(items), f"{label}encoded {done}/{len(items)}")
    return l2n(np.concatenate(feats)) if feats else np.zeros((0, 0), np.float32)


def _dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.maximum(2.0 - 2.0 * (a @ b.T), 0.0).astype(np.float32)  # squared L2 of unit vectors


def _score(qf, gf, q: list[Labelled], g: list[Labelled], rerank: bool) -> RetrievalMetrics:
    d = _dist(qf, gf)
    if rerank:
        d = k_reciprocal(d, _dist(qf, qf), _dist(gf, gf))
    return evaluate(
        d,
        np.array([x.pid for x in q]),
        np.array([x.pid for x in g]),
        np.array([x.camera for x in q]),
        np.array([x.camera for x in g]),
    )


def evaluate_encoder(
    encoder: EncoderRuntime,
    data_dir: Path,
    *,
    gt: Path | None = None,
    layout: str | None = None,
    rerank: bool = False,
    cancel: CancelToken | None = None,
) -> Job[EvalResult]:
    cancel = cancel or CancelToken()
    if layout == "market":
        q, g = read_market(data_dir, "query"), read_market(data_dir, "bounding_box_test")
        qf = yield from encode_labelled(encoder, q, cancel, label="query: ")
        gf = yield from encode_labelled(encoder, g, cancel, label="gallery: ")
        return EvalResult(_score(qf, gf, q, g, rerank), encoder.provider_label, "market", len(q) + len(g))
    explicit = gt is not None
    gt = gt or data_dir / GT_NAME
    if not gt.is_file():
        raise ValueError(f"no ground truth: {gt} does not exist (use --gt or --layout market)")
    items = read_ground_truth(data_dir, gt, absolute_ok=explicit)
    feats = yield from encode_labelled(encoder, items, cancel)
    metrics, protocol = protocol_metrics(feats, items, rerank)
    return EvalResult(metrics, encoder.provider_label, protocol, len(items))


def protocol_metrics(
    feats: np.ndarray, items: list[Labelled], rerank: bool = False
) -> tuple[RetrievalMetrics, str]:
    """Metrics of L2-normalised features of labelled crops: two cameras → both directions averaged;
    more → every crop against all others. Shared by `reid eval` and the trainer's hold-out."""
    cams = sorted({x.camera for x in items})
    if len(cams) == 2:
        parts = []
        for a, b in ((cams[0], cams[1]), (cams[1], cams[0])):
            qi = [i for i, x in enumerate(items) if x.camera == a]
            gi = [i for i, x in enumerate(items) if x.camera == b]
            parts.append(_score(feats[qi], feats[gi], [items[i] for i in qi], [items[i] for i in gi], rerank))
        return average(parts), "two-camera both directions"
    if len(cams) < 2:
        raise ValueError("evaluation needs crops from at least two cameras")
    return _score(feats, feats, items, items, rerank), "all-vs-all cross-camera"
