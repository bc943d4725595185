"""The training loop: P×K batches, recipe losses, held-out evaluation each epoch, best checkpoint,
time or epoch budget, and export of the best model. Emits events (reid_desktop/core/training/events.py)."""

from __future__ import annotations

import logging
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from reid_desktop.core.encoders.contract import Preprocess
from reid_desktop.core.evaluation.evaluate import Labelled
from reid_desktop.core.training import holdout
from reid_desktop.core.training.events import EventWriter
from reid_desktop.core.training.plan import cross_camera_ids
from trainer.dataset import CropCache, PKSampler, augment
from trainer.distributed import Dist
from trainer.recipes import KeyEncoder, Recipe, RecipeLoss

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    recipe: Recipe
    epochs: int | None
    minutes: float | None
    seed: int = 0
    device: str = "cpu"
    bf16: bool = False  # CPU bf16 autocast (GPU always uses fp16 AMP)
    channels_last: bool = False
    step_every: int = 5  # emit a step event every N steps
    eval_batch: int = 64
    warmup_epochs: float = 1.0
    backbone_scale: float = 1.0  # the backbone's learning rate relative to the heads'
    freeze: float = 0.0  # fraction of the backbone's parameters, from the input on, kept fixed
    cpu_clock: bool = False  # the minutes budget counts this process's CPU time, not wall time
    augment: str = "full"  # full: flip + pad-and-crop + random erasing; flip: flips only
    colour: float | None = None  # colour-jitter strength; None: 0.3 when most training people
    # were seen by one camera only (nothing else teaches the net to ignore a camera's colours), else 0


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


SINGLE_CAMERA_JITTER = 0.3
STRIPE_EMBED_DIM = 64  # per stripe after PCA: 8 × 64 = 512-d, as good as 256 per stripe on PKU
STRIPE_FIT_CROPS = 128


@torch.no_grad()
def forward_cached(net, cache: CropCache, device: str, batch: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """(BN global features N×D, stripes N×K×C) of every cached crop, one eval-mode pass, float32:
    the same pixels and arithmetic as the app's encoder runtime on the export."""
    from trainer.networks.reid_net import horizontal_pool

    net.eval()
    bns, stripes = [], []
    for i in range(0, len(cache), batch):
        x = cache.batch(slice(i, i + batch)).to(device)
        fmap, glob = net.features(x)
        bns.append(net.bnneck(glob).float().cpu())
        stripes.append(horizontal_pool(net.stripe_reduce(fmap).float(), net.num_stripes).cpu())
    return torch.cat(bns), torch.cat(stripes)


def fit_stripe_embedding(
    stripes: torch.Tensor, dim: int = STRIPE_EMBED_DIM
) -> tuple[torch.Tensor, torch.Tensor]:
    """Training-crop mean of each stripe (K×C) and a PCA basis (C×dim) of the centred stripes."""
    mean = stripes.mean(dim=0)
    centred = (stripes - mean).reshape(-1, stripes.shape[2])
    _, _, vh = torch.linalg.svd(centred, full_matrices=False)
    return mean, vh[: min(dim, vh.shape[0])].T.contiguous()


def stripe_features(stripes: torch.Tensor, mean: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """ReIDNet.embedding's stripe embedding, from pooled stripes (unit norm)."""
    s = nn.functional.normalize((stripes - mean) @ basis, dim=2)
    return s.flatten(1) / math.sqrt(stripes.shape[1])


class HoldoutEvaluator:
    """Scores a network on the held-out people with `core.training.holdout` (cross-camera where a
    person was seen in two cameras, else within the camera without near-duplicates), with the
    global feature and with the stripe embedding; the better of the two is reported. Crops are
    decoded once; each evaluation is one forward pass over the held-out and the stripe-fit crops."""

    def __init__(self, hold: list[Labelled], fit: list[Labelled], p: Preprocess, device: str) -> None:
        self.hold, self.device = hold, device
        self.cache = CropCache(hold, p)
        self.fit = CropCache(fit, p) if fit else None
        imgs = [to_pil(x) for x in self.cache.images]
        self.dup = holdout.near_duplicates(hold, holdout.thumbnails(imgs))

    def __call__(self, net) -> dict:
        bn, st = forward_cached(net, self.cache, self.device)
        g = holdout.score(nn.functional.normalize(bn, dim=1).numpy(), self.hold, self.dup)
        out = {**g.public(), "embedding": "global", "mAP_global": g.mAP, "stripe_fit": None, "_score": g}
        if self.fit is not None:
            _, fit_st = forward_cached(net, self.fit, self.device)
            mean, basis = fit_stripe_embedding(fit_st)
            s = holdout.score(stripe_features(st, mean, basis).numpy(), self.hold, self.dup)
            out["mAP_stripes"] = s.mAP
            if s.mAP > g.mAP:
                out.update(s.public(), embedding="stripes", stripe_fit=(mean, basis), _score=s)
        return out


def to_pil(chw: torch.Tensor):
    from PIL import Image

    return Image.fromarray(chw.permute(1, 2, 0).numpy())


def _public(m: dict) -> dict:
    return {k: v for k, v in m.items() if k not in ("stripe_fit", "_score")}


def better(m: dict, best: dict | None) -> bool:
    """Selection among trained epochs: higher held-out mAP, then mINP; a tie goes to the later
    epoch (more training, same evidence). The untrained start is never a candidate: an empty or
    saturated held-out set would otherwise keep it and export the untrained weights."""
    if best is None:
        return True
    return (m["mAP"], m["mINP"]) >= (best["mAP"], best["mINP"])


class LRSchedule:
    """Linear warm-up then cosine decay over the budget: time fraction with --minutes, else epochs."""

    def __init__(self, base: float, warmup: float, total: float) -> None:
        self.base, self.warmup, self.total = base, warmup, max(total, 1e-9)

    def __call__(self, progress: float) -> float:
        if progress < self.warmup:
            return self.base * (0.1 + 0.9 * progress / self.warmup)
        frac = min(1.0, (progress - self.warmup) / max(self.total - self.warmup, 1e-9))
        return self.base * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * frac)))


