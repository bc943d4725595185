"""The decision ledger: which rows are in force (against a brute-force walk), undo/redo of whole
actions, edits made elsewhere, rows written before actions existed."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.rows import add_crops

from reid_desktop.core.identities.ledger import DecisionLedger, plain_note, unit_of
from reid_desktop.store import Decision, Project
from reid_desktop.store.decisions import NewRow, in_force_ids


def _brute_in_force(rows: list[Decision]) -> set[int]:
    """A row is in force unless voided by a row in force: evaluated by recursion on the chain."""
    by_voids = {d.voids_id: d.id for d in rows if d.voids_id is not None}

    def ok(rid: int) -> bool:
        v = by_voids.get(rid)
        return v is None or not ok(v)

    return {d.id for d in rows if ok(d.id)}


def test_in_force_matches_the_definition_on_random_chains():
    rng = np.random.default_rng(0)
    rows: list[Decision] = []
    tips: list[int] = []
    for i in range(1, 200):
        if tips and rng.random() < 0.5:
            t = tips.pop(int(rng.integers(len(tips))))
            rows.append(Decision(i, 1, 2, "undo", None, None, "t", "now", t))
        else:
            rows.append(Decision(i, 1, 2, "same", None, None, "t", "now"))
        tips.append(i)
    assert in_force_ids(rows) == _brute_in_force(rows)


def test_undo_and_redo_are_whole_actions(project):
    a, b, c, d = add_crops(project, 4)
    ledger = DecisionLedger(project)
    merge = ledger.record(
        "merge", [NewRow(a, b, "same"), NewRow(a, c, "same"), NewRow(a, d, "different")], operator="o"
    )
    assert ledger.links.members(a) == [a, b, c] and ledger.links.forbidden(c, d)
    undo = ledger.undo(merge.id, operator="o")
    assert undo.undoes_id == merge.id and undo.kind == "undo"
    assert ledger.active() == [] and ledger.links.members(a) == [a]
    redo = ledger.undo(undo.id, operator="o")
    assert ledger.undone_action(redo.id).id == undo.id
    assert len(ledger.active()) == 3 and ledger.links.members(b) == [a, b, c]
    with pytest.raises(ValueError, match="already undone"):
        ledger.undo(merge.id, operator="o")
    assert len(project.decisions.history()) == 9  # 3 rows, 3 undo rows, 3 redo rows: none deleted


def test_audit_notes_of_undo_chains_do_not_nest(project):
    a, b = add_crops(project, 2)
    ledger = DecisionLedger(project)
    merge = ledger.record("merge", [NewRow(a, b, "same")], operator="o", note="merge ID-1 + ID-2")
    undo = ledger.undo(merge.id, operator="o")
    redo = ledger.undo(undo.id, operator="o")
    undo2 = ledger.undo(redo.id, operator="o")
    notes = [ledger.actions.get(x.id).note for x in (undo, redo, undo2)]
    assert notes == ["undo: merge ID-1 + ID-2", "redo: merge ID-1 + ID-2", "undo: merge ID-1 + ID-2"]
    assert {plain_note(n) for n in notes} == {"merge ID-1 + ID-2"}


def test_undoing_an_action_leaves_what_another_edit_already_changed(project):
    a, b, c = add_crops(project, 3)
    ledger = DecisionLedger(project)
    merge = ledger.record("merge", [NewRow(a, b, "same"), NewRow(a, c, "same")], operator="o")
    ab = ledger.rows_of(merge.id)[0]
    split = ledger.void([ab.id], "split", operator="o")  # another screen splits b out
    ledger.undo(merge.id, operator="o")  # only a–c was still in force
    assert ledger.active() == []
    ledger.undo(split.id, operator="o")  # undoing the split restores a–b, not a–c
    assert [(d.query_crop_id, d.candidate_crop_id) for d in ledger.active()] == [(a, b)]


def test_rows_written_elsewhere_are_taken_in_by_sync(project, tmp_path):
    a, b, c = add_crops(project, 3)
    ledger = DecisionLedger(project)
    with Project.open(project.path) as other:  # another process or screen
        other.decisions.record(a, b, "same", operator="x")
        d = other.decisions.record(b, c, "same", operator="x")
        other.decisions.undo(d.id, operator="x")
    new = ledger.sync()
    assert [r.verdict for r in new] == ["same", "same", "undo"]
    assert ledger.links.members(a) == [a, b] and ledger.counts()["same"] == 1


def test_rows_from_before_actions_are_units_of_their_own(project):
    a, b = add_crops(project, 2)
    # A schema-2 row: no action id.
    project.db.execute(
        "INSERT INTO decisions (query_crop_id, candidate_crop_id, verdict, operator, created_at) "
        "VALUES (?, ?, 'same', 'old', 't')",
        [a, b],
    )
    ledger = DecisionLedger(project)
    [row] = ledger.active()
    assert row.action_id is None
    undo = ledger.undo(unit_of(row), operator="o")
    assert ledger.active() == [] and undo.undoes_id is None
    ledger.undo(undo.id, operator="o")
    assert [d.id for d in ledger.active()] == [row.id]


def test_cannot_links_follow_identities_through_merges_and_contradictions():
    """WBIA's negative graph: "different" between two identities holds after either merges with
    a third; a "same" across it is a contradiction kept inside the merged identity."""
    from reid_desktop.core.identities.links import LinkGraph

    def d(i, a, b, verdict):
        return Decision(i, a, b, verdict, None, None, "t", "now")

    links = LinkGraph([d(1, 1, 2, "different"), d(2, 2, 3, "same"), d(3, 4, 5, "skip")])
    assert links.forbidden(1, 3) and links.forbidden(3, 1)  # 3 joined 2's identity
    links.add(1, 6, "same")
    assert links.forbidden(6, 3) and not links.forbidden(6, 4)
    assert links.undecidable(5, 4) and not links.forbidden(4, 5)
    links.add(6, 2, "same")  # an operator joins them anyway: a contradiction, not a crash
    assert links.contradictions() == [(1, 2)] and sorted(links.members(1)) == [1, 2, 3, 6]
    assert links.forbidden(1, 3)  # still flagged inside the one identity
