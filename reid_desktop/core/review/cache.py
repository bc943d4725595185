"""The slow part of opening identity review, and its cache in the project.

Ranking every crop's neighbours takes seconds at 10,000 crops, and depends only on the encoder's
embeddings (never on decisions), so the sparse similarity table is stored per encoder and reused
while the embeddings it was built from are unchanged. Decisions are applied on top when the
session starts. A read-only project computes it without storing it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from reid_desktop.core.identities.ledger import DecisionLedger
from reid_desktop.core.jobs import CancelToken, Job, Progress
from reid_desktop.core.retrieval.matching import GalleryIndex
from reid_desktop.core.retrieval.neighbours import DEFAULT, CropSimilarity, Params, build_similarity
from reid_desktop.core.review.proposals import ProposalEngine
from reid_desktop.store import Project, ProjectError

log = logging.getLogger(__name__)
FORMAT = "idreview-1"  # bump when the blob's layout or the similarity's definition changes


def cache_key(project: Project, encoder_id: int, index: GalleryIndex, params: Params) -> str:
    frames = project_frames(project, index)
    return (
        f"{FORMAT}:{project.embeddings.fingerprint(encoder_id)}:{int(index.crop_ids.sum())}:"
        f"{params.k1}:{params.k2}:{params.lam}:{params.width}:{int(np.nansum(frames))}"
    )


def project_frames(project: Project, index: GalleryIndex) -> np.ndarray:
    """Frame numbers aligned with the index, from layouts that define a frame field (Market-1501);
    NaN elsewhere, including frames older releases guessed from other names."""
    market = {c.id for c in project.cameras.all() if c.layout == "market"}
    frame = {c.id: c.frame for c in project.crops.all() if c.camera_id in market}
    return np.array([np.nan if frame.get(int(c)) is None else frame[int(c)] for c in index.crop_ids])


def prepare_review(
    project: Project, encoder_id: int, cancel: CancelToken | None = None, params: Params = DEFAULT
) -> Job[Prepared]:
    """Everything slow about opening a review, for a worker thread with its own connection: the
    embeddings, the similarity table (from the cache while valid) and the proposal engine over
    the decisions in force."""
    index, sim = yield from _similarity(project, encoder_id, cancel, params)
    yield Progress(0, None, "Scoring identities…")
    ledger = DecisionLedger(project)
    engine = ProposalEngine(index.crop_ids, sim, ledger.links)
    return Prepared(index, sim, engine, ledger.last_row, rescored_verdicts(ledger, engine, encoder_id))


def rescored_verdicts(ledger: DecisionLedger, engine: ProposalEngine, encoder_id: int) -> dict:
    """This encoder's score of every verdict in force that it did not score itself (another
    model's, or the Identities tab's): what the session calibrates with. Done here, off the GUI
    thread: tens of microseconds a pair add up to seconds over a long history."""
    out: dict[tuple[int, int], float | None] = {}
    for d in ledger.active():
        if d.verdict not in ("same", "different") or (d.encoder_id == encoder_id and d.score is not None):
            continue
        a, b = d.query_crop_id, d.candidate_crop_id
        if a in engine and b in engine and (a, b) not in out:
            out[(a, b)] = engine.pair_score(a, b)
    return out


@dataclass(frozen=True)
class Prepared:
    index: GalleryIndex
    similarity: CropSimilarity
    engine: ProposalEngine
    seen_row: int  # the newest decision row the engine has taken in
    pair_scores: dict = field(default_factory=dict)  # (crop, crop) -> score, see rescored_verdicts


def _similarity(
    project: Project, encoder_id: int, cancel: CancelToken | None, params: Params
) -> Job[tuple[GalleryIndex, CropSimilarity]]:
    yield Progress(0, None, "Loading embeddings…")
    index = GalleryIndex.from_project(project, encoder_id)
    key = cache_key(project, encoder_id, index, params)
    blob = project.review_cache.get(encoder_id, key)
    if blob is not None:
        try:
            return index, CropSimilarity.unpack(blob, index.feats, _camera_index(index))
        except (ValueError, KeyError, OSError) as exc:  # a damaged blob is rebuilt, not fatal
            log.warning("review cache for encoder %s unusable (%s); rebuilding", encoder_id, exc)
    frames = project_frames(project, index)
    sim = yield from build_similarity(index.feats, index.cameras, frames, params, cancel)
    if not project.read_only:
        try:
            project.review_cache.put(encoder_id, key, sim.pack())
        except ProjectError as exc:  # a full disk costs the next opening some seconds, no more
            log.warning("review cache not saved: %s", exc)
    return index, sim


def _camera_index(index: GalleryIndex) -> np.ndarray:
    return np.unique(index.cameras, return_inverse=True)[1]
