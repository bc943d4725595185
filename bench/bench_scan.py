"""Scan benchmark: ingest N synthetic crops (default 10,000) into a fresh project.

Prints crops/s for the first scan and the re-scan, as ratios against a baseline measured in the
same run: a single-threaded loop that only reads and decodes every file with PIL.

    python bench/bench_scan.py [--n 10000] [--cameras 4]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from reid_desktop.core.ingest.scan import ingest
from reid_desktop.core.jobs import run_job
from reid_desktop.store import Project


def make_crops(root: Path, n: int, cameras: int) -> list[Path]:
    rng = np.random.default_rng(0)
    # Encode a few hundred distinct JPEGs, then vary one byte of a comment so every file differs.
    bases = []
    for _ in range(200):
        arr = rng.integers(0, 255, (128, 48, 3), dtype=np.uint8)
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, "JPEG", quality=90)
        bases.append(buf.getvalue())
    folders = []
    for c in range(cameras):
        d = root / f"cam{c + 1}"
        d.mkdir(parents=True)
        folders.append(d)
    for i in range(n):
        data = bases[i % len(bases)]
        tag = f"crop {i}".encode()
        # Insert a COM segment after SOI: a valid JPEG with unique bytes.
        seg = b"\xff\xfe" + (len(tag) + 2).to_bytes(2, "big") + tag
        (folders[i % cameras] / f"f{i:06d}.jpg").write_bytes(data[:2] + seg + data[2:])
    return folders


def baseline(folders: list[Path]) -> float:
    t = time.perf_counter()
    for d in folders:
        for p in sorted(d.iterdir()):
            data = p.read_bytes()
            hashlib.sha256(data)
            with Image.open(io.BytesIO(data)) as im:
                im.load()
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--cameras", type=int, default=4)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folders = make_crops(root / "crops", args.n, args.cameras)
        t_base = baseline(folders)  # also warms the page cache for a fair comparison
        t_base = min(t_base, baseline(folders))
        project = Project.create(root / "bench.reidproj")
        t = time.perf_counter()
        rep = run_job(ingest(project, [str(f) for f in folders], "folders"))
        t_scan = time.perf_counter() - t
        t = time.perf_counter()
        rep2 = run_job(ingest(project, [str(f) for f in folders], "folders"))
        t_rescan = time.perf_counter() - t
        n = project.crops.count()
        project.close()
    assert rep.added == args.n == n, (rep.added, n)
    assert rep2.added == 0 and sum(s.unchanged for s in rep2.sources) == args.n
    print(f"crops: {args.n} in {args.cameras} camera folders")
    print(f"baseline (read+sha256+decode, 1 thread): {t_base:.2f} s  ({args.n / t_base:,.0f} crops/s)")
    print(
        f"ingest, fresh project:                   {t_scan:.2f} s  ({args.n / t_scan:,.0f} crops/s)"
        f"  ratio vs baseline {t_base / t_scan:.2f}x"
    )
    print(
        f"re-scan, nothing changed:                {t_rescan:.2f} s  "
        f"({args.n / t_rescan:,.0f} crops/s)  ratio vs baseline {t_base / t_rescan:.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
