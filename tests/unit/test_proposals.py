"""Identity proposals against a brute-force recomputation: the group score, each identity's list,
incremental updates after random verdicts (ties included), and no proposal across a cannot-link."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.people import add_people

from reid_desktop.core.identities.links import LinkGraph
from reid_desktop.core.retrieval.neighbours import Params
from reid_desktop.core.review.proposals import ProposalEngine, group_scores
from reid_desktop.store import Decision


def _slow_score(sim, a_rows, b_rows) -> float:
    """score(A, B) = ½ (mean over a of max over b + mean over b of max over a), by loops."""
    s = [[float(sim.block(np.array([a]), np.array([b]))[0, 0]) for b in b_rows] for a in a_rows]
    a_side = sum(max(row) for row in s) / len(a_rows)
    b_side = sum(max(s[i][j] for i in range(len(a_rows))) for j in range(len(b_rows))) / len(b_rows)
    return (a_side + b_side) / 2


def _brute_lists(engine: ProposalEngine, links: LinkGraph, width: int) -> dict[int, list[tuple[float, int]]]:
    out = {}
    for key, rows in engine.rows.items():
        scored = [
            (_slow_score(engine.sim, rows, other_rows), other)
            for other, other_rows in engine.rows.items()
            if other != key and not links.forbidden(key, other) and not links.undecidable(key, other)
        ]
        scored.sort(key=lambda t: (-t[0], t[1]))
        out[key] = scored[:width]
    return out


def _engine_lists(engine: ProposalEngine) -> dict[int, list[tuple[float, int]]]:
    return {k: [(m.score, m.key) for m in engine.candidates(k, -1.0)] for k in engine.rows}


def _assert_same_lists(got, want):
    assert got.keys() == want.keys()
    for k in want:
        assert [key for _, key in got[k]] == [key for _, key in want[k]], k
        assert [s for s, _ in got[k]] == pytest.approx([s for s, _ in want[k]], abs=1e-5)


def test_group_scores_match_the_formula():
    rng = np.random.default_rng(3)
    s = rng.uniform(-1, 1, (3, 7)).astype(np.float32)
    starts = np.array([0, 2, 3])  # groups of 2, 1 and 4 columns
    got = group_scores(s, starts)
    for g, (lo, hi) in enumerate([(0, 2), (2, 3), (3, 7)]):
        sub = s[:, lo:hi]
        want = (sub.max(axis=1).mean() + sub.max(axis=0).mean()) / 2
        assert got[g] == pytest.approx(want, abs=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("exact", [True, False])
def test_incremental_lists_equal_a_brute_force_recomputation(project, seed, exact):
    people = add_people(
        project, people=4, per_camera=3, seed=seed, noise=0.6, params=Params(k1=6, k2=3, width=40)
    )
    ids = sorted(people.person)
    links = LinkGraph()
    width = 5
    # The sparse path (exact=False) sees every pair here: its neighbour lists hold every crop.
    engine = ProposalEngine(
        people.index.crop_ids, people.similarity, links, width=width, exact_below=0 if not exact else 10**6
    )
    if not exact:
        assert all(len(people.similarity.neighbours(r)) == len(ids) - 1 for r in range(len(ids)))
    _assert_same_lists(_engine_lists(engine), _brute_lists(engine, links, width))
    rng = np.random.default_rng(seed)
    for _ in range(12):  # random verdicts, merges and splits applied incrementally
        a, b = (int(x) for x in rng.choice(ids, 2, replace=False))
        verdict = str(rng.choice(["same", "same", "different", "skip"]))
        if verdict == "same" and links.forbidden(a, b):
            continue
        links.add(a, b, verdict)
        engine.links = links
        engine.update_members([a, b])
        if verdict != "same":
            engine.prune(links.component(a), [links.component(b)])
        _assert_same_lists(_engine_lists(engine), _brute_lists(engine, links, width))
        key = engine.next_anchor(lambda x: np.clip(x, 0, 1), -1.0)
        if key is not None:
            assert all(not links.forbidden(key, m.key) for m in engine.candidates(key, -1.0))


def test_ties_are_broken_by_key_and_duplicates_score_alike(project):
    people = add_people(project, people=3, per_camera=2, noise=0.0)  # crops of one person tie exactly
    engine = ProposalEngine(people.index.crop_ids, people.similarity, LinkGraph(), width=10)
    for key in engine.rows:
        matches = engine.candidates(key, -1.0)
        ordered = sorted(matches, key=lambda m: (-m.score, m.key))
        assert matches == ordered


def test_a_merge_after_a_different_never_proposes_the_pair(project):
    people = add_people(project, people=4, per_camera=2)
    by = {}
    for c, p in sorted(people.person.items()):
        by.setdefault(p, []).append(c)
    a, b, c = by[0][0], by[1][0], by[0][1]
    decisions = [
        Decision(1, a, b, "different", None, None, "t", "now"),
        Decision(2, a, c, "same", None, None, "t", "now"),
    ]
    links = LinkGraph(decisions)
    engine = ProposalEngine(people.index.crop_ids, people.similarity, links, width=20)
    ka, kb = links.component(a), links.component(b)
    assert kb not in [m.key for m in engine.candidates(ka, -1.0)]
    assert ka not in [m.key for m in engine.candidates(kb, -1.0)]
    # ... and still not after b's side merges with a third crop.
    d = by[1][1]
    links.add(b, d, "same")
    engine.update_members([b, d])
    kb = links.component(b)
    assert kb not in [m.key for m in engine.candidates(ka, -1.0)]


def test_next_anchor_holds_the_most_expected_merges_and_runs_dry_only_when_nothing_is_open(project):
    people = add_people(project, people=3, per_camera=2)
    links = LinkGraph()
    engine = ProposalEngine(people.index.crop_ids, people.similarity, links, width=3)
    prob = lambda x: np.clip(x, 0, 1)  # noqa: E731
    key = engine.next_anchor(prob, 0.0)
    expected = {k: sum(max(0.0, min(1.0, m.score)) for m in engine.candidates(k, 0.0)) for k in engine.rows}
    assert expected[key] == pytest.approx(max(expected.values()), abs=1e-3)
    # Close every pair: the queue is dry only then.
    keys = sorted(engine.rows)
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            assert engine.next_anchor(prob, -1.0) is not None
            links.add(a, b, "different")
            engine.prune(a, [b])
    assert engine.next_anchor(prob, -1.0) is None
