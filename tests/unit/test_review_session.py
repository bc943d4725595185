"""The Qt-free identity review: one action per verdict on whole identities, undo/redo as units,
cannot-links that hold through later merges, a queue that never runs dry, reopening, bad input."""

from __future__ import annotations

import pytest
from helpers.people import add_people

from reid_desktop.core.review.session import ReviewSession
from reid_desktop.store import Project


def _session(project: Project, people, **kw) -> ReviewSession:
    return ReviewSession(project, people.encoder_id, "alice", people.index, people.similarity, **kw)


def _oracle(people, p):
    """Tick exactly the candidates that are the anchor's person; the rest are different."""
    who = people.person[p.anchor_crops[0]]
    same = [c.key for c in p.candidates if people.person[c.crops[0]] == who]
    return same, [c.key for c in p.candidates if c.key not in same]


@pytest.fixture
def people(project):
    return add_people(project, people=5, per_camera=3)


def test_a_group_merge_is_one_action_with_operator_time_and_encoder(project, people):
    s = _session(project, people)
    p = s.current()
    same, different = _oracle(people, p)
    assert len(same) >= 2  # a group, not a pair
    action = s.commit(same=same, different=different)
    rows = [d for d in project.decisions.history() if d.action_id == action.id]
    assert len(rows) == len(same) + len(different)
    assert {(d.operator, d.encoder_id) for d in rows} == {("alice", people.encoder_id)}
    assert (action.operator, action.encoder_id, action.kind) == ("alice", people.encoder_id, "merge")
    assert action.created_at and all(d.created_at == action.created_at for d in rows)
    assert all(
        d.score == pytest.approx(p.candidate(k).score, abs=1e-6)
        for d, k in zip(rows, same + different, strict=True)
    )
    merged = s.engine.crops(s.engine.key(p.anchor_crops[0]))
    assert set(merged) == set(p.anchor_crops).union(*(p.candidate(k).crops for k in same))


def test_undo_and_redo_take_the_whole_group_out_and_back_without_deleting(project, people):
    s = _session(project, people)
    p = s.current()
    same, different = _oracle(people, p)
    action = s.commit(same=same, different=different)
    n_rows = len(project.decisions.history())
    assert s.undo().id == action.id
    assert project.decisions.active() == []  # every row of the action out of force at once
    undo_rows = project.decisions.history()[n_rows:]
    assert len(undo_rows) == n_rows and {d.verdict for d in undo_rows} == {"undo"}
    assert len({d.action_id for d in undo_rows}) == 1  # one undo action
    assert s.engine.crops(s.engine.key(p.anchor_crops[0])) == p.anchor_crops
    assert s.current() == p  # the same proposal is back
    assert s.redo().id == action.id
    assert len(project.decisions.active()) == n_rows
    assert len(project.decisions.history()) == 3 * n_rows  # the audit trail keeps every step
    assert s.undo() is not None and s.undo() is None


def test_different_holds_after_either_side_merges_with_a_third_identity(project, people):
    s = _session(project, people)
    crops = sorted(people.person)
    by_person: dict[int, list[int]] = {}
    for c in crops:
        by_person.setdefault(people.person[c], []).append(c)
    a, b, c = by_person[0][0], by_person[1][0], by_person[0][1]
    # Another screen: a "different" between person 0's crop a and person 1's crop b, then a
    # merges with c.
    project.decisions.record(a, b, "different", operator="t")
    project.decisions.record(a, c, "same", operator="t")
    s.refresh_links()
    assert s.engine.key(a) == s.engine.key(c)
    while (p := s.current()) is not None:  # no proposal ever pairs the two identities
        assert not _together(s, p, a, b)
        same, different = _oracle(people, p)
        s.commit(same=same, different=different)
    assert s.engine.key(a) != s.engine.key(b)
    assert s.ledger.links.forbidden(a, b) and not s.ledger.links.contradictions()


def _together(s, p, a, b) -> bool:
    anchor = s.engine.key(p.anchor_crops[0])
    others = {s.engine.key(x.crops[0]) for x in p.candidates}
    ka, kb = s.engine.key(a), s.engine.key(b)
    return (anchor == ka and kb in others) or (anchor == kb and ka in others)


def test_merging_across_a_cannot_link_is_refused_with_the_reason(project, people):
    p = _session(project, people).current()
    x, y = p.candidates[0], p.candidates[1]
    project.decisions.record(x.crops[0], y.crops[0], "different", operator="t")
    s = _session(project, people, crop_name=lambda c: f"file{c}")
    s._current = p  # the strip as shown before the other screen's "different" arrived
    before = len(project.decisions.history())
    with pytest.raises(ValueError, match=f"file{x.crops[0]} and file{y.crops[0]} were declared different"):
        s.commit(same=[x.key, y.key])
    assert len(project.decisions.history()) == before  # nothing written
    s.commit(same=[x.key])  # either one alone is fine


