"""An operator's review session: the queue, the current pair, decisions and undo. Qt-free.

A decision is written to the project file before `decide` returns, so the next pair is shown
only after the previous verdict is safe on disk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reid_desktop.core.identities.links import LinkGraph
from reid_desktop.core.retrieval.matching import Candidate, GalleryIndex
from reid_desktop.core.review.calibration import ScoreCalibrator
from reid_desktop.core.review.queue import Pair, build_queue, pack_queue, unpack_queue
from reid_desktop.store import Decision, Project


@dataclass(frozen=True)
class ReviewStats:
    decided: int  # decisions in force (same + different + skip)
    same: int
    different: int
    identities: int  # identities with two or more crops
    linked_crops: int
    queue_left: int
    expected_links_left: float  # sum of P(same) over pairs still queued
    calibration: str


def scored_verdicts(active: list[Decision], encoder_id: int) -> list[tuple[float, int]]:
    """(score, 1 for same / 0 for different) of verdicts scored by this model: cosines of
    different models do not share one calibration."""
    return [
        (d.score, int(d.verdict == "same"))
        for d in active
        if d.score is not None and d.encoder_id == encoder_id and d.verdict in ("same", "different")
    ]


def fit_calibration(scored: list[tuple[float, int]]) -> ScoreCalibrator:
    cal = ScoreCalibrator()
    if scored:
        arr = np.asarray(scored, dtype=np.float64)
        cal.fit(arr[:, 0], arr[:, 1].astype(np.int64))
    return cal


def links_and_calibration(project: Project, encoder_id: int) -> tuple[LinkGraph, ScoreCalibrator]:
    """The identity graph and P(same | score) fitted on the operators' verdicts for this model."""
    active = project.decisions.active()
    return LinkGraph(active), fit_calibration(scored_verdicts(active, encoder_id))


def prepare_queue(project: Project, encoder_id: int) -> tuple[GalleryIndex, list[Pair]]:
    """The slow part of opening a session, for a worker thread with its own project connection.
    The ranked queue is cached in the project while the model's embeddings stay the same."""
    index = GalleryIndex.from_project(project, encoder_id)
    # Undos re-open pairs the cached queue left out, so they are part of the key.
    undos = project.db.execute("SELECT count(*) FROM decisions WHERE verdict = 'undo'").fetchone()[0]
    key = f"{project.embeddings.fingerprint(encoder_id)}:{int(index.crop_ids.sum())}:{undos}"
    blob = project.embeddings.get_queue_cache(encoder_id, key)
    if blob is not None:
        return index, [p for p in unpack_queue(blob) if p.query in index and p.candidate in index]
    links, cal = links_and_calibration(project, encoder_id)
    queue = build_queue(index, links, calibrate=cal.predict if cal.fitted else None)
    project.embeddings.put_queue_cache(encoder_id, key, pack_queue(queue))
    return index, queue


