"""Two processes writing the same project at once: no lost writes, no corruption, no deadlock."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from reid_desktop.store import Project

PER_PROCESS = 150
CROPS_EVERY = 15  # each worker adds a crop every 15 decisions
TIMEOUT_S = 90

WORKER = r"""
import os, random, sys, time
from reid_desktop.store import Project

path, tag, go = sys.argv[1:4]
n, every = int(sys.argv[4]), int(sys.argv[5])
open(f"{go}.{tag}.ready", "w").close()
deadline = time.monotonic() + 30
while not os.path.exists(go):
    if time.monotonic() > deadline:
        sys.exit("start signal never came")
    time.sleep(0.002)
rnd = random.Random(tag)
with Project.open(path) as p:
    cam = p.cameras.by_name("shared")
    base = [c.id for c in p.crops.for_camera(cam.id)]
    mine = []
    for i in range(n):
        if i % every == 0:
            p.crops.insert_many([{
                "camera_id": cam.id, "rel_path": f"{tag}/{i:04d}.jpg", "sha256": f"{tag}-{i}",
                "width": 48, "height": 128, "size_bytes": 100 + i, "mtime_ns": i,
            }])
            mine = [c.id for c in p.crops.for_camera(cam.id) if c.rel_path.startswith(tag + "/")]
        p.decisions.record(mine[-1], rnd.choice(base), rnd.choice(["same", "different", "skip"]),
                           operator=tag, score=rnd.random())
        time.sleep(rnd.uniform(0, 0.002))
print("done", tag)
"""


def test_two_processes_write_concurrently(tmp_path: Path):
    path = tmp_path / "shared.reidproj"
    go = tmp_path / "go"
    with Project.create(path) as project:
        cam = project.cameras.add("shared", str(tmp_path / "cam"), "folders")
        project.crops.insert_many(
            {
                "camera_id": cam.id,
                "rel_path": f"base/{i}.jpg",
                "sha256": f"base-{i}",
                "width": 48,
                "height": 128,
                "size_bytes": 100,
                "mtime_ns": 0,
            }
            for i in range(5)
        )
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", WORKER, str(path), tag, str(go), str(PER_PROCESS), str(CROPS_EVERY)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for tag in ("alpha", "beta")
        ]
        try:
            deadline = time.monotonic() + TIMEOUT_S
            ready = [tmp_path / f"go.{tag}.ready" for tag in ("alpha", "beta")]
            while not all(r.exists() for r in ready):
                assert time.monotonic() < deadline, "workers never started"
                dead = [proc for proc in procs if proc.poll() is not None]
                assert not dead, dead[0].stderr.read() if dead else ""
                time.sleep(0.005)
            go.touch()  # release both workers together so their writes interleave
            outputs = []
            for proc in procs:
                out, err = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
                outputs.append((proc.returncode, out, err))
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        for rc, out, err in outputs:
            assert rc == 0, err
            assert out.startswith("done")

        # The parent's connection, open all along, sees every write.
        assert project.decisions.count(active_only=False) == 2 * PER_PROCESS
        by_op = dict(
            project.db.execute("SELECT operator, count(*) FROM decisions GROUP BY operator").fetchall()
        )
        assert by_op == {"alpha": PER_PROCESS, "beta": PER_PROCESS}
        per_worker = PER_PROCESS // CROPS_EVERY
        assert project.crops.count() == 5 + 2 * per_worker

        # Writes really interleaved: neither worker's decisions form one contiguous block.
        ops = [d.operator for d in project.decisions.history()]
        switches = sum(a != b for a, b in zip(ops, ops[1:], strict=False))
        assert switches > 1

    with Project.open(path) as project:
        assert project.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert project.db.execute("PRAGMA foreign_key_check").fetchall() == []
        assert project.decisions.count() == 2 * PER_PROCESS
        ids = [d.id for d in project.decisions.history()]
        assert ids == sorted(set(ids)) and len(ids) == 2 * PER_PROCESS
