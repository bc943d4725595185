"""The trainer's event schema and its label sources (no torch needed for these)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from helpers.synth import person_crop

from reid_desktop.core.ingest.scan import ingest
from reid_desktop.core.jobs import run_job
from reid_desktop.core.training.events import EventError, EventWriter, parse_line
from reid_desktop.core.training.plan import DataError, check, from_folder, from_project, split_holdout


def test_events_round_trip_and_validation():
    buf = io.StringIO()
    w = EventWriter(buf)
    w.emit("start", recipe="baseline", train_ids=35, holdout_ids=15)
    w.emit("step", epoch=1, step=3, steps=10, loss=1.25, terms={"ce": 1.0, "triplet": 0.25}, lr=3e-4)
    w.emit("eval", epoch=1, rank1=0.5, rank5=0.8, mAP=0.4, mINP=0.1)
    lines = buf.getvalue().splitlines()
    assert all(json.loads(line)["v"] == 1 for line in lines)
    events = [parse_line(line) for line in lines]
    assert [e.type for e in events] == ["start", "step", "eval"]
    assert events[1]["terms"]["triplet"] == 0.25 and events[2].get("mAP") == 0.4
    assert parse_line("some stray print") is None and parse_line("   ") is None
    with pytest.raises(EventError):
        parse_line('{"event": "eval", "epoch": 1}')  # lacks rank1 and mAP
    with pytest.raises(EventError):
        parse_line('{"event": "party"}')
    with pytest.raises(EventError):
        parse_line('{"event": "error", "message": "x", "v": 99}')
    with pytest.raises(ValueError):
        w.emit("done", out="x")  # lacks before/after


def _labelled_folder(root: Path, people: int, per_cam: int) -> Path:
    rows = ["file,person_id,camera"]
    for cam in ("cam1", "cam2"):
        (root / cam).mkdir(parents=True, exist_ok=True)
        for p in range(people):
            for v in range(per_cam):
                name = f"{cam}/p{p}_{v}.jpg"
                person_crop(p, v, seed=1 if cam == "cam1" else 2).save(root / name)
                rows.append(f"{name},{p},{cam}")
    (root / "ground_truth.csv").write_text("\n".join(rows) + "\n")
    return root


def test_folder_source_holdout_is_identity_disjoint(tmp_path):
    ts = check(from_folder(_labelled_folder(tmp_path / "d", people=10, per_cam=2)))
    train, hold = split_holdout(ts, 0.3, seed=1)
    assert {s.pid for s in train}.isdisjoint({s.pid for s in hold})
    assert len({s.pid for s in hold}) == 3 and len(train) + len(hold) == 40
    assert split_holdout(ts, 0.3, seed=1) == (train, hold)  # deterministic


def test_bad_label_sets_are_refused_with_reasons(tmp_path):
    root = _labelled_folder(tmp_path / "d", people=3, per_cam=1)
    ts = from_folder(root)
    # Add an identity with a single crop.
    person_crop(9, 0).save(root / "cam1" / "lonely.jpg")
    with (root / "ground_truth.csv").open("a") as fh:
        fh.write("cam1/lonely.jpg,9,cam1\n")
    with pytest.raises(DataError, match="only one crop"):
        check(from_folder(root))
    assert len(check(from_folder(root), drop_singletons=True).samples) == 6
    one = type(ts)([s for s in ts.samples if s.pid == "0"], "one id")
    with pytest.raises(DataError, match="at least two identities"):
        check(one)
    with pytest.raises(DataError, match="no labelled crops"):
        check(type(ts)([], "empty"))
    with pytest.raises(DataError, match="too few"):
        split_holdout(check(ts), 0.3, seed=0)


def test_project_source_uses_confirmed_identities(project, two_cameras):
    run_job(ingest(project, two_cameras))
    crops = project.crops.all()
    by_name = {Path(c.rel_path).name: c.id for c in crops}
    # Person 0 and 1 confirmed across cameras; one "different" decision.
    for p in (0, 1):
        project.decisions.record(
            by_name[f"p00{p}_v0_s1.jpg"], by_name[f"p00{p}_v0_s2.jpg"], "same", operator="t"
        )
        project.decisions.record(
            by_name[f"p00{p}_v0_s1.jpg"], by_name[f"p00{p}_v1_s2.jpg"], "same", operator="t"
        )
    project.decisions.record(by_name["p000_v0_s1.jpg"], by_name["p001_v0_s2.jpg"], "different", operator="t")
    path = project.path
    ts = from_project(path)
    assert len(ts.samples) == 6 and len(ts.identities) == 2
    assert len(ts.hard_negatives) == 1
    assert {s.camera for s in ts.samples} == {"cam1", "cam2"}


def test_pk_sampler_batches_and_hard_negative_partners(tmp_path):
    from trainer.dataset import PKSampler, hard_identity_pairs

    ts = check(from_folder(_labelled_folder(tmp_path / "d", people=10, per_cam=2)))
    samples = ts.samples
    path_of = {s.pid: s.path for s in samples}
    hard = hard_identity_pairs(samples, [(path_of["0"], path_of["7"])])
    assert hard == {"0": {"7"}, "7": {"0"}}
    sampler = PKSampler(samples, p=4, k=3, seed=1, hard_pairs=hard)
    batches = list(sampler)
    assert len(batches) == len(samples) // 12
    for b in batches:
        pids = [samples[i].pid for i in b]
        assert len(b) == 12 and len(set(pids)) == 4 and all(pids.count(x) == 3 for x in set(pids))
        if "0" in pids[:6] or "7" in pids[:6]:  # drawn in the first half: its partner joins
            assert {"0", "7"} <= set(pids)
    sampler.set_epoch(2)
    assert list(sampler) != batches  # reshuffled per epoch, deterministic per seed
    assert list(PKSampler(samples, p=4, k=3, seed=1, hard_pairs=hard)) == batches


def test_project_plan_preview_equals_the_runs_plan(project, two_cameras):
    """Issue 9 bug 3, torch-free: the preview and the run come from one function, and an identity
    holding a contradiction is left out of both (it trained before while the preview dropped it)."""
    from reid_desktop.core.training.plan import make_plan, project_plan

    run_job(ingest(project, two_cameras))
    by_name = {Path(c.rel_path).name: c.id for c in project.crops.all()}
    for p in range(6):
        a = by_name[f"p00{p}_v0_s1.jpg"]
        project.decisions.record(a, by_name[f"p00{p}_v0_s2.jpg"], "same", operator="t")
        project.decisions.record(a, by_name[f"p00{p}_v1_s2.jpg"], "same", operator="t")
    project.decisions.record(by_name["p000_v0_s2.jpg"], by_name["p000_v1_s2.jpg"], "different", operator="t")
    preview = project_plan(project, 0.3, seed=2)
    run, train, hold = make_plan(from_project(project.path), 0.3, 2, drop_singletons=True)
    assert preview == run
    assert preview.identities == 5 and preview.left_out == {"contradictions": 1}
    assert {s.pid for s in train} | {s.pid for s in hold} == {
        s.pid for s in from_project(project.path).samples
    }
    assert len({s.pid for s in hold}) == preview.holdout_ids == 2
    tiny = project_plan(project, 0.9, seed=2)  # too few to train: the preview says why
    assert not tiny.ok and "too few" in tiny.problem
