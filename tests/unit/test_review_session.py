"""The Qt-free review session: queue order, decisions written first, undo/redo, constraints."""

from __future__ import annotations

import numpy as np
import pytest

from reid_desktop.core.retrieval.matching import GalleryIndex
from reid_desktop.core.review.session import ReviewSession
from reid_desktop.store import Project


def _project_with_people(project: Project, people: int = 5) -> GalleryIndex:
    cam1 = project.cameras.add("cam1", "/nowhere/cam1", "folders")
    cam2 = project.cameras.add("cam2", "/nowhere/cam2", "folders", source_key="x")
    rows = []
    for cam in (cam1, cam2):
        for p in range(people):
            rows.append(
                {
                    "camera_id": cam.id,
                    "rel_path": f"p{p}.jpg",
                    "sha256": f"{cam.id}-{p}",
                    "width": 48,
                    "height": 128,
                    "size_bytes": 1,
                    "mtime_ns": 1,
                }
            )
    project.crops.insert_many(rows)
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(people, 16)) * 4
    crops = project.crops.all()
    feats = np.stack([centres[int(c.rel_path[1])] + rng.normal(size=16) * 0.2 for c in crops])
    stripes = rng.normal(size=(len(crops), 4, 8)).astype(np.float32)
    return GalleryIndex(
        np.array([c.id for c in crops]),
        np.array([c.camera_id for c in crops]),
        feats.astype(np.float32),
        stripes,
    )


@pytest.fixture
def session(project):
    index = _project_with_people(project)
    model = project.encoders.add("m", "/nowhere/m.onnx", "sha", {})
    return ReviewSession(project, model.id, "alice", k=4, index=index)


def test_queue_starts_with_mutual_pairs_and_decisions_are_saved(session, project):
    first = session.current()
    assert first is not None and first.kind == "mutual"
    d = session.decide(first.query, first.candidate, "same")
    # Written before decide() returned, with operator, model and score.
    stored = project.decisions.get(d.id)
    assert (stored.operator, stored.encoder_id, stored.verdict) == ("alice", session.encoder_id, "same")
    assert stored.score == pytest.approx(first.score, abs=1e-5)
    nxt = session.current()
    assert nxt is not None and {nxt.query, nxt.candidate} != {first.query, first.candidate}
    st = session.stats()
    assert (st.decided, st.same, st.identities, st.linked_crops) == (1, 1, 1, 2)


def test_undo_and_redo_restore_pair_and_state(session, project):
    first = session.current()
    session.decide(first.query, first.candidate, "different")
    assert session.current() != first
    undone = session.undo()
    assert undone.verdict == "different" and session.current() == first
    assert project.decisions.active() == []
    assert len(project.decisions.history()) == 2  # the audit trail keeps both rows
    redone = session.redo()
    assert redone.verdict == "different" and len(project.decisions.active()) == 1
    assert session.undo() is not None and session.undo() is None


def test_same_verdict_contradicting_different_is_blocked_with_reason(session, project):
    crops = project.crops.all()
    a, b, c = crops[0].id, crops[5].id, crops[1].id  # a/b same person across cameras; c another
    session.decide(a, b, "same")
    session.decide(c, b, "different")
    with pytest.raises(ValueError, match="declared different"):
        session.decide(c, a, "same")
    assert all(
        not ({p.query, p.candidate} <= {a, b, c} and session.links.forbidden(p.query, p.candidate))
        for p in session.queue[session.pos :]
        if session._open(p)
    )


def test_navigation_skips_resolved_pairs(session):
    first = session.current()
    second = session.next()
    assert second is not None and second != first
    assert session.previous() == first
    session.decide(first.query, first.candidate, "skip")
    assert session.current() == second