def freeze_early(backbone: nn.Module, frac: float) -> int:
    """Keep the first `frac` of the backbone's parameters (in graph order: the high-resolution early
    layers) fixed; returns how many tensors were frozen. Backpropagating through those layers is
    most of a step's cost (Intel encoder, batch 32, bf16: 3.75 CPU-s per step with all layers
    training, 1.44 with the first 30 % fixed: bench/bench_cpu_modes.py), and a start that already
    knows re-ID needs its early filters least."""
    params = list(backbone.parameters())
    n = int(len(params) * frac)
    for q in params[:n]:
        q.requires_grad_(False)
    return n


def param_groups(net: nn.Module, loss_fn: nn.Module, lr: float, backbone_scale: float) -> list[dict]:
    """The backbone at `backbone_scale` × lr (a start that already knows re-ID learns gently), the
    heads and the losses' own parameters at lr."""
    backbone = [q for q in net.backbone.parameters() if q.requires_grad]
    ids = {id(q) for q in backbone}
    heads = [
        q for q in list(net.parameters()) + list(loss_fn.parameters()) if q.requires_grad and id(q) not in ids
    ]
    return [
        {"params": backbone, "lr": lr * backbone_scale, "scale": backbone_scale},
        {"params": heads, "lr": lr, "scale": 1.0},
    ]


