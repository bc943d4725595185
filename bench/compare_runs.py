"""Paired comparison of finished training runs against one reference run, on the same held-out people.

Issue 11 asks every shipped recipe to be at least as good as a plain CE + triplet run from the same
start. With 15 held-out people a few thousandths of mAP are noise, so a bare "0.972 < 0.975" says
nothing. This scores each run's exported `encoder.onnx` on its `holdout.csv` (the trainer's held-out
protocol, `core/training/holdout.score`), checks every run held out the same crops, and resamples the
held-out people (paired bootstrap, `holdout.compare`) for a 95 % interval of run − reference.

    python bench/compare_runs.py --reference RUN_DIR RUN_DIR... [--start START.onnx]

A RUN_DIR is a `reid-train --out` folder (bench_train keeps one per row). `--start` adds the model
training started from as a row (as "before").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from reid_desktop.core.encoders.runtime import EncoderRuntime
from reid_desktop.core.evaluation.evaluate import encode_labelled, read_ground_truth
from reid_desktop.core.imaging import load_rgb
from reid_desktop.core.jobs import CancelToken, run_job
from reid_desktop.core.training.holdout import compare, near_duplicates, score, thumbnails


def holdout_items(run: Path):
    gt = run / "holdout.csv"
    return read_ground_truth(gt.parent, gt, absolute_ok=True)


def score_encoder(onnx: Path, items, dup):
    runtime = EncoderRuntime.load(onnx, providers=["CPUExecutionProvider"])
    feats = run_job(encode_labelled(runtime, items, CancelToken()))
    return score(feats, items, dup)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reference", type=Path, required=True, help="the reference run's --out folder")
    ap.add_argument("runs", type=Path, nargs="+")
    ap.add_argument("--start", type=Path, help="the start encoder (ONNX), scored as one more row")
    args = ap.parse_args(argv)

    items = holdout_items(args.reference)
    key = [(str(i.path), i.pid, i.camera) for i in items]
    for run in args.runs:
        if [(str(i.path), i.pid, i.camera) for i in holdout_items(run)] != key:
            print(f"{run}: held out other crops than the reference; not comparable", file=sys.stderr)
            return 1
    dup = near_duplicates(items, thumbnails([load_rgb(i.path) for i in items]))
    ref = score_encoder(args.reference / "encoder.onnx", items, dup)
    rows = [("start", args.start)] if args.start else []
    rows += [(run.name, run / "encoder.onnx") for run in args.runs]
    print(
        f"reference {args.reference.name}: mAP {ref.mAP:.3f}, Rank-1 {ref.rank1:.3f} "
        f"({ref.identities} held-out people, {ref.queries} queries, {ref.protocol})\n"
    )
    print("| run | Rank-1 | mAP | Δ mAP vs reference [95 % interval over people] | verdict |")
    print("|---|---|---|---|---|")
    for name, onnx in rows:
        s = score_encoder(onnx, items, dup)
        c = compare(ref, s)
        verdict = {"better": "better", "worse": "worse", "unclear": "not distinguishable"}.get(
            c.verdict, c.verdict
        )
        delta = f"{c.delta:+.3f} [{c.low:+.3f}, {c.high:+.3f}]"
        print(f"| {name} | {s.rank1:.3f} | {s.mAP:.3f} | {delta} | {verdict} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
