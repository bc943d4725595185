"""Identity proposals: which identities an operator should compare next, kept up to date as
verdicts arrive instead of being ranked once.

An identity is a component of "same" decisions (a single crop is an identity too). Two identities
A and B are scored from all their members with the mean best match, both ways:

    score(A, B) = ½ · ( mean_{a∈A} max_{b∈B} s(a, b)  +  mean_{b∈B} max_{a∈A} s(a, b) )

where s is the crop similarity of `retrieval.neighbours` (camera-corrected cosine plus k-reciprocal
evidence). For every identity the engine keeps its `width` best open candidates (not the same
identity, not declared different, not "can't tell"); the anchor offered next is the identity whose
candidate list holds the most expected merges (Σ P(same) over the list). After a verdict only the
identities it changed are rescored at once; lists that mention them are marked stale and rescored
when they come up, so the next proposal stays fast at 10,000 crops.

Candidates come from the crops' k-reciprocal neighbours. An identity none of whose neighbours is
open any more is scored against every identity once nothing nearer is open, so the queue runs
dry only when no open pair is left above the floor. Below `exact_below` crops every list is
computed against every identity.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from reid_desktop.core.identities.links import LinkGraph
from reid_desktop.core.retrieval.neighbours import CropSimilarity

MAX_MEMBERS = 64  # members of a large identity used to score it (evenly spaced): bounded work
NEAR_KEYS = 4  # neighbour identities scored per list, as a multiple of its width


@dataclass(frozen=True)
class Match:
    key: int  # the candidate identity (its smallest crop id)
    score: float
    pair: tuple[int, int]  # the best-matching member pair (anchor crop, candidate crop)


def _sample(rows: np.ndarray) -> np.ndarray:
    if len(rows) <= MAX_MEMBERS:
        return rows
    return rows[np.linspace(0, len(rows) - 1, MAX_MEMBERS).astype(np.int64)]


def group_scores(s: np.ndarray, seg_starts: np.ndarray) -> np.ndarray:
    """score(A, B) for every candidate identity B from the |A|×|cols| similarity block `s`,
    whose columns are grouped by identity (each group starting at `seg_starts`)."""
    per_a = np.maximum.reduceat(s, seg_starts, axis=1)  # |A| × groups: best b for each a
    best_a = s.max(axis=0)  # for each b: its best a
    sizes = np.diff(np.append(seg_starts, s.shape[1]))
    seg = np.repeat(np.arange(len(seg_starts)), sizes)
    b_side = np.bincount(seg, weights=best_a, minlength=len(seg_starts)) / sizes
    return (per_a.mean(axis=0) + b_side) / 2.0


class ProposalEngine:
    def __init__(
        self,
        crop_ids: np.ndarray,
        sim: CropSimilarity,
        links: LinkGraph,
        *,
        width: int = 24,
        exact_below: int = 3000,
    ) -> None:
        self.crop_ids = np.asarray(crop_ids, dtype=np.int64)
        self._row = {int(c): i for i, c in enumerate(self.crop_ids)}
        self.sim = sim
        self.width = width
        self.exact = len(self.crop_ids) < exact_below
        n = len(self.crop_ids)
        self.key_of = np.full(n, -1, np.int64)  # row -> identity key
        self.rows: dict[int, np.ndarray] = {}  # identity key -> its rows (crops with embeddings)
        self.lists: dict[int, list[Match]] = {}
        self.refs: dict[int, set[int]] = {}  # key -> identities whose list mentions it
        self.dirty: set[int] = set()
        self.exhausted: set[int] = set()  # identities with no open neighbour (see next_anchor)
        self.top = np.full((n, width), -np.inf, np.float32)  # list scores, at the key's first row
        self.links = links
        self._perm: tuple[np.ndarray, np.ndarray] | None = None  # rows sorted by identity key
        self._assign(self.crop_ids.tolist())
        for key in list(self.rows):
            self._rescore(key)

    # ---- identities -------------------------------------------------------------------------------
    def __contains__(self, crop_id: int) -> bool:
        return int(crop_id) in self._row

    def key(self, crop_id: int) -> int:
        return int(self.key_of[self._row[int(crop_id)]])

    def crops(self, key: int) -> tuple[int, ...]:
        return tuple(int(c) for c in self.crop_ids[self.rows[key]])

    def pair_score(self, a: int, b: int) -> float | None:
        """s(a, b) of two crops (what a group score is made of); None when either has no
        embedding under this encoder."""
        ra, rb = self._row.get(int(a)), self._row.get(int(b))
        if ra is None or rb is None:
            return None
        return float(self.sim.block(np.array([ra]), np.array([rb]))[0, 0])

    def identity_sizes(self) -> np.ndarray:
        return np.fromiter((len(r) for r in self.rows.values()), np.int64, len(self.rows))

    def _assign(self, crop_ids: Iterable[int]) -> set[int]:
        """Re-read the identities of these crops from the links; returns the keys whose members
        changed (new, grown, shrunk or gone)."""
        changed: set[int] = set()
        todo = {int(c) for c in crop_ids if int(c) in self._row}
        while todo:
            c = todo.pop()
            key = self.links.component(c)
            members = [m for m in self.links.members(c) if m in self._row]
            rows = np.array(sorted(self._row[m] for m in members), np.int64)
            old = {int(k) for k in self.key_of[rows] if int(k) in self.rows}
            if key in self.rows:
                old.add(key)
            for k in old:
                leftover = np.setdiff1d(self.rows[k], rows)
                todo.update(int(x) for x in self.crop_ids[leftover])  # split off: re-key them too
                if k != key:
                    del self.rows[k]
                    self._drop(k)
                    changed.add(k)
            if key not in self.rows or not np.array_equal(self.rows[key], rows):
                changed.add(key)
            self.rows[key] = rows
            self.key_of[rows] = key
            self._perm = None
            todo.difference_update(members)
        return changed

    def _drop(self, key: int) -> None:
        self.lists.pop(key, None)
        self.dirty.discard(key)
        self.exhausted.discard(key)
        for r in self.refs.pop(key, set()):
            self.dirty.add(r)

    def _first_row(self, key: int) -> int:
        return int(self.rows[key][0])

    def update_members(self, crops: Iterable[int]) -> None:
        """Identities changed for these crops (a merge, a split, an undo): rescore those now and
        mark the lists that mention them stale."""
        changed = self._assign(crops)
        for key in changed:
            if key in self.rows:
                self.top[self.rows[key]] = -np.inf  # scores left at rows that moved
        for key in changed:
            if key in self.rows:
                self.dirty.update(self.refs.get(key, set()))
                self._rescore(key)

    def prune(self, key: int, others: Iterable[int]) -> None:
        """Pairs closed by "different" or "can't tell": out of both lists without rescoring (the
        shortened lists are refilled when they come up)."""
        others = set(others)
        for a, drop in [(key, others)] + [(o, {key}) for o in others]:
            if a not in self.lists:
                continue
            kept = [m for m in self.lists[a] if m.key not in drop]
            if len(kept) != len(self.lists[a]):
                self.lists[a] = kept
                self._write_top(a)
                self.dirty.add(a)

    def rescore(self, keys: Iterable[int]) -> None:
        for k in set(keys):
            if k in self.rows:
                self._rescore(k)
            else:
                self.dirty.discard(k)

    def _write_top(self, key: int) -> None:
        row = self._first_row(key)
        matches = self.lists[key]
        self.top[row] = -np.inf
        self.top[row, : len(matches)] = [m.score for m in matches]

    # ---- scoring ----------------------------------------------------------------------------------
    def _open(self, a: int, b: int) -> bool:
        return a != b and not self.links.forbidden(a, b) and not self.links.undecidable(a, b)

    def _closed(self, key: int) -> set[int]:
        return self.links.apart.get(key, set()) | self.links.unsure.get(key, set()) | {key}

    def _near_keys(self, key: int) -> list[int]:
        """Identities holding a k-reciprocal neighbour of one of the anchor's crops: the
        NEAR_KEYS × width with the strongest evidence (a crop many lists share would otherwise
        bring hundreds)."""
        cols, jac = self.sim.neighbour_evidence(_sample(self.rows[key]))
        keys = self.key_of[cols]
        closed = np.fromiter(self._closed(key), np.int64)
        keep = ~np.isin(keys, closed)
        keys, jac = keys[keep], jac[keep]
        if not len(keys):
            return []
        order = np.lexsort((-jac, keys))  # per key, its best evidence first
        keys, jac = keys[order], jac[order]
        first = np.r_[True, keys[1:] != keys[:-1]]
        keys, best = keys[first], jac[first]
        top = np.lexsort((keys, -best))[: NEAR_KEYS * self.width]
        return sorted(int(k) for k in keys[top])

    def _by_key(self) -> tuple[np.ndarray, np.ndarray]:
        if self._perm is None:
            perm = np.argsort(self.key_of, kind="stable")
            self._perm = (perm, self.key_of[perm])
        return self._perm

    def score(self, key: int, others: list[int] | None, best: int | None = None) -> list[Match]:
        """Scores of `key` against the identities in `others` (None: every open one), only the
        `best` highest, best first (ties by key), each with its best-matching member pair."""
        a = _sample(self.rows[key])
        if others is None:  # every row, grouped by identity, the closed ones left out
            perm, keys_sorted = self._by_key()
            keep = ~np.isin(keys_sorted, list(self._closed(key)))
            cols, col_keys = perm[keep], keys_sorted[keep]
            if not len(cols):
                return []
            starts = np.flatnonzero(np.r_[True, col_keys[1:] != col_keys[:-1]])
            keys = col_keys[starts]
        else:
            if not others:
                return []
            groups = [_sample(self.rows[k]) for k in others]
            cols = np.concatenate(groups)
            starts = np.concatenate([[0], np.cumsum([len(g) for g in groups])[:-1]])
            keys = np.asarray(others, np.int64)
        sizes = np.diff(np.append(starts, len(cols)))
        s = self.sim.block(a, cols)
        scores = group_scores(s, starts).astype(np.float32)  # as stored in `top`
        out = []
        for i in np.lexsort((keys, -scores))[: best or len(keys)]:
            sub = s[:, starts[i] : starts[i] + sizes[i]]
            ai, bi = np.unravel_index(int(np.argmax(sub)), sub.shape)
            pair = (int(self.crop_ids[a[ai]]), int(self.crop_ids[cols[starts[i] + bi]]))
            out.append(Match(int(keys[i]), float(scores[i]), pair))
        return out

    def _rescore(self, key: int, everyone: bool = False) -> None:
        matches = self.score(key, None if self.exact or everyone else self._near_keys(key), self.width)
        if not matches and not self.exact and not everyone:
            # No open neighbour left: its remaining candidates are far ones, scored against every
            # identity only when nothing nearer is open (see next_anchor).
            self.exhausted.add(key)
        for old in self.lists.get(key, []):
            self.refs.get(old.key, set()).discard(key)
        self.lists[key] = matches
        for m in matches:
            self.refs.setdefault(m.key, set()).add(key)
        self._write_top(key)
        self.dirty.discard(key)

    def candidates(self, key: int, floor: float) -> list[Match]:
        """The anchor's open candidates at or above the floor, best first (rescored if stale)."""
        if key in self.dirty:
            self._rescore(key, everyone=key in self.exhausted)
        return [m for m in self.lists.get(key, []) if m.score >= floor and self._open(key, m.key)]

    # ---- choosing ---------------------------------------------------------------------------------
    def next_anchor(
        self, prob: Callable[[np.ndarray], np.ndarray], floor: float, skip: Iterable[int] = ()
    ) -> int | None:
        """The identity whose candidates hold the most expected merges; None when no open pair
        at or above the floor is left (deferred identities in `skip` come last)."""
        skip_rows = {self._first_row(k) for k in skip if k in self.rows}
        swept = False
        while True:
            row = self._best_row(prob, floor, skip_rows)
            if row < 0:
                if self.dirty and not swept:
                    self.rescore(list(self.dirty))  # stale lists might hide open pairs
                    swept = True
                    continue
                return self._far_anchor(floor)
            key = int(self.key_of[row])
            if key not in self.rows or self._first_row(key) != row:
                self.top[row] = -np.inf  # left over from an identity that changed
                continue
            if key in self.dirty:
                self._rescore(key)
                continue
            if self.candidates(key, floor):
                return key
            self.dirty.add(key)  # its list holds only closed pairs now: refill it

    def _best_row(self, prob: Callable[[np.ndarray], np.ndarray], floor: float, skip_rows: set[int]) -> int:
        """argmax over identities of Σ P over their list (−1 if none has an open candidate).
        Lists are visited by their best P, stopping once `width × P(best)` cannot win."""
        top0 = self.top[:, 0]
        rows = np.flatnonzero(np.isfinite(top0) & (top0 >= floor))
        if not len(rows):
            return -1
        p0 = prob(top0[rows].astype(np.float64))
        order = np.argsort(-p0, kind="stable")
        best_row, best = -1, -1.0
        for start in range(0, len(order), 256):
            if best >= self.width * p0[order[start]] + 1e-3:
                break
            idx = rows[order[start : start + 256]]
            sub = self.top[idx].astype(np.float64)
            ok = np.isfinite(sub) & (sub >= floor)
            vals = np.where(ok, prob(np.where(ok, sub, 0.0)), 0.0).sum(axis=1) + 1e-3  # open at all
            if skip_rows:
                vals[np.isin(idx, list(skip_rows))] = 1e-6  # put off: after everything else
            j = int(np.argmax(vals))
            if vals[j] > best:
                best_row, best = int(idx[j]), float(vals[j])
        return best_row

    def _far_anchor(self, floor: float) -> int | None:
        """Nothing near is open: score identities whose neighbours are all decided against every
        identity, one at a time, until one has a candidate at or above the floor."""
        while self.exhausted:
            key = min(self.exhausted)
            self.exhausted.discard(key)
            if key not in self.rows:
                continue
            self._rescore(key, everyone=True)
            if self.candidates(key, floor):
                return key
        return None

    def open_pairs(self, floor: float) -> list[tuple[int, Match]]:
        """Each identity's best open candidate at or above the floor, one entry per pair: what the
        header's "merges left" sums over."""
        seen: set[tuple[int, int]] = set()
        out = []
        for key, matches in self.lists.items():
            best = next(
                (m for m in matches if m.score >= floor and m.key in self.rows and self._open(key, m.key)),
                None,
            )
            if best is None:
                continue
            pair = LinkGraph.key(key, best.key)
            if pair not in seen:
                seen.add(pair)
                out.append((key, best))
        return out
