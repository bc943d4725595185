"""Issue 8 blocker: opening a project must never drop the locks of connections already open in the
same process (POSIX locks are per process; closing any descriptor of the file drops them all).

When that happened, the next process to open and close the project believed it was the last user,
checkpointed and deleted the WAL, and the app kept committing into a deleted file."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from reid_desktop.store import Project


def _in_child(code: str, path: Path) -> str:
    script = "from reid_desktop.store import Project\n" + textwrap.dedent(code)
    out = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_issue_repro_committed_write_survives(tmp_path: Path):
    p = tmp_path / "t.reidproj"
    a = Project.create(p)
    a.meta.set("k1", "v1")
    Project.open(p).close()  # what every background job does
    _in_child("import sys; Project.open(sys.argv[1]).close()", p)
    a.meta.set("k2", "v2")  # committed ...
    got = _in_child("import sys; print(Project.open(sys.argv[1]).meta.get('k2'))", p)
    assert got == "v2"
    assert (tmp_path / "t.reidproj-wal").exists()
    a.close()


def test_read_only_opens_and_refusals_keep_locks(tmp_path: Path):
    """Every way of opening in-process (read-only, vetting, a refused create) keeps the app's locks."""
    p = tmp_path / "t.reidproj"
    app = Project.create(p)
    app.meta.set("before", "1")
    Project.open(p, read_only=True).close()
    with contextlib.suppress(Exception):
        Project.create(p)
    _in_child("import sys; Project.open(sys.argv[1], read_only=True).close()", p)
    _in_child("import sys; Project.open(sys.argv[1]).close()", p)
    app.meta.set("after", "2")
    got = _in_child(
        "import sys\nwith Project.open(sys.argv[1], read_only=True) as q:\n"
        "    print(q.meta.get('before'), q.meta.get('after'))",
        p,
    )
    assert got == "1 2"
    app.close()


CHILD_WRITER = """
import sys
with Project.open(sys.argv[1]) as q:
    for i in range(20):
        q.meta.set(f"child-{i}", str(i))
print("ok")
"""


def test_app_workers_and_other_processes_all_keep_their_writes(tmp_path: Path):
    """The real sequence: an app connection, worker connections on threads (as background jobs
    open them), other processes opening, writing and closing; every committed write is present."""
    p = tmp_path / "t.reidproj"
    app = Project.create(p)
    errors: list[BaseException] = []

    def worker(tag: int) -> None:
        try:
            for i in range(10):
                with Project.open(p) as w:
                    w.meta.set(f"worker-{tag}-{i}", "x")
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    for round_ in range(3):
        threads = [threading.Thread(target=worker, args=(round_ * 10 + t,)) for t in range(2)]
        for t in threads:
            t.start()
        assert _in_child(CHILD_WRITER, p) == "ok"
        _in_child("import sys; Project.open(sys.argv[1], read_only=True).close()", p)
        for t in threads:
            t.join()
        app.meta.set(f"app-{round_}", "y")
    assert not errors
    app.close()
    with Project.open(p, read_only=True) as q:
        keys = {r[0] for r in q.db.execute("SELECT key FROM meta")}
        assert q.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert {f"app-{r}" for r in range(3)} <= keys
    assert {f"child-{i}" for i in range(20)} <= keys
    assert {f"worker-{r * 10 + t}-{i}" for r in range(3) for t in range(2) for i in range(10)} <= keys


def test_vetting_an_idle_wal_keeps_locks(tmp_path: Path):
    """With the WAL checkpointed to 0 bytes, vetting reads the main file as immutable: that
    connection's close must not drop the app's locks either."""
    p = tmp_path / "t.reidproj"
    app = Project.create(p)
    app.meta.set("k1", "v1")
    app.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert (tmp_path / "t.reidproj-wal").stat().st_size == 0
    Project.open(p).close()
    Project.open(p, read_only=True).close()
    _in_child("import sys; Project.open(sys.argv[1]).close()", p)
    app.meta.set("k2", "v2")
    assert _in_child("import sys; print(Project.open(sys.argv[1], read_only=True).meta.get('k2'))", p) == "v2"
    app.close()


def test_app_window_jobs_and_reid_info_keep_every_write(qtbot, window, tmp_path: Path, two_cameras):
    """The walkthrough that destroyed projects: the app runs background jobs, `reid info` opens the
    same project from another process, the app keeps saving; then the file has everything."""
    w = window
    assert w.create_project(tmp_path / "p")
    path = w.project.path
    for folders in ([two_cameras[0]], [two_cameras[1]]):
        w.add_folders([str(f) for f in folders])
        qtbot.waitUntil(lambda: w.job is None, timeout=30_000)
        info = subprocess.run(
            [str(Path(sys.executable).parent / "reid"), "info", str(path)], capture_output=True, text=True
        )
        assert info.returncode == 0, info.stderr
    ids = [c.id for c in w.project.crops.all()]
    d = w.project.decisions.record(ids[0], ids[-1], "same", operator="app")
    _in_child("import sys; Project.open(sys.argv[1]).close()", path)
    w.project.meta.set("after", "x")
    got = _in_child(
        "import sys\nwith Project.open(sys.argv[1], read_only=True) as q:\n"
        f"    print(q.meta.get('after'), q.decisions.get({d.id}).verdict, q.crops.count())",
        path,
    )
    w.close_project()
    assert got == f"x same {len(ids)}"