def test_the_queue_never_runs_dry_before_everyone_is_grouped(project, people):
    s = _session(project, people, width=4)  # narrow strips: many proposals in a row
    steps = 0
    while (p := s.current()) is not None:
        same, different = _oracle(people, p)
        s.commit(same=same, different=different)
        steps += 1
        assert steps < 500
    assert people.fully_grouped({k: s.engine.crops(k) for k in s.engine.rows}) == 5
    st = s.stats()
    assert (st.alone, st.identities, st.open_pairs) == (0, 5, 0)


def test_reopening_restores_identities_and_the_queue(tmp_path, people, project):
    s = _session(project, people)
    for _ in range(2):
        p = s.current()
        same, different = _oracle(people, p)
        s.commit(same=same, different=different)
    identities = {k: s.engine.crops(k) for k in s.engine.rows}
    upcoming = s.current()
    path = project.path
    project.close()
    with Project.open(path) as again:
        s2 = ReviewSession(again, people.encoder_id, "bob", people.index, people.similarity)
        assert {k: s2.engine.crops(k) for k in s2.engine.rows} == identities
        assert s2.current() == upcoming


def test_a_proposal_whose_crops_went_missing_is_skipped_with_a_note(project, people):
    first = _session(project, people).current()
    gone = first.anchor_crops[0]
    s = _session(project, people, readable=lambda c: c != gone, crop_name=lambda c: f"cam/{c}.jpg")
    p = s.current()
    assert p is not None and gone not in p.anchor_crops
    assert all(gone not in c.crops for c in p.candidates)
    assert s.notes and f"cam/{gone}.jpg cannot be read" in s.notes[-1]


def test_floor_later_and_back(project, people):
    s = _session(project, people)
    first = s.current()
    s.set_floor(1.01)
    assert s.current() is None
    s.set_floor(0.0)
    assert s.current() == first
    second = s.defer()
    assert second is not None and second.anchor != first.anchor
    assert s.back() == first and s.current() == first
    assert s.back() is None  # nothing else put off


def test_the_floor_is_kept_per_encoder_in_the_project(project, people):
    assert project.review_floor(people.encoder_id) == 0.0
    _session(project, people).set_floor(0.35)
    assert project.review_floor(people.encoder_id) == pytest.approx(0.35)
    assert project.review_floor(people.encoder_id + 1) == 0.0  # another encoder's scores differ
    project.meta.set(f"review_floor:{people.encoder_id}", "not a number")
    assert project.review_floor(people.encoder_id) == 0.0  # a damaged value is no floor, not a crash


def test_commit_needs_a_choice_and_one_verdict_per_identity(project, people):
    s = _session(project, people)
    p = s.current()
    with pytest.raises(ValueError, match="nothing chosen"):
        s.commit()
    k = p.candidates[0].key
    with pytest.raises(ValueError, match="only one verdict"):
        s.commit(same=[k], different=[k])
    with pytest.raises(ValueError, match="not a candidate"):
        s.commit(same=[p.anchor])
    assert project.decisions.history() == []


def test_decisions_written_while_the_engine_was_built_off_thread_are_applied(project, people):
    from reid_desktop.core.jobs import run_job
    from reid_desktop.core.review.cache import prepare_review

    project.embeddings.put_many(
        people.encoder_id,
        [(int(c), people.index.feats[i], None) for i, c in enumerate(people.index.crop_ids)],
    )
    prepared = run_job(prepare_review(project, people.encoder_id))  # the worker's view
    a, b = sorted(people.person)[:2]
    project.decisions.record(a, b, "same", operator="meanwhile", score=0.9, encoder_id=people.encoder_id)
    s = ReviewSession.from_prepared(project, people.encoder_id, "alice", prepared)
    assert s.engine.key(a) == s.engine.key(b)
    assert s._scored == [(0.9, 1)]  # counted once