def train(
    model: nn.Module,
    train_items: list[Labelled],
    hold: list[Labelled],
    p: Preprocess,
    cfg: TrainConfig,
    events: EventWriter,
    dist: Dist,
    best_path: Path,
    hard_pairs: dict[str, set[str]] | None = None,
) -> dict:
    """Train in place; returns {"before", "after", "best_epoch", "history", "comparison", …}; the
    best trained epoch's weights are saved to best_path (a plain state_dict)."""
    seed_everything(cfg.seed + dist.rank)
    device = cfg.device
    recipe = cfg.recipe
    labels = {pid: i for i, pid in enumerate(sorted({s.pid for s in train_items}))}
    net = model.module if hasattr(model, "module") else model
    net.set_stripe_embedding(None, None)  # a start's stripe embedding is refitted each epoch
    frozen = freeze_early(net.backbone, cfg.freeze)
    net.classifier = nn.Linear(net.embed_dim, len(labels), bias=False)
    nn.init.normal_(net.classifier.weight, std=0.001)
    if recipe.two_views and net.proj is None:  # e.g. the default encoder ships without one
        d, hidden = net.embed_dim, min(max(net.embed_dim, 128), 2048)
        net.proj = nn.Sequential(
            nn.Linear(d, hidden), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True), nn.Linear(hidden, 128)
        )
    net.to(device)
    if cfg.channels_last:
        net.to(memory_format=torch.channels_last)
    loss_fn = RecipeLoss(
        recipe,
        len(labels),
        net.embed_dim,
        net.stripe_dim,
        net.proj[-1].out_features if net.proj is not None else 0,
    ).to(device)
    train_model = dist.wrap(net)
    key = KeyEncoder(net) if recipe.two_views else None
    opt = torch.optim.Adam(param_groups(net, loss_fn, recipe.lr, cfg.backbone_scale), weight_decay=5e-4)
    scaler = torch.amp.GradScaler("cuda", enabled=device.startswith("cuda"))  # fp16 AMP on GPU
    crops = CropCache(train_items, p)  # decoded once; batches are sliced from it
    colour = cfg.colour
    if colour is None:
        colour = SINGLE_CAMERA_JITTER if cross_camera_ids(train_items) * 2 < len(labels) else 0.0
    label_of = torch.tensor([labels[s.pid] for s in train_items])
    gen = torch.Generator().manual_seed(cfg.seed * 7919 + dist.rank)
    sampler = PKSampler(
        train_items, recipe.p, recipe.k, seed=cfg.seed * 31 + dist.rank, hard_pairs=hard_pairs
    )
    steps_per_epoch = len(sampler)
    budget_s = cfg.minutes * 60 if cfg.minutes else None
    clock = time.process_time if cfg.cpu_clock else time.monotonic
    total_epochs = cfg.epochs or 10_000
    sched = LRSchedule(
        recipe.lr,
        cfg.warmup_epochs if budget_s is None else 0.05,
        float(total_epochs) if budget_s is None else 1.0,
    )

    def view(idx: list[int]) -> torch.Tensor:
        x, erase = augment(crops.images[idx], gen, flip_only=cfg.augment == "flip", colour=colour)
        x = crops.normalise(x).masked_fill(erase, 0.0)
        if cfg.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x.to(device)

    fit_sample = random.Random(cfg.seed).sample(train_items, min(STRIPE_FIT_CROPS, len(train_items)))
    evaluator = HoldoutEvaluator(hold, fit_sample, p, device) if dist.is_main else None
    before = evaluator(net) if evaluator else {}
    if dist.is_main:
        events.emit("eval", epoch=0, **_public(before))
    best: dict | None = None
    history = [dict(_public(before), epoch=0)]
    t0, w0 = clock(), time.monotonic()
    epoch = 0
    while epoch < total_epochs:
        epoch += 1
        sampler.set_epoch(epoch)
        train_model.train()
        te = time.monotonic()
        for step, idx in enumerate(sampler, 1):
            elapsed = clock() - t0
            progress = elapsed / budget_s if budget_s else (epoch - 1 + step / steps_per_epoch)
            lr = sched(progress)
            for g in opt.param_groups:
                g["lr"] = lr * g["scale"]
            x, y = view(idx), label_of[idx].to(device)
            amp_dtype = torch.float16 if device.startswith("cuda") else torch.bfloat16
            with torch.autocast(
                device.split(":")[0], dtype=amp_dtype, enabled=cfg.bf16 or device.startswith("cuda")
            ):
                out = train_model(x)
                key_out = key(view(idx)) if key is not None else None
                loss, terms = loss_fn(out, y, key_out)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            if key is not None:
                key.update(net)
            # The first step too: the live loss chart has a point before step_every steps pass.
            if dist.is_main and (step == 1 or step % cfg.step_every == 0 or step == steps_per_epoch):
                events.emit(
                    "step",
                    epoch=epoch,
                    step=step,
                    steps=steps_per_epoch,
                    loss=round(loss.item(), 5),
                    terms={k: round(v, 5) for k, v in terms.items()},
                    lr=lr,
                )
            if budget_s and clock() - t0 > budget_s:
                break
        dist.barrier()
        secs = time.monotonic() - te
        out_of_time = bool(budget_s and clock() - t0 > budget_s)
        if dist.is_main:
            wall = time.monotonic() - w0
            per_epoch = wall / epoch
            used = clock() - t0
            eta = (
                (budget_s - used) * wall / max(used, 1e-9) if budget_s else per_epoch * (total_epochs - epoch)
            )
            events.emit(
                "epoch",
                epoch=epoch,
                epochs=cfg.epochs,
                seconds=round(secs, 2),
                eta_seconds=round(max(0.0, eta), 1),
            )
            tv = time.monotonic()
            m = evaluator(net)
            m["eval_seconds"] = round(time.monotonic() - tv, 2)
            history.append(dict(_public(m), epoch=epoch))
            events.emit("eval", epoch=epoch, **_public(m))
            improved = better(m, best)
            if improved:
                best = dict(m, epoch=epoch)
                torch.save({"state": net.state_dict(), "stripe_fit": m["stripe_fit"]}, best_path)
            events.emit("checkpoint", epoch=epoch, path=str(best_path), mAP=m["mAP"], best=improved)
        if dist.should_stop(out_of_time):
            break
    if not dist.is_main:  # other ranks only trained; rank 0 evaluated and holds the results
        return {
            "before": {},
            "after": {},
            "best_epoch": 0,
            "history": [],
            "epochs_run": epoch,
            "seconds": time.monotonic() - w0,
        }
    assert best is not None  # at least one epoch always runs
    comparison = holdout.compare(before["_score"], best["_score"])
    keys = ("rank1", "rank5", "mAP", "mINP", "embedding", "queries", "holdout_ids", "protocol")
    lo, hi = holdout.interval(best["_score"])
    return {
        "before": {k: before[k] for k in keys},
        "after": {**{k: best[k] for k in keys}, "mAP_interval": [lo, hi]},
        "best_epoch": best["epoch"],
        "history": history,
        "epochs_run": epoch,
        "seconds": time.monotonic() - w0,
        "cpu_seconds": time.process_time(),
        "frozen_parameters": frozen,
        "colour_jitter": colour,
        "comparison": comparison.as_dict(),
    }
