"""Identity edits in core, without Qt: merge, split, delete a link, names; each one action that
undoes as a unit, refused with the reason when it would join crops declared different."""

from __future__ import annotations

import pytest
from helpers.rows import add_crops

from reid_desktop.core.identities import curation as ident
from reid_desktop.core.identities.ledger import DecisionLedger


@pytest.fixture
def two_identities(project):
    a = add_crops(project, 3, "cam1")
    b = add_crops(project, 2, "cam2")
    project.decisions.record(a[0], a[1], "same", operator="t")
    project.decisions.record(a[1], a[2], "same", operator="t")
    project.decisions.record(b[0], b[1], "same", operator="t")
    return a, b


def test_rows_list_identities_with_camera_coverage(project, two_identities):
    a, b = two_identities
    rows = ident.identity_rows(project)
    assert [(r.key, r.crops, r.cameras) for r in rows] == [
        (a[0], tuple(a), {"cam1": 3}),
        (b[0], tuple(b), {"cam2": 2}),
    ]
    assert ident.count_identities(project) == 2


def test_merge_is_one_action_and_undoes_as_one(project, two_identities):
    a, b = two_identities
    ledger = DecisionLedger(project)
    ra, rb = ident.identity_rows(project, ledger.links)
    action = ident.merge(ledger, ra, rb, "ana")
    assert action.kind == "merge" and "ID-" in action.note
    [merged] = ident.identity_rows(project, ledger.links)
    assert set(merged.crops) == set(a) | set(b)
    ledger.undo(action.id, operator="ana")
    assert len(ident.identity_rows(project, ledger.links)) == 2


def test_merge_across_a_different_is_refused_naming_theadd_crops(project, two_identities):
    a, b = two_identities
    project.decisions.record(a[2], b[1], "different", operator="t")
    ledger = DecisionLedger(project)
    ra, rb = ident.identity_rows(project, ledger.links)
    with pytest.raises(ValueError, match=f"x{a[2]} and x{b[1]} were declared different"):
        ident.merge(ledger, ra, rb, "ana", crop_name=lambda c: f"x{c}")
    assert len(ledger.active()) == 4


def test_split_voids_every_link_of_the_crops_as_one_action(project, two_identities):
    a, _ = two_identities
    ledger = DecisionLedger(project)
    action = ident.split_out(ledger, [a[1]], "ana", "ID-0001")
    assert action.kind == "split" and len(ledger.rows_of(action.id)) == 2
    rows = ident.identity_rows(project, ledger.links)
    assert all(a[1] not in r.crops for r in rows)
    ledger.undo(action.id, operator="ana")
    assert tuple(a) in [r.crops for r in ident.identity_rows(project, ledger.links)]
    assert ident.split_out(ledger, [9999], "ana") is None  # nothing to split


def test_unlink_and_names(project, two_identities):
    a, b = two_identities
    ledger = DecisionLedger(project)
    row = ident.identity_rows(project, ledger.links)[1]
    sid = ident.save_name(project, row, "  Bob ", "red bag")
    assert ident.identity_names(project) == {b[0]: "Bob"}
    [link] = ident.links_within(ledger, row)
    ident.unlink(ledger, link.id, "ana")
    with pytest.raises(ValueError, match="in force"):
        ident.unlink(ledger, link.id, "ana")
    assert project.identities.get(sid).notes == "red bag"
    assert [r.key for r in ident.identity_rows(project, ledger.links)] == [a[0]]
