"""Schema of a .reidproj file, as ordered sqlite-utils migrations.

The schema version is the number of migrations and is stored in PRAGMA user_version, so a file
written by a newer release is recognised before anything is written; the names of the applied
migrations (sqlite-utils' `_sqlite_migrations` table) are checked against MIGRATION_NAMES too.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

APPLICATION_ID = 0x52454944  # "REID": marks a SQLite file as ours
migrations = Migrations("reid_desktop")


def _statements(script: str) -> Iterator[str]:
    """Split a script into statements; executescript() would commit the migration's transaction."""
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            yield buf.strip()
            buf = ""


def _run(db: Database, script: str) -> None:
    for statement in _statements(script):
        db.execute(statement)


@migrations()
def m001_initial(db: Database) -> None:
    _run(
        db,
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE cameras (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            root TEXT NOT NULL,
            layout TEXT NOT NULL CHECK (layout IN ('folders', 'market')),
            source_key TEXT NOT NULL DEFAULT '',
            added_at TEXT NOT NULL,
            UNIQUE (root, source_key)
        );
        CREATE TABLE crops (
            id INTEGER PRIMARY KEY,
            camera_id INTEGER NOT NULL REFERENCES cameras(id) ON DELETE CASCADE,
            rel_path TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            width INTEGER NOT NULL,
            height INTEGER NOT NULL,
            size_bytes INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            frame INTEGER,
            timestamp TEXT,
            gt_person TEXT,
            status TEXT NOT NULL DEFAULT 'present' CHECK (status IN ('present', 'missing')),
            added_at TEXT NOT NULL,
            UNIQUE (camera_id, rel_path)
        );
        CREATE INDEX crops_sha256 ON crops(sha256);
        CREATE TABLE models (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            file TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            metadata TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL
        );
        CREATE TABLE embeddings (
            crop_id INTEGER NOT NULL REFERENCES crops(id) ON DELETE CASCADE,
            model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
            dim INTEGER NOT NULL,
            global_vec BLOB NOT NULL,
            stripes INTEGER NOT NULL DEFAULT 0,
            stripe_dim INTEGER NOT NULL DEFAULT 0,
            stripe_vecs BLOB,
            created_at TEXT NOT NULL,
            PRIMARY KEY (crop_id, model_id)
        );
        CREATE TABLE decisions (
            id INTEGER PRIMARY KEY,
            query_crop_id INTEGER NOT NULL REFERENCES crops(id),
            candidate_crop_id INTEGER NOT NULL REFERENCES crops(id),
            verdict TEXT NOT NULL CHECK (verdict IN ('same', 'different', 'skip', 'undo')),
            score REAL,
            model_id INTEGER REFERENCES models(id),
            operator TEXT NOT NULL,
            created_at TEXT NOT NULL,
            voids_id INTEGER REFERENCES decisions(id),
            CHECK ((verdict = 'undo') = (voids_id IS NOT NULL))
        );
        CREATE INDEX decisions_pair ON decisions(query_crop_id, candidate_crop_id);
        CREATE UNIQUE INDEX decisions_voids ON decisions(voids_id) WHERE voids_id IS NOT NULL;
        CREATE TRIGGER decisions_append_only_update BEFORE UPDATE ON decisions
            BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
        CREATE TRIGGER decisions_append_only_delete BEFORE DELETE ON decisions
            BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
        CREATE TABLE identities (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            notes TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL
        );
        CREATE TABLE identity_members (
            crop_id INTEGER PRIMARY KEY REFERENCES crops(id) ON DELETE CASCADE,
            identity_id INTEGER NOT NULL REFERENCES identities(id) ON DELETE CASCADE,
            decision_id INTEGER REFERENCES decisions(id),
            added_at TEXT NOT NULL
        );
        CREATE INDEX identity_members_identity ON identity_members(identity_id);
        CREATE TABLE training_runs (
            id INTEGER PRIMARY KEY,
            recipe TEXT NOT NULL,
            params TEXT NOT NULL DEFAULT '{}',
            status TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            metrics TEXT NOT NULL DEFAULT '{}',
            model_id INTEGER REFERENCES models(id)
        );
        CREATE TABLE skipped_files (
            id INTEGER PRIMARY KEY,
            camera_id INTEGER REFERENCES cameras(id) ON DELETE CASCADE,
            source_root TEXT NOT NULL,
            path TEXT NOT NULL,
            reason TEXT NOT NULL,
            seen_at TEXT NOT NULL
        );
        CREATE INDEX skipped_files_root ON skipped_files(source_root);
        """,
    )


@migrations()
def m002_queue_cache(db: Database) -> None:
    # The review queue of 10,000 crops takes about a second to rank; re-opening reuses it while the
    # embeddings it was built from are unchanged (decisions made since are skipped on the fly).
    _run(
        db,
        """
        CREATE TABLE queue_cache (
            model_id INTEGER PRIMARY KEY REFERENCES models(id) ON DELETE CASCADE,
            key TEXT NOT NULL,
            pairs BLOB NOT NULL,
            created_at TEXT NOT NULL
        );
        """,
    )


@migrations()
def m003_actions(db: Database) -> None:
    # One operator action (a group merge, a split, an undo) is one append-only `actions` row; its
    # decision rows carry its id so the audit trail and undo/redo treat them as one unit. Rows
    # written before this schema have no action: each is a unit of its own. The review cache held
    # crop-pair queues; identity review caches a neighbour graph under new keys, so old blobs go.
    _run(
        db,
        """
        CREATE TABLE actions (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            operator TEXT NOT NULL,
            created_at TEXT NOT NULL,
            model_id INTEGER REFERENCES models(id),
            undoes_id INTEGER REFERENCES actions(id),
            note TEXT NOT NULL DEFAULT ''
        );
        CREATE UNIQUE INDEX actions_undoes ON actions(undoes_id) WHERE undoes_id IS NOT NULL;
        CREATE TRIGGER actions_append_only_update BEFORE UPDATE ON actions
            BEGIN SELECT RAISE(ABORT, 'actions are append-only'); END;
        CREATE TRIGGER actions_append_only_delete BEFORE DELETE ON actions
            BEGIN SELECT RAISE(ABORT, 'actions are append-only'); END;
        ALTER TABLE decisions ADD COLUMN action_id INTEGER REFERENCES actions(id);
        CREATE INDEX decisions_action ON decisions(action_id);
        DELETE FROM queue_cache;
        """,
    )


# The schema version is the number of migrations (PRAGMA user_version mirrors it); the names let a
# file be checked against the list as well.
MIGRATION_NAMES = tuple(f.__name__ for f in (m001_initial, m002_queue_cache, m003_actions))
SCHEMA_VERSION = len(MIGRATION_NAMES)
