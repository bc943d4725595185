"""Append-only decisions, identities and training runs."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from reid_desktop.store.project import Connection, utc_now
from reid_desktop.store.records import Action, Decision, Identity, TrainingRun

VERDICTS = ("same", "different", "skip")
DECISION_COLUMNS = (
    "id, query_crop_id, candidate_crop_id, verdict, score, model_id, operator, created_at, voids_id, "
    "action_id"
)
ACTION_COLUMNS = "id, kind, operator, created_at, model_id, undoes_id, note"


@dataclass(frozen=True)
class NewRow:
    """A decision row to append: a verdict between two crops, or (verdict "undo") the voiding of
    an earlier row."""

    query_crop_id: int
    candidate_crop_id: int
    verdict: str
    score: float | None = None
    voids_id: int | None = None


def in_force_ids(rows: Iterable[Decision]) -> set[int]:
    """The ids of rows in force: a row is in force unless a row in force voids it. An undo row in
    force keeps its target out; undoing that undo (a redo) brings the target back."""
    rows = list(rows)
    voider = {d.voids_id: d.id for d in rows if d.voids_id is not None}
    memo: dict[int, bool] = {}
    # Walk from the newest row: its chain is settled first, so the loop below never nests deeply.
    for d in reversed(rows):
        chain = [d.id]
        while (nxt := voider.get(chain[-1])) is not None and nxt not in memo:
            chain.append(nxt)
        for rid in reversed(chain):
            by = voider.get(rid)
            memo[rid] = by is None or not memo[by]
    return {rid for rid, ok in memo.items() if ok}


class DecisionRepo:
    """Decisions are never updated or deleted (triggers enforce it). Each write is one operator
    action: an `actions` row and its decision rows in one transaction; undo appends voiding rows.
    Which rows are in force, and which row an undo voids, is decided in core (`DecisionLedger`)."""

    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def append(
        self,
        kind: str,
        rows: Sequence[NewRow],
        *,
        operator: str,
        encoder_id: int | None = None,
        undoes_id: int | None = None,
        note: str = "",
    ) -> tuple[Action, list[Decision]]:
        """Write one action and its rows atomically; returns them as stored."""
        if not rows:
            raise ValueError("an action needs at least one decision row")
        for r in rows:
            if r.verdict == "undo" and r.voids_id is None:
                raise ValueError("an undo row must name the row it voids")
            if r.verdict != "undo" and r.verdict not in VERDICTS:
                raise ValueError(f"verdict must be one of {VERDICTS}, not {r.verdict!r}")
            if r.query_crop_id == r.candidate_crop_id:
                raise ValueError("a crop cannot be compared with itself")
        now = utc_now()
        with self._c.write() as db:
            cur = db.execute(
                "INSERT INTO actions (kind, operator, created_at, model_id, undoes_id, note) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [kind, operator, now, encoder_id, undoes_id, note],
            )
            action_id = cur.lastrowid
            first = None
            for r in rows:
                c = db.execute(
                    "INSERT INTO decisions (query_crop_id, candidate_crop_id, verdict, score, model_id, "
                    "operator, created_at, voids_id, action_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        r.query_crop_id,
                        r.candidate_crop_id,
                        r.verdict,
                        r.score,
                        encoder_id,
                        operator,
                        now,
                        r.voids_id,
                        action_id,
                    ],
                )
                first = first or c.lastrowid
        return self.action(action_id), self.history(after_id=first - 1)[: len(rows)]

    def record(
        self,
        query_crop_id: int,
        candidate_crop_id: int,
        verdict: str,
        *,
        operator: str,
        score: float | None = None,
        encoder_id: int | None = None,
    ) -> Decision:
        """One verdict as an action of its own."""
        _, [d] = self.append(
            "verdict",
            [NewRow(query_crop_id, candidate_crop_id, verdict, score)],
            operator=operator,
            encoder_id=encoder_id,
        )
        return d

    def undo(self, decision_id: int, *, operator: str) -> Decision:
        """Void one row (an undo row too, which restores what it voided) as an action of its own.
        A row-level primitive: undoing a whole action is `DecisionLedger.undo`."""
        target = self.get(decision_id)
        if self.voided_by(decision_id) is not None:
            raise ValueError(f"decision {decision_id} is already undone")
        _, [row] = self.append(
            "undo",
            [NewRow(target.query_crop_id, target.candidate_crop_id, "undo", None, decision_id)],
            operator=operator,
            encoder_id=target.encoder_id,
        )
        return row

    def get(self, decision_id: int) -> Decision:
        row = self._c.db.execute(
            f"SELECT {DECISION_COLUMNS} FROM decisions WHERE id = ?", [decision_id]
        ).fetchone()
        if row is None:
            raise KeyError(f"no decision with id {decision_id}")
        return Decision(*row)

    def voided_by(self, decision_id: int) -> int | None:
        row = self._c.db.execute("SELECT id FROM decisions WHERE voids_id = ?", [decision_id]).fetchone()
        return row[0] if row else None

    def history(self, *, after_id: int = 0) -> list[Decision]:
        """Every row (undo rows included) with an id above `after_id`: the audit trail."""
        rows = self._c.db.execute(
            f"SELECT {DECISION_COLUMNS} FROM decisions WHERE id > ? ORDER BY id", [after_id]
        )
        return [Decision(*r) for r in rows]

    def action(self, action_id: int) -> Action:
        row = self._c.db.execute(f"SELECT {ACTION_COLUMNS} FROM actions WHERE id = ?", [action_id]).fetchone()
        if row is None:
            raise KeyError(f"no action with id {action_id}")
        return Action(*row)

    def actions(self, *, after_id: int = 0) -> list[Action]:
        rows = self._c.db.execute(
            f"SELECT {ACTION_COLUMNS} FROM actions WHERE id > ? ORDER BY id", [after_id]
        )
        return [Action(*r) for r in rows]

    def active(self) -> list[Decision]:
        """Verdicts in force, read in one pass (for one-off readers: export, training, `reid info`;
        screens keep a `DecisionLedger` instead of re-reading)."""
        rows = self.history()
        keep = in_force_ids(rows)
        return [d for d in rows if d.verdict != "undo" and d.id in keep]

    def count(self, *, active_only: bool = True) -> int:
        if active_only:
            return len(self.active())
        return self._c.db.execute("SELECT count(*) FROM decisions").fetchone()[0]


class IdentityRepo:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def create(self, name: str, notes: str = "") -> Identity:
        with self._c.write() as db:
            cur = db.execute(
                "INSERT INTO identities (name, notes, created_at) VALUES (?, ?, ?)",
                [name, notes, utc_now()],
            )
        return self.get(cur.lastrowid)

    def get(self, identity_id: int) -> Identity:
        row = self._c.db.execute(
            "SELECT id, name, notes, created_at FROM identities WHERE id = ?", [identity_id]
        ).fetchone()
        if row is None:
            raise KeyError(f"no identity with id {identity_id}")
        return Identity(*row)

    def all(self) -> list[Identity]:
        rows = self._c.db.execute("SELECT id, name, notes, created_at FROM identities ORDER BY id")
        return [Identity(*r) for r in rows]

    def update(self, identity_id: int, *, name: str | None = None, notes: str | None = None) -> None:
        with self._c.write() as db:
            if name is not None:
                db.execute("UPDATE identities SET name = ? WHERE id = ?", [name, identity_id])
            if notes is not None:
                db.execute("UPDATE identities SET notes = ? WHERE id = ?", [notes, identity_id])

    def set_members(self, identity_id: int, crop_ids: Iterable[int], decision_id: int | None = None) -> None:
        now = utc_now()
        with self._c.write() as db:
            db.conn.executemany(
                "INSERT OR REPLACE INTO identity_members (crop_id, identity_id, decision_id, added_at) "
                "VALUES (?, ?, ?, ?)",
                [(c, identity_id, decision_id, now) for c in crop_ids],
            )

    def member_map(self) -> dict[int, int]:
        """crop id -> stored identity id, for every crop a named identity was saved with."""
        return dict(self._c.db.execute("SELECT crop_id, identity_id FROM identity_members").fetchall())

    def members(self, identity_id: int) -> list[int]:
        rows = self._c.db.execute(
            "SELECT crop_id FROM identity_members WHERE identity_id = ? ORDER BY crop_id",
            [identity_id],
        )
        return [r[0] for r in rows]

    def count(self) -> int:
        return self._c.db.execute("SELECT count(*) FROM identities").fetchone()[0]


class TrainingRunRepo:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def start(self, recipe: str, params: dict[str, Any]) -> TrainingRun:
        with self._c.write() as db:
            cur = db.execute(
                "INSERT INTO training_runs (recipe, params, status, started_at) VALUES (?, ?, 'running', ?)",
                [recipe, json.dumps(params, sort_keys=True), utc_now()],
            )
        return self.get(cur.lastrowid)

    def finish(
        self, run_id: int, status: str, metrics: dict[str, Any], encoder_id: int | None = None
    ) -> None:
        with self._c.write() as db:
            db.execute(
                "UPDATE training_runs SET status = ?, finished_at = ?, metrics = ?, "
                "model_id = COALESCE(?, model_id) WHERE id = ?",
                [status, utc_now(), json.dumps(metrics, sort_keys=True), encoder_id, run_id],
            )

    def get(self, run_id: int) -> TrainingRun:
        row = self._c.db.execute(
            "SELECT id, recipe, params, status, started_at, finished_at, metrics, model_id "
            "FROM training_runs WHERE id = ?",
            [run_id],
        ).fetchone()
        if row is None:
            raise KeyError(f"no training run with id {run_id}")
        return TrainingRun(
            row[0], row[1], json.loads(row[2]), row[3], row[4], row[5], json.loads(row[6]), row[7]
        )

    def all(self) -> list[TrainingRun]:
        return [self.get(r[0]) for r in self._c.db.execute("SELECT id FROM training_runs ORDER BY id")]
