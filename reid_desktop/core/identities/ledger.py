"""Which decisions are in force, and undo/redo: the one place both screens and the identity review
ask. Qt-free.

The project's decision table is append-only. An operator action (one review verdict, a group
merge, a split) is an `actions` row with its decision rows; undoing it appends an "undo" action
whose rows void those of its rows still in force (the newest row of each chain, so an earlier
undo/redo in another screen is respected); redo is undoing that undo. The ledger reads the table
once and then only the rows appended since (`sync`), so screens never re-read the whole history.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from reid_desktop.core.identities.links import LinkGraph
from reid_desktop.store import Action, Decision, Project
from reid_desktop.store.decisions import NewRow

log = logging.getLogger(__name__)


class DecisionLedger:
    def __init__(self, project: Project) -> None:
        self.project = project
        self.rows: dict[int, Decision] = {}
        self.actions: dict[int, Action] = {}
        self._voider: dict[int, int] = {}  # row id -> id of the undo row that voids it
        self._off: set[int] = set()  # rows out of force (voided by an undo row in force)
        self._by_action: dict[int, list[int]] = {}
        self._undone_by: dict[int, int] = {}  # action id -> the undo action that undid it
        self.links = LinkGraph()
        self._active: list[Decision] | None = None  # cache of active(), dropped when rows arrive
        self._last_row = 0
        self._last_action = 0
        self.sync()

    # ---- reading ----------------------------------------------------------------------------------
    def sync(self) -> list[Decision]:
        """Take in rows appended since the last call (by this ledger, another screen or another
        process); returns them. A voiding row rebuilds the links, a verdict only extends them."""
        for a in self.project.decisions.actions(after_id=self._last_action):
            self.actions[a.id] = a
            if a.undoes_id is not None:
                self._undone_by[a.undoes_id] = a.id
            self._last_action = a.id
        new = self.project.decisions.history(after_id=self._last_row)
        if not new:
            return new
        self._active = None
        voids = False
        for d in new:
            self.rows[d.id] = d
            self._by_action.setdefault(unit_of(d), []).append(d.id)
            self._last_row = d.id
            if d.voids_id is not None:
                self._voider[d.voids_id] = d.id
                self._flip_chain(d.voids_id)
                voids = True
        if voids:
            self.links = LinkGraph(self.active())
        else:
            for d in new:
                self.links.add(d.query_crop_id, d.candidate_crop_id, d.verdict)
        return new

    def _flip_chain(self, row_id: int) -> None:
        """A new undo row voids `row_id`: everything it voided, down the chain, flips."""
        rid: int | None = row_id
        off = True  # the voided row goes out of force, the row it voided comes back, …
        while rid is not None:
            if off:
                self._off.add(rid)
            else:
                self._off.discard(rid)
            off = not off
            rid = self.rows[rid].voids_id

    @property
    def last_row(self) -> int:
        """Id of the newest row taken in: a mark for `rows_after`."""
        return self._last_row

    def rows_after(self, mark: int) -> list[Decision]:
        return [self.rows[r] for r in sorted(self.rows) if r > mark] if mark < self._last_row else []

    def in_force(self, row_id: int) -> bool:
        return row_id in self.rows and row_id not in self._off

    def active(self) -> list[Decision]:
        """Verdicts in force, oldest first (a fresh list; the ledger keeps its own copy)."""
        if self._active is None:
            self._active = [d for d in self.rows.values() if d.verdict != "undo" and d.id not in self._off]
        return list(self._active)

    def rows_of(self, action_id: int) -> list[Decision]:
        return [self.rows[r] for r in self._by_action.get(action_id, [])]

    def effective(self, action_id: int) -> bool:
        """Whether any row of the action is still in force (so undoing it would change something)."""
        return any(self.in_force(r) for r in self._by_action.get(action_id, []))

    def counts(self) -> dict[str, int]:
        out = {"same": 0, "different": 0, "skip": 0}
        for d in self._active if self._active is not None else self.active():
            out[d.verdict] += 1
        return out

    # ---- writing ----------------------------------------------------------------------------------
    def record(
        self,
        kind: str,
        rows: Sequence[NewRow],
        *,
        operator: str,
        encoder_id: int | None = None,
        note: str = "",
    ) -> Action:
        """Append one action (all its rows in one transaction) and take it in."""
        action, _ = self.project.decisions.append(
            kind, rows, operator=operator, encoder_id=encoder_id, note=note
        )
        self.sync()
        return action

    def _tip(self, row_id: int) -> int:
        while (nxt := self._voider.get(row_id)) is not None:
            row_id = nxt
        return row_id

    def void(
        self,
        row_ids: Iterable[int],
        kind: str,
        *,
        operator: str,
        note: str = "",
        undoes_id: int | None = None,
    ) -> Action:
        """Take rows that are in force out of force as one action. Raises ValueError when none is."""
        self.sync()
        targets = [self.rows[r] for r in row_ids if self.in_force(r)]
        if not targets:
            raise ValueError("nothing of it is in force any more (changed elsewhere)")
        undo_rows = []
        for d in targets:
            tip = self.rows[self._tip(d.id)]
            undo_rows.append(NewRow(d.query_crop_id, d.candidate_crop_id, "undo", None, tip.id))
        encoder = targets[0].encoder_id
        action, _ = self.project.decisions.append(
            kind, undo_rows, operator=operator, encoder_id=encoder, undoes_id=undoes_id, note=note
        )
        self.sync()
        return action

    def undo(self, action_id: int, *, operator: str) -> Action:
        """Undo an action (an undo action too: that is redo). Returns the new undo action."""
        self.sync()
        if action_id in self._undone_by:
            raise ValueError("it was already undone (changed elsewhere)")
        target = self.actions.get(action_id)
        note = undo_note(target.note) if target and target.note else ""
        note = note or f"undo of action {action_id}"
        return self.void(
            self._by_action.get(action_id, []),
            "undo",
            operator=operator,
            note=note,
            undoes_id=action_id if action_id > 0 else None,
        )

    def undone_action(self, undo_action_id: int) -> Action | None:
        """What an undo action undid (None for row-level undos of rows written before actions)."""
        a = self.actions.get(undo_action_id)
        return self.actions.get(a.undoes_id) if a and a.undoes_id is not None else None

    def changed_crops(self, action_id: int) -> set[int]:
        return {c for d in self.rows_of(action_id) for c in (d.query_crop_id, d.candidate_crop_id)}


def undo_note(note: str) -> str:
    """The audit note of undoing an action noted `note`: "undo: merge …"; undoing that undo reads
    "redo: merge …" and undoing the redo "undo: merge …" again, never "undo: undo: merge …"."""
    if note.startswith("undo: "):
        return "redo: " + note[len("undo: ") :]
    if note.startswith("redo: "):
        return "undo: " + note[len("redo: ") :]
    return "undo: " + note


def plain_note(note: str) -> str:
    """What an action did, without the undo/redo prefixes of `undo_note` (for "Undone: …")."""
    for prefix in ("undo: ", "redo: "):
        if note.startswith(prefix):
            return note[len(prefix) :]
    return note


def unit_of(decision: Decision) -> int:
    """The action a row belongs to, for `undo` (a row written before actions is a unit of its own)."""
    return decision.action_id if decision.action_id is not None else -decision.id
