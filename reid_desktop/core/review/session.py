"""An operator's identity review: the current proposal, verdicts on whole identities, undo/redo and
the figures an operator needs to know when to stop. Qt-free.

A proposal is an anchor identity and a strip of candidate identities, best first, with the ones
whose calibrated P(same) ≥ 0.5 preselected. `commit` records one action: "same" for the chosen
candidates (they all merge with the anchor), "different" (a cannot-link between the identities)
and "can't tell" for others. Each verdict row names the best-matching member pair and carries the
group score it was shown with, so the calibration learns P(same | group score) from the
operators' own verdicts and refits after every action. Verdicts without a score from this encoder
(made with another model, or in the Identities tab) count too, scored with this encoder's
similarity of their pair, so switching models keeps the calibration the model report shows.
Everything is written to the project before `commit` returns; undo and redo are whole actions
(`DecisionLedger`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import numpy as np

from reid_desktop.core.identities.curation import StoredNames
from reid_desktop.core.identities.ledger import DecisionLedger
from reid_desktop.core.names import plural
from reid_desktop.core.retrieval.matching import GalleryIndex
from reid_desktop.core.retrieval.neighbours import CropSimilarity
from reid_desktop.core.review.cache import Prepared
from reid_desktop.core.review.calibration import fit_calibration, scored_verdicts
from reid_desktop.core.review.proposals import Match, ProposalEngine
from reid_desktop.store import Action, Decision, Project
from reid_desktop.store.decisions import NewRow

log = logging.getLogger(__name__)
PRESELECT_P = 0.5


@dataclass(frozen=True)
class Candidate:
    key: int  # identity key: its smallest crop id
    crops: tuple[int, ...]
    score: float  # group score
    prob: float | None  # calibrated P(same); None before calibration
    preselected: bool
    pair: tuple[int, int]  # best-matching (anchor crop, candidate crop)


@dataclass(frozen=True)
class Proposal:
    anchor: int
    anchor_crops: tuple[int, ...]
    candidates: tuple[Candidate, ...]

    def candidate(self, key: int) -> Candidate:
        return next(c for c in self.candidates if c.key == key)


@dataclass(frozen=True)
class ReviewStats:
    alone: int  # crops in no identity yet
    identities: int  # identities of two or more crops
    merged: int  # "same" verdicts in force
    different: int
    unsure: int  # "can't tell"
    open_pairs: int  # identity pairs still proposed at this floor
    expected_merges: float  # Σ P(same) over them
    floor: float
    calibration: str


class ReviewSession:
    def __init__(
        self,
        project: Project,
        encoder_id: int,
        operator: str,
        index: GalleryIndex,
        similarity: CropSimilarity,
        *,
        width: int = 24,
        floor: float = 0.0,
        readable: Callable[[int], bool] | None = None,
        crop_name: Callable[[int], str] | None = None,
        engine: tuple[ProposalEngine, int] | None = None,
        pair_scores: dict[tuple[int, int], float | None] | None = None,
    ) -> None:
        """`engine`: one built off the GUI thread (`cache.prepare_review`) with the newest
        decision row it has taken in; rows written since are applied here. `pair_scores`: the
        verdict pairs it already scored (`cache.rescored_verdicts`), so none is scored here."""
        self.project = project
        self.encoder_id = encoder_id
        self.operator = operator
        self.index = index
        self.floor = floor
        self.readable = readable or (lambda _crop: True)
        self.crop_name = crop_name or (lambda crop: f"crop {crop}")
        self.ledger = DecisionLedger(project)
        self.stored_names = StoredNames(project)
        if engine is None:
            engine = (
                ProposalEngine(index.crop_ids, similarity, self.ledger.links, width=width),
                self.ledger.last_row,
            )
        self.engine, self._seen = engine  # _seen: the newest decision row the engine reflects
        self.engine.links = self.ledger.links
        self._pair_scores: dict[tuple[int, int], float | None] = dict(pair_scores or {})
        self._scored = scored_verdicts(self.ledger.active(), self._verdict_score)
        self.calibrator = fit_calibration(self._scored)
        self.undo_stack: list[int] = []  # action ids of this session, newest last
        self.redo_stack: list[int] = []  # undo actions that can be undone again (= redo)
        self.deferred: list[int] = []  # anchors put off with "next" (→), newest last
        self.notes: list[str] = []  # proposals skipped for unreadable crops, newest last
        self._current: Proposal | None = None
        if missed := self.ledger.rows_after(self._seen):  # written while the engine was built
            self._after_change(missed, rescored=True)

    @classmethod
    def from_prepared(
        cls, project: Project, encoder_id: int, operator: str, prepared: Prepared, **kw
    ) -> ReviewSession:
        """A session over what `cache.prepare_review` built off the GUI thread."""
        return cls(
            project,
            encoder_id,
            operator,
            prepared.index,
            prepared.similarity,
            engine=(prepared.engine, prepared.seen_row),
            pair_scores=prepared.pair_scores,
            **kw,
        )

    # ---- state ------------------------------------------------------------------------------------
    def _after_change(self, rows: list[Decision], rescored: bool = False) -> None:
        """New rows in the ledger (ours or from elsewhere): bring identities and scores up to date.
        `rescored`: the calibration already counts these rows."""
        self.engine.links = self.ledger.links  # rebuilt by the ledger after an undo
        voided = [self.ledger.rows[d.voids_id] for d in rows if d.voids_id is not None]
        crops = {c for d in rows + voided for c in (d.query_crop_id, d.candidate_crop_id)}
        self.engine.update_members(crops)
        if voided:  # constraints may have come back or gone: rescore both sides of every pair
            self.engine.rescore(self.engine.key(c) for c in crops if c in self.engine)
            self._scored = scored_verdicts(self.ledger.active(), self._verdict_score)
        else:
            for d in rows:
                if d.verdict in ("different", "skip"):
                    a, b = self._keys(d.query_crop_id, d.candidate_crop_id)
                    if a is not None and b is not None:
                        self.engine.prune(a, [b])
            if not rescored:
                self._scored += scored_verdicts(rows, self._verdict_score)
        self.calibrator = fit_calibration(self._scored)  # refit after every verdict
        self._seen = self.ledger.last_row
        self._current = None

    def _verdict_score(self, d: Decision) -> float | None:
        """The score a verdict is calibrated with: the group score it was shown with when this
        encoder scored it, else this encoder's similarity of its pair; None when either crop has
        no embedding here (as the model report leaves such pairs out)."""
        a, b = d.query_crop_id, d.candidate_crop_id
        if a not in self.engine or b not in self.engine:
            return None
        if d.encoder_id == self.encoder_id and d.score is not None:
            return d.score
        if (a, b) not in self._pair_scores:  # undo refits from every verdict: score each once
            self._pair_scores[(a, b)] = self.engine.pair_score(a, b)
        return self._pair_scores[(a, b)]

    def identity_name(self, key: int) -> str:
        """The identity's label as the Identities tab shows it (name, else ID-<smallest crop>)."""
        return self.stored_names.label(key, self.ledger.links.members(key))

    def _keys(self, a: int, b: int) -> tuple[int | None, int | None]:
        return (
            self.engine.key(a) if a in self.engine else None,
            self.engine.key(b) if b in self.engine else None,
        )

    def refresh_links(self) -> None:
        """Decisions may have changed elsewhere (Identities tab, another process): take them in."""
        self.ledger.sync()
        self.stored_names = StoredNames(self.project)  # names given in the Identities tab
        if new := self.ledger.rows_after(self._seen):
            self._after_change(new)
            self.undo_stack.clear()  # this session's actions may have been undone elsewhere
            self.redo_stack.clear()

    def set_floor(self, floor: float) -> None:
        """Kept in the project per encoder, so it survives a restart and the model report marks it."""
        self.floor = float(floor)
        self._current = None
        if not self.project.read_only:
            self.project.set_review_floor(self.encoder_id, self.floor)

    def probability(self, scores) -> np.ndarray:
        return self.calibrator.predict(np.atleast_1d(np.asarray(scores, dtype=np.float64)))

    # ---- proposals --------------------------------------------------------------------------------
    def current(self) -> Proposal | None:
        if self._current is None:
            self._current = self._next()
        return self._current

    def _next(self) -> Proposal | None:
        skip = set(self.deferred)
        while True:
            key = self.engine.next_anchor(self.calibrator.predict, self.floor, skip)
            if key is None:
                return None
            if key in skip:  # only deferred ones are left: they come back, oldest first
                self.deferred.clear()
            proposal = self._build(key)
            if proposal is not None:
                return proposal
            skip.add(key)
            self.deferred.append(key)

    def _build(self, key: int) -> Proposal | None:
        anchor = self.engine.crops(key)
        bad = [c for c in anchor if not self.readable(c)]
        if bad:
            self._note(
                f"{self.identity_name(key)}: {self.crop_name(bad[0])} cannot be read (moved or deleted?)"
            )
            return None
        matches = self.engine.candidates(key, self.floor)
        cands = []
        for m in matches:
            crops = self.engine.crops(m.key)
            bad = [c for c in crops if not self.readable(c)]
            if bad:
                self._note(f"{self.identity_name(m.key)}: {self.crop_name(bad[0])} cannot be read (moved?)")
                continue
            cands.append(self._candidate(m, crops))
        if not cands:
            return None
        if not self.calibrator.fitted:  # before calibration: the best one only
            cands[0] = replace(cands[0], preselected=True)
        return Proposal(key, anchor, tuple(cands))

    def _candidate(self, m: Match, crops: tuple[int, ...]) -> Candidate:
        prob = float(self.probability(m.score)[0]) if self.calibrator.fitted else None
        return Candidate(m.key, crops, m.score, prob, prob is not None and prob >= PRESELECT_P, m.pair)

    def _note(self, text: str) -> None:
        log.warning("identity review: %s", text)
        if not self.notes or self.notes[-1] != text:
            self.notes.append(text)

    def defer(self) -> Proposal | None:
        """Put the current proposal off (nothing recorded); it comes back when the rest is done."""
        p = self.current()
        if p is not None:
            self.deferred.append(p.anchor)
            self._current = None
        return self.current()

    def back(self) -> Proposal | None:
        """Return to the proposal deferred last; None when there is none (decided ones are undone
        with `undo`)."""
        while self.deferred:
            key = self.deferred.pop()
            if key in self.engine.rows:
                proposal = self._build(key)
                if proposal is not None:
                    self._current = proposal
                    return proposal
        return None

    # ---- verdicts ---------------------------------------------------------------------------------
    def blocked_reason(self, anchor: int, same: Iterable[int]) -> str | None:
        """Why merging these identities would join crops declared different, or None."""
        group = [anchor, *same]
        links = self.ledger.links
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                if links.forbidden(a, b):
                    x, y = links.different_witness(a, b) or (a, b)
                    return (
                        f"{self.crop_name(x)} and {self.crop_name(y)} were declared different; merging "
                        f"{self.identity_name(a)} and {self.identity_name(b)} would make them one person"
                    )
        return None

    def commit(
        self, same: Iterable[int] = (), different: Iterable[int] = (), unsure: Iterable[int] = ()
    ) -> Action:
        """Record verdicts on the current proposal's candidates (by identity key) as one action."""
        p = self.current()
        if p is None:
            raise ValueError("there is no proposal to decide")
        same, different, unsure = (
            list(dict.fromkeys(same)),
            list(dict.fromkeys(different)),
            list(dict.fromkeys(unsure)),
        )
        keys = same + different + unsure
        if len(set(keys)) != len(keys):
            raise ValueError("an identity can get only one verdict at a time")
        if not keys:
            raise ValueError("nothing chosen: select candidates, or mark them different")
        shown = {c.key for c in p.candidates}
        if unknown := [k for k in keys if k not in shown]:
            raise ValueError(f"{self.identity_name(unknown[0])} is not a candidate of this proposal")
        if why := self.blocked_reason(p.anchor, same):
            raise ValueError(why)
        rows = []
        for verdict, group in (("same", same), ("different", different), ("skip", unsure)):
            for k in group:
                c = p.candidate(k)
                rows.append(NewRow(c.pair[0], c.pair[1], verdict, c.score))
        parts = [f"{len(same)} merged"] if same else []
        parts += [f"{len(different)} different"] if different else []
        parts += [f"{len(unsure)} can't tell"] if unsure else []
        note = f"{self._label_after(p, same)}: " + ", ".join(parts)
        kind = "merge" if same else "different" if different else "skip"
        mark = self.ledger.last_row
        action = self.ledger.record(kind, rows, operator=self.operator, encoder_id=self.encoder_id, note=note)
        self._after_change(self.ledger.rows_after(mark))
        self.undo_stack.append(action.id)
        self.redo_stack.clear()
        return action

    def _label_after(self, p: Proposal, same: list[int]) -> str:
        """The anchor's identity as it stands once `same` merge into it, named as Identities will
        list it: the key of a merge is its smallest crop, which may be a candidate's."""
        members = set(self.ledger.links.members(p.anchor))
        for k in same:
            members.update(self.ledger.links.members(k))
        key = min(members)
        return f"{self.stored_names.label(key, members)} ({plural(len(members), 'crop')})"

    def merge(self, key: int) -> Action:
        return self.commit(same=[key])

    def mark_different(self, key: int) -> Action:
        return self.commit(different=[key])

    def mark_unsure(self, key: int) -> Action:
        return self.commit(unsure=[key])

    def undo(self) -> Action | None:
        """Undo this session's latest action as a whole; returns the action undone."""
        if not self.undo_stack:
            return None
        target = self.undo_stack[-1]
        mark = self.ledger.last_row
        undo = self.ledger.undo(target, operator=self.operator)
        self.undo_stack.pop()  # only once the undo is written
        self.redo_stack.append(undo.id)
        self._after_change(self.ledger.rows_after(mark))
        return self.ledger.actions[target]

    def redo(self) -> Action | None:
        """Redo the last undone action (by undoing its undo); returns the action restored."""
        if not self.redo_stack:
            return None
        target = self.redo_stack[-1]
        mark = self.ledger.last_row
        redo = self.ledger.undo(target, operator=self.operator)
        self.redo_stack.pop()
        self.undo_stack.append(redo.id)
        self._after_change(self.ledger.rows_after(mark))
        return self.ledger.undone_action(target)

    # ---- explaining -------------------------------------------------------------------------------
    def stripe_matrix(self, a: int, b: int) -> np.ndarray | None:
        return None if self.index.stripes is None else self.index.stripe_matrix(a, b)

    def member_pairs(self, anchor: int, key: int, n: int = 8) -> list[tuple[int, int, float]]:
        """The n best-matching (anchor crop, candidate crop, similarity) pairs, best first: the
        pairs the operator can step through under the heatmap."""
        a, b = self.engine.rows[anchor], self.engine.rows[key]
        s = self.engine.sim.block(a, b)
        order = np.argsort(-s, axis=None, kind="stable")[:n]
        ids = self.engine.crop_ids
        return [(int(ids[a[i // len(b)]]), int(ids[b[i % len(b)]]), float(s.flat[i])) for i in order]

    def stats(self) -> ReviewStats:
        sizes = self.engine.identity_sizes()
        counts = self.ledger.counts()
        pairs = self.engine.open_pairs(self.floor)
        scores = np.array([m.score for _, m in pairs])
        expected = float(self.probability(scores).sum()) if len(scores) else 0.0
        return ReviewStats(
            alone=int((sizes == 1).sum()),
            identities=int((sizes > 1).sum()),
            merged=counts["same"],
            different=counts["different"],
            unsure=counts["skip"],
            open_pairs=len(pairs),
            expected_merges=expected,
            floor=self.floor,
            calibration=self.calibrator.describe(),
        )
