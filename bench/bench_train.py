"""Training benchmark: each recipe fine-tunes the default encoder on ../shared/data/pku-reid-dev
(35 identities trained, 15 held out, fixed seed) under a wall-clock budget. Prints held-out mAP
against wall time per recipe, seconds per epoch, and writes a table (Markdown) and a PNG plot.

    python bench/bench_train.py [--minutes 10] [--recipes baseline,contrastive,inherent,cosine-slice]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image, ImageDraw

from reid_desktop.core.training.events import parse_line

ROOT = Path(__file__).resolve().parents[1]
PKU = ROOT.parent / "shared" / "data" / "pku-reid-dev"
COLOURS = {
    "baseline": (60, 60, 60),
    "contrastive": (200, 70, 40),
    "inherent": (40, 110, 190),
    "cosine-slice": (40, 150, 80),
}


def run(recipe: str, minutes: float, out: Path, seed: int) -> list:
    cmd = [
        sys.executable,
        "-m",
        "trainer.cli",
        "--data",
        str(PKU),
        "--init",
        "default",
        "--recipe",
        recipe,
        "--minutes",
        str(minutes),
        "--holdout-frac",
        "0.3",
        "--seed",
        str(seed),
        "--out",
        str(out),
    ]
    t = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    events = [e for e in (parse_line(x) for x in proc.stdout.splitlines()) if e is not None]
    (out.parent / f"{recipe}.events.jsonl").write_text(proc.stdout)
    if proc.returncode != 0:
        print(f"{recipe}: failed ({proc.returncode}) {proc.stderr[-800:]}", file=sys.stderr)
    print(f"{recipe}: {time.monotonic() - t:.0f} s wall", file=sys.stderr)
    return events


def plot(results: dict, path: Path, minutes: float) -> None:
    w, h, m = 900, 520, 70
    img = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(img)
    d.rectangle([m, 30, w - 30, h - m], outline=(120, 120, 120))
    for i in range(11):
        y = h - m - (h - m - 30) * i / 10
        d.line([m - 4, y, m, y], fill=(120, 120, 120))
        d.text((m - 40, y - 6), f"{i / 10:.1f}", fill=(0, 0, 0))
    for i in range(int(minutes) + 1):
        x = m + (w - 30 - m) * i / minutes
        d.line([x, h - m, x, h - m + 4], fill=(120, 120, 120))
        d.text((x - 4, h - m + 8), str(i), fill=(0, 0, 0))
    d.text((w / 2 - 40, h - 30), "wall time (min)", fill=(0, 0, 0))
    d.text((8, 10), "held-out mAP (15 PKU identities), fine-tuning the default encoder", fill=(0, 0, 0))
    for j, (recipe, pts) in enumerate(results.items()):
        c = COLOURS.get(recipe, (0, 0, 0))
        xy = [(m + (w - 30 - m) * min(t / 60, minutes) / minutes, h - m - (h - m - 30) * v) for t, v in pts]
        if len(xy) > 1:
            d.line(xy, fill=c, width=3)
        for x, y in xy:
            d.ellipse([x - 3, y - 3, x + 3, y + 3], fill=c)
        d.line([w - 210, 46 + 16 * j, w - 194, 46 + 16 * j], fill=c, width=3)
        d.text((w - 188, 40 + 16 * j), recipe, fill=c)
    img.save(path)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--recipes", default="baseline,contrastive,inherent,cosine-slice")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "train")
    args = ap.parse_args()
    if not PKU.is_dir():
        print("../shared/data/pku-reid-dev is not present; nothing to measure")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    results, rows = {}, []
    for recipe in args.recipes.split(","):
        run_dir = args.out / f"{recipe}-{int(time.time())}"
        events = run(recipe, args.minutes, run_dir, args.seed)
        evals = [(e.t, e["mAP"], e["rank1"], e["epoch"]) for e in events if e.type == "eval"]
        epochs = [e["seconds"] for e in events if e.type == "epoch"]
        results[recipe] = [(t, v) for t, v, _, _ in evals]
        done = next((e for e in events if e.type == "done"), None)
        if done is None or not evals:
            rows.append(f"| {recipe} | failed | | | | | |")
            continue
        b, a = done["before"], done["after"]
        rows.append(
            f"| {recipe} | {b['rank1']:.3f} / {b['mAP']:.3f} | {a['rank1']:.3f} / {a['mAP']:.3f} | "
            f"{a.get('embedding', 'global')} | "
            f"{done['best_epoch']} of {len(epochs)} | {sum(epochs) / max(1, len(epochs)):.0f} | "
            f"{max(t for t, *_ in evals) / 60:.1f} |"
        )
    table = [
        "| recipe | before R1 / mAP | after R1 / mAP | embedding | best epoch | s / epoch | minutes |",
        "|---|---|---|---|---|---|---|",
        *rows,
    ]
    print("\n".join(table))
    (args.out / "table.md").write_text("\n".join(table) + "\n")
    (args.out / "curves.json").write_text(json.dumps(results))
    plot(results, args.out / "map_vs_time.png", args.minutes)
    print(f"plot: {args.out / 'map_vs_time.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
