"""Append-only decisions, identities and training runs."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from reid_desktop.store.project import Connection, utc_now
from reid_desktop.store.records import Decision, Identity, TrainingRun

VERDICTS = ("same", "different", "skip")
DECISION_COLUMNS = (
    "id, query_crop_id, candidate_crop_id, verdict, score, model_id, operator, created_at, voids_id"
)


class DecisionRepo:
    """Decisions are never updated or deleted (triggers enforce it); undo appends a voiding row."""

    def __init__(self, conn: Connection) -> None:
        self._c = conn

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
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, not {verdict!r}")
        if query_crop_id == candidate_crop_id:
            raise ValueError("a crop cannot be compared with itself")
        with self._c.write() as db:
            cur = db.execute(
                "INSERT INTO decisions (query_crop_id, candidate_crop_id, verdict, score, model_id, "
                "operator, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [query_crop_id, candidate_crop_id, verdict, score, encoder_id, operator, utc_now()],
            )
        return self.get(cur.lastrowid)

    def undo(self, decision_id: int, *, operator: str) -> Decision:
        """Void a decision (or an undo, which restores what it voided)."""
        target = self.get(decision_id)
        if self.voided_by(decision_id) is not None:
            raise ValueError(f"decision {decision_id} is already undone")
        with self._c.write() as db:
            cur = db.execute(
                "INSERT INTO decisions (query_crop_id, candidate_crop_id, verdict, score, model_id, "
                "operator, created_at, voids_id) VALUES (?, ?, 'undo', NULL, ?, ?, ?, ?)",
                [
                    target.query_crop_id,
                    target.candidate_crop_id,
                    target.encoder_id,
                    operator,
                    utc_now(),
                    decision_id,
                ],
            )
        return self.get(cur.lastrowid)

    def void(self, decision_id: int, *, operator: str) -> Decision:
        """Take a verdict that is in force out of force, whatever undo/redo rows it already has:
        the newest row of its chain is the one to void. Raises ValueError when it is not in force."""
        if decision_id not in {d.id for d in self.active()}:
            raise ValueError(f"decision {decision_id} is not in force")
        last = decision_id
        while (nxt := self.voided_by(last)) is not None:
            last = nxt
        return self.undo(last, operator=operator)

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

    def history(self) -> list[Decision]:
        """Every row, undo rows included: the audit trail."""
        rows = self._c.db.execute(f"SELECT {DECISION_COLUMNS} FROM decisions ORDER BY id")
        return [Decision(*r) for r in rows]

    def active(self) -> list[Decision]:
        """Verdicts in force: rows not voided by an undo that is itself in force."""
        rows = self.history()
        voider = {d.voids_id: d.id for d in rows if d.voids_id is not None}
        memo: dict[int, bool] = {}

        def in_force(did: int) -> bool:
            if did not in memo:
                by = voider.get(did)
                memo[did] = by is None or not in_force(by)
            return memo[did]

        # Undo chains are short; walk from the newest so recursion depth stays small.
        for d in reversed(rows):
            in_force(d.id)
        return [d for d in rows if d.verdict != "undo" and memo[d.id]]

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
