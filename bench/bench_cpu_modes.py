"""CPU cost of one training epoch on the PKU dev split (560 training crops = 17 P×K batches of 32,
240 held-out crops + 128 stripe-fit crops scored after the epoch), before and after issue 11's
speed-ups, measured in one run as process CPU seconds (robust to other work on a shared machine):

- data: per-step decoding/resizing with torchvision transforms per crop (before) against crops
  decoded and resized once into a uint8 cache, augmented as a batch (after);
- held-out scoring: three passes that decode every crop from disk again (global, stripe fit,
  stripes; before) against one pass over cached crops plus the fit pass (after);
- the step itself: fp32 NCHW against bf16 + channels-last (the trainer's CPU defaults), and for a
  start that already knows re-ID (the imported Intel encoder, when ../shared/models is present)
  every layer trained against the first 30 % of backbone parameters kept fixed.

    python bench/bench_cpu_modes.py [--steps 3]
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import sys
import time
from pathlib import Path

import torch
from torchvision.transforms import v2 as T

from reid_desktop.core.encoders.contract import Preprocess
from reid_desktop.core.evaluation.evaluate import Labelled
from reid_desktop.core.imaging import load_rgb
from reid_desktop.resources import resource
from trainer.dataset import CropCache, app_tensor, augment
from trainer.export import load_checkpoint
from trainer.train_loop import freeze_early

ROOT = Path(__file__).resolve().parents[1]
PKU = ROOT.parent / "shared" / "data" / "pku-reid-dev"
INTEL = ROOT.parent / "shared" / "models" / "intel-person-reid-retail-0267.onnx"
STEPS, HOLD, FIT, BATCH = 17, 240, 128, 32


def cpu(fn, repeat: int) -> float:
    """Median process CPU seconds of fn() over `repeat` runs (after one warm-up)."""
    fn()
    times = []
    for _ in range(repeat):
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return statistics.median(times)


def items() -> list[Labelled]:
    rows = list(csv.DictReader((PKU / "ground_truth.csv").open()))
    return [Labelled(PKU / r["file"], r["person_id"], r["camera"]) for r in rows]


def old_transform(p: Preprocess) -> T.Compose:
    """The trainer's per-crop pipeline before issue 11 (torchvision v2 on a decoded PIL image)."""
    pad = max(4, p.height // 25)
    mean, std = torch.tensor(p.mean).view(3, 1, 1), torch.tensor(p.std).view(3, 1, 1)
    return T.Compose(
        [
            T.ToImage(),
            T.Resize((p.height, p.width), antialias=True),
            T.RandomHorizontalFlip(),
            T.Pad(pad, padding_mode="edge"),
            T.RandomCrop((p.height, p.width)),
            T.ToDtype(torch.float32, scale=False),
            T.Lambda(lambda x: (x / p.scale - mean) / std),
            T.RandomErasing(p=0.5, value=0.0),
        ]
    )


def step_fn(model, bf16: bool, cl: bool):
    x = torch.randn(BATCH, 3, 256, 128)
    if cl:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.Adam([q for q in model.parameters() if q.requires_grad], lr=1e-5)

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = model(x)
            loss = out["bn"].float().pow(2).mean() + out["stripes"].float().pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


@torch.no_grad()
def old_eval(model, hold, fit, p) -> None:
    model.eval()
    for group in (hold, fit, hold):  # global pass, stripe fit, stripe pass; decoded from disk each time
        for i in range(0, len(group), 64):
            model(torch.from_numpy(app_tensor(group[i : i + 64], p)))


@torch.no_grad()
def new_eval(model, hold_cache, fit_cache) -> None:
    model.eval()
    for cache in (hold_cache, fit_cache):
        for i in range(0, len(cache), 64):
            model.features(cache.batch(slice(i, i + 64)))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=3, help="timed repeats of each part")
    args = ap.parse_args()
    if not PKU.is_dir():
        print("../shared/data/pku-reid-dev is not present; nothing to measure")
        return 0
    torch.manual_seed(0)
    p = Preprocess()
    data = items()
    rng = random.Random(0)
    train, hold, fit = data[:560], data[560:800], rng.sample(data[:560], FIT)
    model = load_checkpoint(resource("models", "default-mnv2.pt"))

    pil = [load_rgb(s.path) for s in train]  # the old dataset cached decoded PIL images
    tf = old_transform(p)
    batch_idx = list(range(BATCH))
    data_old = cpu(lambda: torch.stack([tf(pil[i]) for i in batch_idx]), args.steps)
    cache = CropCache(train, p)
    gen = torch.Generator().manual_seed(0)

    def new_batch():
        x, mask = augment(cache.images[batch_idx], gen)
        return cache.normalise(x).masked_fill(mask, 0.0)

    data_new = cpu(new_batch, args.steps)
    hold_cache, fit_cache = CropCache(hold, p), CropCache(fit, p)
    eval_old = cpu(lambda: old_eval(model, hold, fit, p), 1)
    eval_new = cpu(lambda: new_eval(model, hold_cache, fit_cache), 1)
    fp32 = cpu(
        step_fn(load_checkpoint(resource("models", "default-mnv2.pt")).train(), False, False), args.steps
    )
    fast = cpu(
        step_fn(load_checkpoint(resource("models", "default-mnv2.pt")).train(), True, True), args.steps
    )

    print(f"default encoder (MobileNetV2), batch {BATCH}, CPU seconds (process time, all threads):")
    print(
        f"  data per batch      before {data_old:6.3f}  after {data_new:6.3f}  ({data_old / data_new:.1f}x)"
    )
    print(
        f"  held-out scoring    before {eval_old:6.2f}  after {eval_new:6.2f}  ({eval_old / eval_new:.1f}x)"
    )
    print(f"  step fp32 NCHW {fp32:6.2f}   bf16 channels-last {fast:6.2f}  ({fp32 / fast:.1f}x)")
    before = STEPS * (data_old + fast) + eval_old
    after = STEPS * (data_new + fast) + eval_new
    print(f"  epoch (17 steps + scoring): before {before:6.1f}  after {after:6.1f}  ({before / after:.2f}x)")
    if INTEL.is_file():
        import tempfile

        from reid_desktop.core.encoders.importer import import_model
        from trainer.networks.reid_net import ONNX_BACKBONE, ReIDNet

        with tempfile.TemporaryDirectory() as tmp:
            dst = Path(tmp) / "intel.onnx"
            import_model(INTEL, dst)
            graph = dst.read_bytes()

        def intel(freeze: float):
            net = ReIDNet(ONNX_BACKBONE, graph=graph, stripe_dim=0, proj_dim=0).train()
            freeze_early(net.backbone, freeze)
            return step_fn(net, True, True)

        full, frozen = cpu(intel(0.0), args.steps), cpu(intel(0.3), args.steps)
        print("imported Intel encoder, bf16 channels-last step:")
        print(f"  every layer trained {full:6.2f}   first 30 % fixed {frozen:6.2f}  ({full / frozen:.1f}x)")
        b, a = STEPS * (data_old + full), STEPS * (data_new + frozen)
        print(f"  17 steps with their data: before {b:6.1f}  after {a:6.1f}  ({b / a:.1f}x, without scoring)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