class ReviewSession:
    def __init__(
        self,
        project: Project,
        encoder_id: int,
        operator: str,
        *,
        k: int = 10,
        index: GalleryIndex | None = None,
        queue: list[Pair] | None = None,
    ) -> None:
        self.project = project
        self.encoder_id = encoder_id
        self.operator = operator
        self.k = k
        self.index = index or GalleryIndex.from_project(project, encoder_id)
        self.undo_stack: list[int] = []  # decision ids of this session, newest last
        self.redo_stack: list[int] = []  # undo rows that can be undone again (= redo)
        if queue is None:
            self.refresh()
        else:  # built on a worker thread (see prepare_queue)
            self._load_decisions()
            self.queue = list(queue)
            self.pos = 0
            self._skip_resolved()

    # ---- state ----------------------------------------------------------------------------------
    def _load_decisions(self) -> None:
        """Decisions in force, from the project file: links, calibration and counts."""
        active = self.project.decisions.active()
        self.links = LinkGraph(active)
        self._scored = scored_verdicts(active, self.encoder_id)
        self.calibrator = fit_calibration(self._scored)
        self._counts = {v: sum(d.verdict == v for d in active) for v in ("same", "different", "skip")}

    def _refit(self) -> None:
        self.calibrator = fit_calibration(self._scored)

    def refresh_links(self) -> None:
        """Decisions changed elsewhere (identity edits): reload them, keep the queue."""
        self._load_decisions()
        self.undo_stack.clear()
        self.redo_stack.clear()
        self._skip_resolved()

    def refresh(self) -> None:
        """Reload decisions, refit calibration and rebuild the queue (after bulk changes)."""
        self._load_decisions()
        self.queue: list[Pair] = build_queue(
            self.index, self.links, calibrate=self.calibrator.predict if self.calibrator.fitted else None
        )
        self.pos = 0
        self._skip_resolved()

    def probability(self, scores: np.ndarray | float) -> np.ndarray:
        return self.calibrator.predict(np.atleast_1d(np.asarray(scores, dtype=np.float64)))

    def _open(self, p: Pair) -> bool:
        a, b = p.query, p.candidate
        return (
            LinkGraph.key(a, b) not in self.links.decided
            and not self.links.linked(a, b)
            and not self.links.forbidden(a, b)
        )

    def _skip_resolved(self) -> None:
        while self.pos < len(self.queue) and not self._open(self.queue[self.pos]):
            self.pos += 1

    def current(self) -> Pair | None:
        return self.queue[self.pos] if self.pos < len(self.queue) else None

    def candidates(self, query: int) -> list[Candidate]:
        return self.index.topk(query, self.k)

    def stripe_matrix(self, a: int, b: int) -> np.ndarray | None:
        return None if self.index.stripes is None else self.index.stripe_matrix(a, b)

    # ---- navigation -------------------------------------------------------------------------------
    def next(self) -> Pair | None:
        if self.pos < len(self.queue):
            self.pos += 1
        self._skip_resolved()
        return self.current()

    def previous(self) -> Pair | None:
        pos = self.pos - 1
        while pos >= 0 and not self._open(self.queue[pos]):
            pos -= 1
        if pos >= 0:
            self.pos = pos
        return self.current()

    # ---- decisions --------------------------------------------------------------------------------
    def blocked_reason(self, query: int, candidate: int) -> str | None:
        """Why a "same" verdict would contradict earlier "different" decisions, or None."""
        if not self.links.forbidden(query, candidate):
            return None
        ca, cb = self.links.component(query), self.links.component(candidate)
        for x, y in self.links.different:
            if {self.links.component(x), self.links.component(y)} == {ca, cb}:
                return (
                    f"crop {x} and crop {y} were declared different; joining crop {query} and "
                    f"crop {candidate} would put them in one identity"
                )
        return "these identities were declared different"

    def decide(self, query: int, candidate: int, verdict: str) -> Decision:
        if verdict == "same" and (why := self.blocked_reason(query, candidate)):
            raise ValueError(why)
        score = float(self.index.scores(query)[self.index.row(candidate)]) if query in self.index else None
        d = self.project.decisions.record(
            query, candidate, verdict, operator=self.operator, score=score, encoder_id=self.encoder_id
        )
        self.links.add(query, candidate, verdict)
        self._counts[verdict] += 1
        if verdict in ("same", "different") and score is not None:
            self._scored.append((score, int(verdict == "same")))
            self._refit()  # scores become calibrated as soon as there are enough verdicts
        self.undo_stack.append(d.id)
        self.redo_stack.clear()
        self._skip_resolved()
        return d

    def _base(self, d: Decision) -> Decision:
        """The verdict row an undo chain is about."""
        while d.verdict == "undo":
            d = self.project.decisions.get(d.voids_id)
        return d

    def undo(self) -> Decision | None:
        """Void this session's latest decision (or redo); its pair becomes current again."""
        if not self.undo_stack:
            return None
        row = self.project.decisions.undo(self.undo_stack[-1], operator=self.operator)
        self.undo_stack.pop()  # only once the undo row is written
        self.redo_stack.append(row.id)
        target = self._base(row)
        self._load_decisions()
        self._focus(target.query_crop_id, target.candidate_crop_id)
        return target

    def redo(self) -> Decision | None:
        """Restore the last undone decision by voiding its undo row (the audit trail keeps all)."""
        if not self.redo_stack:
            return None
        row = self.project.decisions.undo(self.redo_stack[-1], operator=self.operator)
        self.redo_stack.pop()
        self.undo_stack.append(row.id)
        self._load_decisions()
        self._skip_resolved()
        return self._base(row)

    def _focus(self, a: int, b: int) -> None:
        key = LinkGraph.key(a, b)
        for i, p in enumerate(self.queue):
            if LinkGraph.key(p.query, p.candidate) == key:
                self.pos = i
                return
        # A pair picked outside the queue (candidate 1-9): put it back in front.
        s = float(self.index.scores(a)[self.index.row(b)]) if a in self.index and b in self.index else 0.0
        self.queue.insert(self.pos, Pair(a, b, s, "manual"))

    def stats(self, *, queue: bool = True) -> ReviewStats:
        """Counts of decisions and identities; with `queue`, also what is left in the queue (a
        pass over the whole queue: ~70 ms for 10,000 crops, so the view debounces it)."""
        comps = self.links.components()
        if queue:
            left = [p for p in self.queue[self.pos :] if self._open(p)]
            if self.calibrator.fitted and left:
                expected = float(self.probability(np.array([p.score for p in left])).sum())
            else:
                expected = float(sum(p.kind == "mutual" for p in left))
            self._queue_stats = (len(left), expected)
        n_left, expected = getattr(self, "_queue_stats", (len(self.queue) - self.pos, 0.0))
        return ReviewStats(
            decided=sum(self._counts.values()),
            same=self._counts["same"],
            different=self._counts["different"],
            identities=len(comps),
            linked_crops=sum(len(m) for m in comps.values()),
            queue_left=n_left,
            expected_links_left=expected,
            calibration=self.calibrator.describe(),
        )
