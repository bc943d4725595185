"""Identity review at 10,000 crops (synthetic embeddings): building the similarity table and the
proposals once, then the time from a verdict to the next proposal (the verdict written to the
project, identities and scores updated incrementally, the next anchor chosen).

Baseline, timed in the same run: rebuilding every identity's proposals from scratch, which is what
a queue without incremental updates would pay after each verdict.

    python bench/bench_proposals.py [--n 10000] [--verdicts 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from reid_desktop.core.jobs import run_job
from reid_desktop.core.retrieval.matching import GalleryIndex
from reid_desktop.core.retrieval.neighbours import build_similarity
from reid_desktop.core.review.proposals import ProposalEngine
from reid_desktop.core.review.session import ReviewSession
from reid_desktop.store import Project


def synthetic(project: Project, n: int, dim: int = 256, cameras: int = 4, seed: int = 0):
    """n crops of n/8 people over `cameras` cameras: a person centre, a camera shift, noise."""
    rng = np.random.default_rng(seed)
    people = n // 8
    pid = rng.integers(0, people, n)
    cam = rng.integers(0, cameras, n)
    cams = [
        project.cameras.add(f"cam{c}", f"/nowhere/{c}", "folders", source_key=str(c)) for c in range(cameras)
    ]
    project.crops.insert_many(
        {
            "camera_id": cams[cam[i]].id,
            "rel_path": f"{i:06d}.jpg",
            "sha256": str(i),
            "width": 48,
            "height": 128,
            "size_bytes": 1,
            "mtime_ns": 1,
        }
        for i in range(n)
    )
    ids = np.array([c.id for c in project.crops.all()])
    centres = rng.normal(size=(people, dim)).astype(np.float32)
    shift = rng.normal(size=(cameras, dim)).astype(np.float32) * 0.4
    feats = centres[pid] + shift[cam] + rng.normal(size=(n, dim)).astype(np.float32) * 0.8
    index = GalleryIndex(ids, np.array([cams[c].id for c in cam]), feats, None)
    person = {int(ids[i]): int(pid[i]) for i in range(n)}
    return index, person


def ms(xs: list[float]) -> str:
    xs = sorted(xs)
    p95 = xs[min(len(xs) - 1, int(0.95 * len(xs)))]
    return (
        f"median {statistics.median(xs) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, max {xs[-1] * 1000:.1f} ms"
    )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--verdicts", type=int, default=200)
    args = ap.parse_args()
    load = os.getloadavg()
    print(f"load: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} (1/5/15 min) on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        project = Project.create(Path(tmp) / "bench.reidproj")
        index, person = synthetic(project, args.n)
        enc = project.encoders.add("synthetic", "/nowhere.onnx", "sha", {})
        t = time.perf_counter()
        sim = run_job(build_similarity(index.feats, index.cameras))
        t_sim = time.perf_counter() - t
        session = ReviewSession(project, enc.id, "bench", index, sim)
        t = time.perf_counter()
        ProposalEngine(index.crop_ids, sim, session.ledger.links)  # the baseline: all from scratch
        t_rebuild = time.perf_counter() - t
        t = time.perf_counter()
        session.current()
        t_first = time.perf_counter() - t
        turns, commits, nexts = [], [], []
        for _ in range(args.verdicts):
            p = session.current()
            if p is None:
                break
            who = person[p.anchor_crops[0]]
            same = [c.key for c in p.candidates if person[c.crops[0]] == who]
            t0 = time.perf_counter()
            session.commit(same=same, different=[c.key for c in p.candidates if c.key not in same])
            t1 = time.perf_counter()
            session.current()
            t2 = time.perf_counter()
            commits.append(t1 - t0)
            nexts.append(t2 - t1)
            turns.append(t2 - t0)
        project.close()
    print(f"crops: {args.n:,} ({args.n // 8:,} people, 4 cameras, 256-d), verdicts: {len(turns)}")
    print(f"similarity table (k-reciprocal, sparse): {t_sim:.2f} s")
    print(f"all proposals from scratch (baseline):   {t_rebuild * 1000:.0f} ms")
    print(f"first proposal of the session:           {t_first * 1000:.1f} ms")
    print(f"verdict saved + identities updated:      {ms(commits)}")
    print(f"next proposal chosen:                    {ms(nexts)}")
    print(f"verdict to next proposal:                {ms(turns)}")
    print(
        f"ratio, rebuilding from scratch / verdict to next proposal (median): "
        f"{t_rebuild / statistics.median(turns):.0f}x"
    )
    load = os.getloadavg()
    print(f"load: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} (1/5/15 min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