def test_after_switching_models_review_calibrates_on_the_verdicts_the_model_report_counts(project):
    """Verdicts made with model A (and in the Identities tab, with no model) are in force when
    model B becomes active: the review fits P(same) on them, each scored by B, exactly as many as
    B's model report counts; a crop without a B embedding leaves its verdicts out."""
    import numpy as np
    from helpers.embedded import confirm_people, embedded_project

    from reid_desktop.core.jobs import run_job
    from reid_desktop.core.reports.model_report import model_report
    from reid_desktop.core.review.cache import prepare_review

    enc_a, ids = embedded_project(project, people=8, per_camera=3, noise=0.5)
    crops = sorted(ids.items())  # ((person, camera, variant), crop id), by person
    by_person: dict[int, list[int]] = {}
    for (p, _c, _v), c in crops:
        by_person.setdefault(p, []).append(c)
    with project.write():
        for p in range(6):  # 6 × 5 "same" verdicts, recorded with model A and its scores
            for a, b in zip(by_person[p], by_person[p][1:], strict=False):
                project.decisions.record(a, b, "same", operator="t", score=0.8, encoder_id=enc_a)
        for p in range(6):  # 12 "different" verdicts with model A
            for q in (p + 1, p + 2):
                project.decisions.record(
                    by_person[p][0], by_person[q][1], "different", operator="t", score=0.2, encoder_id=enc_a
                )
    confirm_people(project, ids, [6])  # merges made in the Identities tab: no model, no score
    rng = np.random.default_rng(5)
    enc_b = project.encoders.add("b", "/nonexistent/b.onnx", "1" * 64).id
    unembedded = by_person[7][0]
    a_ids, _cams, a_feats, _ = project.embeddings.load_all(enc_a)
    b_feats = a_feats + 0.3 * rng.normal(size=a_feats.shape).astype(np.float32)  # another model
    project.embeddings.put_many(
        enc_b, [(int(c), f, None) for c, f in zip(a_ids, b_feats, strict=True) if c != unembedded]
    )
    project.decisions.record(by_person[7][0], by_person[7][1], "same", operator="t")  # left out
    project.set_active_encoder(enc_b)

    def session(enc: int) -> ReviewSession:
        prepared = run_job(prepare_review(project, enc))
        return ReviewSession.from_prepared(project, enc, "alice", prepared)

    assert (session(enc_b).calibrator.n_same, session(enc_b).calibrator.n_diff) == (30 + 5, 12)
    project.embeddings.put_many(enc_b, [(unembedded, b_feats[list(a_ids).index(unembedded)], None)])
    s = session(enc_b)
    report = run_job(model_report(project, enc_b))
    assert (s.calibrator.n_same, s.calibrator.n_diff) == (30 + 5 + 1, 12)
    assert (s.calibrator.n_same, s.calibrator.n_diff) == (
        len(report.scores.same),
        len(report.scores.different),
    )
    assert s.calibrator.fitted and s.stats().calibration == report.scores.calibration
    # Model A's own verdicts keep the group score they were shown with under A.
    prepared = run_job(prepare_review(project, enc_a))
    s = ReviewSession.from_prepared(project, enc_a, "alice", prepared)
    assert (s.calibrator.n_same, s.calibrator.n_diff) == (30 + 5 + 1, 12)
    assert [x for x, y in s._scored].count(0.8) == 30 and [x for x, y in s._scored].count(0.2) == 12


def test_other_models_verdicts_are_scored_in_the_worker_not_when_the_session_opens(project):
    from helpers.embedded import embedded_project

    from reid_desktop.core.jobs import run_job
    from reid_desktop.core.review.cache import prepare_review

    enc, ids = embedded_project(project, people=4, per_camera=2)
    # Verdicts no model scored (the Identities tab's): the session calibrates on this model's scores.
    project.decisions.record(ids[(0, 0, 0)], ids[(0, 1, 0)], "same", operator="t")
    project.decisions.record(ids[(1, 0, 0)], ids[(2, 1, 0)], "different", operator="t")
    prepared = run_job(prepare_review(project, enc))
    assert set(prepared.pair_scores) == {(ids[(0, 0, 0)], ids[(0, 1, 0)]), (ids[(1, 0, 0)], ids[(2, 1, 0)])}

    def no_scoring(a, b):
        raise AssertionError("scored on the GUI thread")

    prepared.engine.pair_score = no_scoring
    s = ReviewSession.from_prepared(project, enc, "alice", prepared)
    assert [y for _x, y in s._scored] == [1, 0]
    assert sorted(x for x, _y in s._scored) == sorted(prepared.pair_scores.values())


def test_review_names_identities_as_the_identities_tab_does_before_and_after_a_merge(project, people):
    from reid_desktop.core.identities.curation import IdentityRow, identity_rows, save_name

    s = _session(project, people)
    p = s.current()
    c = p.candidates[0]
    save_name(project, IdentityRow(c.key, c.crops), "Bob", "")  # named in the Identities tab
    s.refresh_links()
    assert s.identity_name(c.key) == "Bob" and s.identity_name(p.anchor) == f"ID-{p.anchor:04d}"
    action = s.commit(same=[c.key])
    [row] = [r for r in identity_rows(project) if p.anchor in r.crops]
    assert row.label == "Bob" and action.note == f"Bob ({len(row.crops)} crops): 1 merged"
    assert s.identity_name(row.key) == "Bob"


def test_a_merge_is_reported_under_the_id_the_identities_tab_lists(project, people):
    """Keys are smallest crop ids: merging into a candidate with a smaller one renames the group."""
    from reid_desktop.core.identities.curation import identity_rows

    s = _session(project, people)
    for _ in range(40):
        p = s.current()
        smaller = [c for c in p.candidates if c.key < p.anchor and len(c.crops) == 1]
        if smaller and len(p.anchor_crops) == 1:
            break
        s.defer()
    else:
        pytest.fail("no proposal with a smaller candidate key")
    action = s.commit(same=[smaller[0].key])
    [row] = [r for r in identity_rows(project) if p.anchor in r.crops]
    assert row.key == smaller[0].key and action.note == f"{row.label} (2 crops): 1 merged"


def test_a_one_crop_identity_is_one_crop_in_review_messages(project, people):
    s = _session(project, people)
    p = s.current()
    action = s.commit(different=[p.candidates[0].key])
    assert action.note == f"ID-{p.anchor:04d} (1 crop): 1 different" and len(p.anchor_crops) == 1
