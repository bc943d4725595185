"""The project file: creation, opening rules, schema, append-only decisions and typed accessors."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from reid_desktop.store import (
    SCHEMA_VERSION,
    NotAProjectError,
    Project,
    ProjectError,
    ProjectExistsError,
    ReadOnlyProjectError,
    SchemaTooNewError,
)
from reid_desktop.store.schema import APPLICATION_ID

OP = "tester"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def add_crops(project: Project, n: int, camera: str = "cam") -> list[int]:
    cam = project.cameras.by_name(camera)
    if cam is None:
        cam = project.cameras.add(camera, f"/data/{camera}", "folders")
    start = len(project.crops.for_camera(cam.id, include_missing=True))
    project.crops.insert_many(
        {
            "camera_id": cam.id,
            "rel_path": f"{i:04d}.jpg",
            "sha256": f"{camera}-{i}",
            "width": 48,
            "height": 128,
            "size_bytes": 1000 + i,
            "mtime_ns": i,
        }
        for i in range(start, start + n)
    )
    return [c.id for c in project.crops.for_camera(cam.id)][start:]


def make_project_file(path: Path) -> Path:
    Project.create(path).close()
    return path


# --- creating and the file's identity ---------------------------------------------------------


def test_create_sets_schema_pragmas(tmp_path: Path):
    with Project.create(tmp_path / "p.reidproj") as project:
        conn = project.db.conn
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert conn.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        tables = set(project.db.table_names())
        assert {
            "cameras",
            "crops",
            "decisions",
            "embeddings",
            "models",
            "identities",
            "identity_members",
            "training_runs",
            "skipped_files",
            "meta",
        } <= tables
    # Visible to a plain sqlite3 reader too (what the newer-schema check relies on).
    conn = sqlite3.connect(tmp_path / "p.reidproj")
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    finally:
        conn.close()


def test_schema_version_counts_migrations():
    from reid_desktop.store.schema import migrations

    assert SCHEMA_VERSION == len(migrations._migrations) >= 1


def test_create_adds_suffix(tmp_path: Path):
    with Project.create(tmp_path / "survey") as project:
        assert project.path == tmp_path / "survey.reidproj"
    assert (tmp_path / "survey.reidproj").is_file()


def test_reopen_keeps_data(tmp_path: Path):
    path = tmp_path / "p.reidproj"
    with Project.create(path) as project:
        ids = add_crops(project, 3)
        project.decisions.record(ids[0], ids[1], "same", operator=OP, score=0.9)
    with Project.open(path) as project:
        assert project.crops.count() == 3
        [d] = project.decisions.active()
        assert (d.query_crop_id, d.candidate_crop_id, d.verdict, d.score) == (
            ids[0],
            ids[1],
            "same",
            pytest.approx(0.9),
        )
        assert d.operator == OP


def test_fresh_project_records_initial_migration(tmp_path: Path):
    path = tmp_path / "p.reidproj"
    with Project.create(path) as project:
        rows = project.db.execute(
            "SELECT migration_set, name, applied_at FROM _sqlite_migrations ORDER BY id"
        ).fetchall()
    assert [(r[0], r[1]) for r in rows][0] == ("reid_desktop", "m001_initial")
    assert len(rows) == SCHEMA_VERSION
    with Project.open(path) as project:
        again = project.db.execute(
            "SELECT migration_set, name, applied_at FROM _sqlite_migrations ORDER BY id"
        ).fetchall()
    assert again == rows  # nothing re-applied, nothing re-recorded


def test_foreign_keys_enforced(project: Project):
    with pytest.raises(sqlite3.IntegrityError):
        project.decisions.record(101, 102, "same", operator=OP)
    assert project.decisions.count(active_only=False) == 0


def test_write_rolls_back_whole_transaction(project: Project):
    cam = project.cameras.add("cam", "/data/cam", "folders")

    class Boom(Exception):
        pass

    with pytest.raises(Boom), project.write():
        project.cameras.rename(cam.id, "renamed")
        project.identities.create("someone")
        raise Boom
    assert project.cameras.get(cam.id).name == "cam"
    assert project.identities.count() == 0
    assert not project.db.conn.in_transaction


# --- decisions ---------------------------------------------------------------------------------


def test_decisions_are_append_only(project: Project):
    a, b = add_crops(project, 2)
    d = project.decisions.record(a, b, "different", operator=OP)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        project.db.execute("UPDATE decisions SET verdict = 'same' WHERE id = ?", [d.id])
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        project.db.execute("DELETE FROM decisions WHERE id = ?", [d.id])
    assert project.decisions.get(d.id) == d


def test_undo_voids_and_undo_of_undo_restores(project: Project):
    a, b, c = add_crops(project, 3)
    d1 = project.decisions.record(a, b, "same", operator=OP)
    d2 = project.decisions.record(a, c, "different", operator=OP)
    assert [d.id for d in project.decisions.active()] == [d1.id, d2.id]

    u1 = project.decisions.undo(d1.id, operator=OP)
    assert (u1.verdict, u1.voids_id, u1.query_crop_id, u1.candidate_crop_id) == ("undo", d1.id, a, b)
    assert [d.id for d in project.decisions.active()] == [d2.id]
    assert project.decisions.voided_by(d1.id) == u1.id

    u2 = project.decisions.undo(u1.id, operator=OP)
    assert u2.voids_id == u1.id
    assert [d.id for d in project.decisions.active()] == [d1.id, d2.id]

    u3 = project.decisions.undo(u2.id, operator=OP)
    assert [d.id for d in project.decisions.active()] == [d2.id]
    assert project.decisions.count() == 1
    assert project.decisions.count(active_only=False) == 5
    assert [d.id for d in project.decisions.history()] == [d1.id, d2.id, u1.id, u2.id, u3.id]


def test_cannot_undo_twice(project: Project):
    a, b = add_crops(project, 2)
    d = project.decisions.record(a, b, "same", operator=OP)
    project.decisions.undo(d.id, operator=OP)
    with pytest.raises(ValueError, match="already undone"):
        project.decisions.undo(d.id, operator=OP)
    assert project.decisions.count(active_only=False) == 2
    with pytest.raises(KeyError):
        project.decisions.undo(9999, operator=OP)


def test_long_undo_chain(project: Project):
    a, b = add_crops(project, 2)
    first = last = project.decisions.record(a, b, "same", operator=OP)
    with project.write():
        for _ in range(1200):  # deeper than Python's default recursion limit
            last = project.decisions.undo(last.id, operator=OP)
    # An even number of undos in a chain leaves the original verdict in force.
    assert [d.id for d in project.decisions.active()] == [first.id]
    project.decisions.undo(last.id, operator=OP)
    assert project.decisions.active() == []
    assert project.decisions.count(active_only=False) == 1202


@pytest.mark.parametrize("verdict", ["undo", "maybe", "", "SAME"])
def test_invalid_verdict_raises(project: Project, verdict: str):
    a, b = add_crops(project, 2)
    with pytest.raises(ValueError):
        project.decisions.record(a, b, verdict, operator=OP)
    assert project.decisions.count(active_only=False) == 0


def test_self_comparison_refused(project: Project):
    [a] = add_crops(project, 1)
    with pytest.raises(ValueError):
        project.decisions.record(a, a, "same", operator=OP)


# --- models, embeddings, identities, training runs ----------------------------------------------


def test_embeddings_round_trip(project: Project):
    ids = add_crops(project, 4)
    model = project.encoders.add("osnet", "models/osnet.onnx", "abc123", {"dim": 8, "stripes": 3})
    assert project.encoders.get(model.id).metadata == {"dim": 8, "stripes": 3}
    assert [m.name for m in project.encoders.all()] == ["osnet"]
    rng = np.random.default_rng(0)
    g0 = rng.standard_normal(8).astype(np.float32)
    s0 = rng.standard_normal((3, 4)).astype(np.float32)
    g1 = rng.standard_normal(8)  # float64 in: stored as float32
    assert project.embeddings.put_many(model.id, [(ids[0], g0, s0), (ids[1], g1, None)]) == 2

    glob, stripes = project.embeddings.get(ids[0], model.id)
    assert glob.dtype == np.float32 and glob.shape == (8,)
    np.testing.assert_array_equal(glob, g0)
    assert stripes.shape == (3, 4)
    np.testing.assert_array_equal(stripes, s0)
    glob1, stripes1 = project.embeddings.get(ids[1], model.id)
    np.testing.assert_allclose(glob1, g1.astype(np.float32))
    assert stripes1 is None
    assert project.embeddings.get(ids[2], model.id) is None

    assert project.embeddings.missing_crop_ids(model.id) == ids[2:]
    assert project.embeddings.count() == 2 == project.embeddings.count(model.id)
    # Replacing keeps one row per (crop, model).
    project.embeddings.put_many(model.id, [(ids[0], g0 * 2, None)])
    glob, stripes = project.embeddings.get(ids[0], model.id)
    np.testing.assert_array_equal(glob, g0 * 2)
    assert stripes is None and project.embeddings.count() == 2
    # Missing crops need no embedding.
    project.crops.set_status([ids[3]], "missing")
    assert project.embeddings.missing_crop_ids(model.id) == [ids[2]]
    other = project.encoders.add("other", "o.onnx", "def")
    assert project.embeddings.missing_crop_ids(other.id) == ids[:3]


def test_identities_round_trip(project: Project):
    ids = add_crops(project, 4)
    d = project.decisions.record(ids[0], ids[1], "same", operator=OP)
    alice = project.identities.create("Alice", "red coat")
    bob = project.identities.create("Bob")
    project.identities.set_members(alice.id, ids[:2], decision_id=d.id)
    project.identities.set_members(bob.id, [ids[2]])
    assert project.identities.members(alice.id) == ids[:2]
    project.identities.set_members(bob.id, [ids[1]])  # a crop belongs to one identity
    assert project.identities.members(alice.id) == [ids[0]]
    assert project.identities.members(bob.id) == [ids[1], ids[2]]
    project.identities.update(alice.id, name="Alice B.", notes="")
    assert project.identities.get(alice.id).name == "Alice B."
    assert project.identities.get(alice.id).notes == ""
    assert [i.name for i in project.identities.all()] == ["Alice B.", "Bob"]
    assert project.identities.count() == 2
    with pytest.raises(KeyError):
        project.identities.get(999)


def test_training_runs_round_trip(project: Project):
    run = project.training_runs.start("finetune", {"epochs": 3, "lr": 0.001})
    assert (run.status, run.params, run.finished_at) == ("running", {"epochs": 3, "lr": 0.001}, None)
    model = project.encoders.add("ft-1", "ft.onnx", "fff")
    project.training_runs.finish(run.id, "done", {"mAP": 0.5}, encoder_id=model.id)
    got = project.training_runs.get(run.id)
    assert (got.status, got.metrics, got.encoder_id) == ("done", {"mAP": 0.5}, model.id)
    assert got.finished_at is not None
    assert [r.id for r in project.training_runs.all()] == [run.id]


def test_summary_counts(project: Project):
    ids = add_crops(project, 3, "cam1") + add_crops(project, 2, "cam2")
    project.crops.set_status([ids[0]], "missing")
    d = project.decisions.record(ids[1], ids[3], "same", operator=OP)
    project.decisions.record(ids[1], ids[4], "different", operator=OP)
    project.decisions.undo(d.id, operator=OP)
    s = project.summary()
    assert [(c.camera.name, c.present, c.missing) for c in s.cameras] == [("cam1", 2, 1), ("cam2", 2, 0)]
    assert (s.crops, s.decisions, s.decisions_total, s.named_identities, s.encoders) == (4, 1, 3, 0, 0)


# --- opening errors change nothing --------------------------------------------------------------


def assert_refused_unchanged(path: Path, error: type[Exception]) -> ProjectError:
    before = sha(path)
    with pytest.raises(error) as info:
        Project.open(path)
    assert sha(path) == before
    return info.value


def test_open_not_sqlite(tmp_path: Path):
    path = tmp_path / "notes.reidproj"
    path.write_text("just some text\n" * 100)
    err = assert_refused_unchanged(path, NotAProjectError)
    assert "not a SQLite" in str(err)


def test_open_zero_byte_file_of_another_kind(tmp_path: Path):
    path = tmp_path / "zero.txt"
    path.touch()
    assert_refused_unchanged(path, NotAProjectError)
    assert path.stat().st_size == 0


def test_zero_byte_project_is_an_unfinished_creation(tmp_path: Path):
    """A kill right after an older release created the file left 0 bytes: initialise it."""
    path = tmp_path / "zero.reidproj"
    path.touch()
    with pytest.raises(ProjectError, match="interrupted"):
        Project.open(path, read_only=True)
    assert path.stat().st_size == 0
    with Project.open(path) as project:
        assert project.crops.count() == 0
    with Project.open(path, read_only=True) as project:
        assert project.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_open_other_programs_database(tmp_path: Path):
    path = tmp_path / "other.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE contacts (name TEXT, phone TEXT)")
    conn.execute("INSERT INTO contacts VALUES ('a', '1')")
    conn.commit()
    conn.close()
    err = assert_refused_unchanged(path, NotAProjectError)
    assert "another program" in str(err)
    conn = sqlite3.connect(path)
    try:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    finally:
        conn.close()
    assert names == {"contacts"}


def _set_user_version(path: Path, version: int) -> None:
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {version}")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def test_open_newer_schema(tmp_path: Path):
    path = make_project_file(tmp_path / "new.reidproj")
    _set_user_version(path, SCHEMA_VERSION + 1)
    err = assert_refused_unchanged(path, SchemaTooNewError)
    assert str(SCHEMA_VERSION + 1) in str(err)
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
    finally:
        conn.close()


def test_refused_open_leaves_no_stray_files(tmp_path: Path):
    path = make_project_file(tmp_path / "new.reidproj")
    _set_user_version(path, SCHEMA_VERSION + 1)
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(SchemaTooNewError):
        Project.open(path)
    assert sorted(os.listdir(tmp_path)) == before


def test_open_read_only_file(tmp_path: Path):
    path = make_project_file(tmp_path / "ro.reidproj")
    path.chmod(0o444)
    try:
        err = assert_refused_unchanged(path, ReadOnlyProjectError)
        assert "read-only" in str(err)
    finally:
        path.chmod(0o644)
    with Project.open(path) as project:  # writable again: opens fine
        assert project.crops.count() == 0


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores folder permissions")
def test_open_in_read_only_folder(tmp_path: Path):
    folder = tmp_path / "ro"
    folder.mkdir()
    path = make_project_file(folder / "p.reidproj")
    folder.chmod(0o555)
    try:
        assert_refused_unchanged(path, ReadOnlyProjectError)
    finally:
        folder.chmod(0o755)


def test_open_missing_file(tmp_path: Path):
    with pytest.raises(ProjectError, match="No project file"):
        Project.open(tmp_path / "nope.reidproj")
    assert not (tmp_path / "nope.reidproj").exists()


def test_open_folder(tmp_path: Path):
    folder = tmp_path / "looks.reidproj"
    folder.mkdir()
    with pytest.raises(NotAProjectError, match="folder"):
        Project.open(folder)
    assert list(folder.iterdir()) == []


def test_create_over_existing_file(tmp_path: Path):
    path = make_project_file(tmp_path / "p.reidproj")
    before = sha(path)
    with pytest.raises(ProjectExistsError):
        Project.create(path)
    with pytest.raises(ProjectExistsError):
        Project.create(tmp_path / "p")  # the suffix would be added: still refused
    assert sha(path) == before
    other = tmp_path / "data.txt"
    other.write_text("keep me")
    with pytest.raises(ProjectExistsError):
        Project.create(other)
    assert other.read_text() == "keep me"


def test_create_in_missing_folder(tmp_path: Path):
    with pytest.raises(ProjectError):
        Project.create(tmp_path / "no" / "such" / "p.reidproj")
    assert not (tmp_path / "no").exists()


def test_version_1_file_is_migrated_on_open_and_keeps_its_data(tmp_path: Path):
    """A project written before the queue cache existed (schema 1) gains the table on open."""
    import sqlite3

    from sqlite_utils import Database

    from reid_desktop.store.schema import APPLICATION_ID, migrations

    path = tmp_path / "old.reidproj"
    conn = sqlite3.connect(path)
    db = Database(conn)
    migrations.apply(db, stop_before="m002_queue_cache")
    db.execute("INSERT INTO cameras (name, root, layout, added_at) VALUES ('cam1', '/x', 'folders', 't')")
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    with Project.open(path) as project:
        assert project.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert "queue_cache" in project.db.table_names()
        assert [c.name for c in project.cameras.all()] == ["cam1"]


def test_version_2_file_migrates_its_decisions_into_units_of_their_own(tmp_path: Path):
    """A project from before actions (schema 2): its decisions, undo rows and cache survive the
    upgrade; each old row is an undoable unit; new writes are actions."""
    import sqlite3

    from sqlite_utils import Database

    from reid_desktop.core.identities.ledger import DecisionLedger, unit_of
    from reid_desktop.store.schema import APPLICATION_ID, migrations

    path = tmp_path / "v2.reidproj"
    conn = sqlite3.connect(path)
    db = Database(conn)
    migrations.apply(db, stop_before="m003_actions")
    db.execute("INSERT INTO cameras (name, root, layout, added_at) VALUES ('cam1', '/x', 'folders', 't')")
    for i in range(3):
        db.execute(
            "INSERT INTO crops (camera_id, rel_path, sha256, width, height, size_bytes, mtime_ns, added_at) "
            "VALUES (1, ?, ?, 1, 1, 1, 1, 't')",
            [f"{i}.jpg", str(i)],
        )
    db.execute(
        "INSERT INTO decisions (query_crop_id, candidate_crop_id, verdict, score, operator, created_at) "
        "VALUES (1, 2, 'same', 0.9, 'old', 't1'), (2, 3, 'different', 0.1, 'old', 't2')"
    )
    db.execute(
        "INSERT INTO decisions (query_crop_id, candidate_crop_id, verdict, operator, created_at, voids_id) "
        "VALUES (2, 3, 'undo', 'old', 't3', 2)"
    )
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    with Project.open(path) as project:
        assert project.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
        assert [(d.verdict, d.score, d.action_id) for d in project.decisions.history()] == [
            ("same", 0.9, None),
            ("different", 0.1, None),
            ("undo", None, None),
        ]
        assert [d.id for d in project.decisions.active()] == [1]
        ledger = DecisionLedger(project)
        [old] = ledger.active()
        ledger.undo(unit_of(old), operator="new")
        assert ledger.active() == []
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            project.db.execute("DELETE FROM actions")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            project.db.execute("UPDATE actions SET operator = 'x'")
