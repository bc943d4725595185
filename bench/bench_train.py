"""Training benchmark on ../shared/data/pku-reid-dev (35 identities trained, 15 held out, seed 0):
start model × recipe → held-out Rank-1 / mAP before and after, epochs, seconds per epoch, plus the
plain CE + triplet reference run from the imported Intel encoder (flips only, every layer trained)
that issue 11 compares every shipped recipe with. One Markdown table, a PNG of mAP against time.

Budget: `--cpu-minutes 16` by default = 8 minutes of 2 otherwise idle cores, counted as this
process's CPU time, so that other work on a shared machine lowers the wall-clock speed but not the
training each row gets. `--minutes` gives a wall-clock budget instead. The load (`os.getloadavg`)
is printed beside every row.

    python bench/bench_train.py [--rows intel:contrastive-compact,intel:reference,…] [--cpu-minutes 16]

Starts: default (the shipped MobileNetV2), osnet (OSNet x0.25, torchreid MSMT17 weights),
intel (person-reid-retail-0267, imported with the app's importer first).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

from reid_desktop.core.training.events import parse_line
from reid_desktop.core.training.recipes import RECIPES

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
PKU = SHARED / "data" / "pku-reid-dev"
MODELS = SHARED / "models"
REFERENCE = "reference"  # plain CE + triplet from the start, flips only, every layer trained
ROWS = [f"{s}:{r}" for s in ("intel", "default", "osnet") for r in RECIPES] + [f"intel:{REFERENCE}"]


def start_args(start: str, work: Path) -> list[str]:
    if start == "default":
        return ["--init", "default"]
    if start == "osnet":
        return ["--init", "osnet_x0_25", "--weights", str(MODELS / "osnet_x0_25_msmt17.pth")]
    if start == "intel":
        dst = work / "intel-imported.onnx"
        if not dst.is_file():
            from reid_desktop.core.encoders.importer import import_model

            import_model(MODELS / "intel-person-reid-retail-0267.onnx", dst)
        return ["--init", str(dst)]
    raise SystemExit(f"unknown start {start!r}")


def recipe_args(recipe: str) -> list[str]:
    if recipe == REFERENCE:
        return ["--recipe", "baseline", "--augment", "flip", "--freeze", "0"]
    return ["--recipe", recipe]


def run(row: str, budget: list[str], out: Path, seed: int, work: Path) -> tuple[list, float]:
    start, recipe = row.split(":")
    cmd = [sys.executable, "-m", "trainer.cli", "--data", str(PKU), *start_args(start, work)]
    cmd += [*recipe_args(recipe), *budget, "--holdout-frac", "0.3", "--seed", str(seed), "--out", str(out)]
    # Idle OpenMP threads sleep instead of spinning, so a CPU-time budget buys training, not waiting.
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    t = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    events = [e for e in (parse_line(x) for x in proc.stdout.splitlines()) if e is not None]
    (out.parent / f"{row.replace(':', '-')}.events.jsonl").write_text(proc.stdout)
    if proc.returncode != 0:
        print(f"{row}: failed ({proc.returncode}) {proc.stderr[-800:]}", file=sys.stderr)
    wall = time.monotonic() - t
    print(f"{row}: {wall:.0f} s wall, load {os.getloadavg()[0]:.1f}", file=sys.stderr)
    return events, wall


def table_row(row: str, events: list, wall: float, load: float) -> str:
    evals = [e for e in events if e.type == "eval"]
    epochs = [e["seconds"] for e in events if e.type == "epoch"]
    done = next((e for e in events if e.type == "done"), None)
    if done is None or not evals:
        err = next((e["message"] for e in events if e.type == "error"), "no result")
        return f"| {row.replace(':', ' | ')} | failed: {err[:80]} | | | | | | |"
    b, a, c = done["before"], done["after"], done["comparison"]
    lo, hi = c["interval"]
    before, after = f"{b['rank1']:.3f} / {b['mAP']:.3f}", f"{a['rank1']:.3f} / {a['mAP']:.3f}"
    delta = f"{c['delta_mAP']:+.3f} [{lo:+.3f}, {hi:+.3f}] {c['verdict']}"
    per_epoch = sum(epochs) / max(1, len(epochs))
    return (
        f"| {row.replace(':', ' | ')} | {before} | {after} | {delta} | {done['best_epoch']} of {len(epochs)} "
        f"| {per_epoch:.0f} | {wall / 60:.1f} | {load:.1f} |"
    )


def plot(results: dict, path: Path) -> None:
    w, h, m = 900, 520, 70
    img = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(img)
    t1 = max((t for pts in results.values() for t, _ in pts), default=60) / 60
    lo = min((v for pts in results.values() for _, v in pts), default=0.0)
    lo = max(0.0, int(lo * 10) / 10)
    d.rectangle([m, 30, w - 30, h - m], outline=(120, 120, 120))
    for i in range(11):
        v = lo + (1 - lo) * i / 10
        y = h - m - (h - m - 30) * i / 10
        d.text((m - 40, y - 6), f"{v:.2f}", fill=(0, 0, 0))
    d.text((w / 2 - 40, h - 30), f"wall time (min, 0-{t1:.0f})", fill=(0, 0, 0))
    d.text((8, 10), "held-out mAP (15 PKU identities) per epoch", fill=(0, 0, 0))
    palette = [(200, 70, 40), (40, 110, 190), (40, 150, 80), (120, 60, 160), (60, 60, 60), (190, 150, 30)]
    for j, (row, pts) in enumerate(results.items()):
        c = palette[j % len(palette)]
        xy = [(m + (w - 30 - m) * (t / 60) / t1, h - m - (h - m - 30) * (v - lo) / (1 - lo)) for t, v in pts]
        if len(xy) > 1:
            d.line(xy, fill=c, width=2)
        d.text((w - 260, 40 + 14 * j), row, fill=c)
    img.save(path)


def main() -> int:
    ap = argparse.ArgumentParser()
    budget = ap.add_mutually_exclusive_group()
    budget.add_argument("--cpu-minutes", type=float, default=16)
    budget.add_argument("--minutes", type=float)
    ap.add_argument("--rows", default=",".join(ROWS), help="start:recipe,… (recipe may be 'reference')")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "train")
    args = ap.parse_args()
    if not PKU.is_dir() or not MODELS.is_dir():
        print("../shared/data/pku-reid-dev or ../shared/models is not present; nothing to measure")
        return 0
    budget = ["--minutes", str(args.minutes)] if args.minutes else ["--cpu-minutes", str(args.cpu_minutes)]
    args.out.mkdir(parents=True, exist_ok=True)
    header = [
        f"budget: {' '.join(budget)}; PKU dev, 35 trained / 15 held out, seed {args.seed}",
        "",
        "| start | recipe | before R1 / mAP | after R1 / mAP | Δ mAP [95 % interval] | best epoch "
        "| s / epoch | wall min | load |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    print("\n".join(header), flush=True)
    rows, curves = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for row in args.rows.split(","):
            run_dir = args.out / f"{row.replace(':', '-')}-{int(time.time())}"
            events, wall = run(row, budget, run_dir, args.seed, Path(tmp))
            line = table_row(row, events, wall, os.getloadavg()[0])
            print(line, flush=True)
            rows.append(line)
            curves[row] = [(e.t, e["mAP"]) for e in events if e.type == "eval"]
            (args.out / "table.md").write_text("\n".join(header + rows) + "\n")
    (args.out / "curves.json").write_text(json.dumps(curves))
    plot(curves, args.out / "map_vs_time.png")
    print(f"table: {args.out / 'table.md'}; plot: {args.out / 'map_vs_time.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
