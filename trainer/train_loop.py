"""The training loop: P×K batches, recipe losses, held-out evaluation each epoch, best checkpoint,
time or epoch budget, and export of the best model. Emits events (trainer/events.py)."""

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
from torch.utils.data import DataLoader

from reid_desktop.core.encoders.contract import Preprocess
from reid_desktop.core.evaluation.evaluate import Labelled, protocol_metrics
from reid_desktop.core.training.events import EventWriter
from trainer.dataset import CropDataset, PKSampler, app_tensor, train_transform
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


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@torch.no_grad()
def extract(
    model: nn.Module, items: list[Labelled], p: Preprocess, device: str, batch: int = 64
) -> np.ndarray:
    """L2-normalised global (BNNeck) embeddings, computed exactly as the app's encoder runtime does
    (same decoding and pixel pipeline), so `reid eval` on the export agrees with these figures."""
    model.eval()
    feats = []
    for i in range(0, len(items), batch):
        x = torch.from_numpy(app_tensor(items[i : i + batch], p)).to(device)
        g, _ = model(x)
        feats.append(nn.functional.normalize(g.float(), dim=1).cpu().numpy())
    return np.concatenate(feats)


STRIPE_EMBED_DIM = 64  # per stripe after PCA: 8 × 64 = 512-d, as good as 256 per stripe on PKU
STRIPE_FIT_CROPS = 128


@torch.no_grad()
def fit_stripe_embedding(
    net, sample: list[Labelled], p: Preprocess, device: str, dim: int = STRIPE_EMBED_DIM
) -> tuple[torch.Tensor, torch.Tensor]:
    """Training-crop mean of each stripe (K×C) and a PCA basis (C×dim) of the centred stripes."""
    from trainer.networks.reid_net import horizontal_pool

    net.eval()
    stripes = []
    for i in range(0, len(sample), 64):
        x = torch.from_numpy(app_tensor(sample[i : i + 64], p)).to(device)
        _, smap = net(x)
        stripes.append(horizontal_pool(smap.float(), net.num_stripes))
    s = torch.cat(stripes)  # N×K×C
    mean = s.mean(dim=0)
    centred = (s - mean).reshape(-1, s.shape[2])
    _, _, vh = torch.linalg.svd(centred, full_matrices=False)
    return mean.cpu(), vh[: min(dim, vh.shape[0])].T.contiguous().cpu()


def evaluate_holdout(
    net, hold: list[Labelled], p: Preprocess, device: str, fit_sample: list[Labelled] | None = None
) -> dict:
    """Held-out metrics of the global feature and (with a fit sample) of the stripe embedding; the
    reported figures are the better of the two, `embedding` says which. The net is left on the
    global feature; `stripe_fit` holds what the stripe embedding needs when it won."""
    net.set_stripe_embedding(None, None)
    g, _ = protocol_metrics(extract(net, hold, p, device), hold)
    out = {
        "rank1": g.rank1,
        "rank5": g.rank5,
        "mAP": g.mAP,
        "mINP": g.mINP,
        "embedding": "global",
        "mAP_global": g.mAP,
        "stripe_fit": None,
    }
    if fit_sample:
        mean, basis = fit_stripe_embedding(net, fit_sample, p, device)
        net.set_stripe_embedding(mean, basis)
        st, _ = protocol_metrics(extract(net, hold, p, device), hold)
        net.set_stripe_embedding(None, None)
        out["mAP_stripes"] = st.mAP
        if st.mAP > g.mAP:
            out.update(
                rank1=st.rank1,
                rank5=st.rank5,
                mAP=st.mAP,
                mINP=st.mINP,
                embedding="stripes",
                stripe_fit=(mean, basis),
            )
    return out


def _public(m: dict) -> dict:
    return {k: v for k, v in m.items() if k != "stripe_fit"}


class LRSchedule:
    """Linear warm-up then cosine decay over the budget: time fraction with --minutes, else epochs."""

    def __init__(self, base: float, warmup: float, total: float) -> None:
        self.base, self.warmup, self.total = base, warmup, max(total, 1e-9)

    def __call__(self, progress: float) -> float:
        if progress < self.warmup:
            return self.base * (0.1 + 0.9 * progress / self.warmup)
        frac = min(1.0, (progress - self.warmup) / max(self.total - self.warmup, 1e-9))
        return self.base * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * frac)))


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
    """Train in place; returns {"before", "after", "best_epoch", "history"}; best weights saved to
    best_path (a plain state_dict) whenever held-out mAP improves."""
    seed_everything(cfg.seed + dist.rank)
    device = cfg.device
    recipe = cfg.recipe
    labels = {pid: i for i, pid in enumerate(sorted({s.pid for s in train_items}))}
    net = model.module if hasattr(model, "module") else model
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
    params = [q for q in list(net.parameters()) + list(loss_fn.parameters()) if q.requires_grad]
    opt = torch.optim.Adam(params, lr=recipe.lr, weight_decay=5e-4)
    scaler = torch.amp.GradScaler("cuda", enabled=device.startswith("cuda"))  # fp16 AMP on GPU
    ds = CropDataset(train_items, train_transform(p), labels, views=2 if key is not None else 1)
    sampler = PKSampler(
        train_items, recipe.p, recipe.k, seed=cfg.seed * 31 + dist.rank, hard_pairs=hard_pairs
    )
    loader = DataLoader(ds, batch_sampler=sampler, num_workers=0)
    steps_per_epoch = len(sampler)
    budget_s = cfg.minutes * 60 if cfg.minutes else None
    total_epochs = cfg.epochs or 10_000
    sched = LRSchedule(
        recipe.lr,
        cfg.warmup_epochs if budget_s is None else 0.05,
        float(total_epochs) if budget_s is None else 1.0,
    )

    fit_sample = random.Random(cfg.seed).sample(train_items, min(STRIPE_FIT_CROPS, len(train_items)))
    before = evaluate_holdout(net, hold, p, device, fit_sample) if dist.is_main else {}
    if dist.is_main:
        events.emit("eval", epoch=0, **_public(before))
        torch.save({"state": net.state_dict(), "stripe_fit": before["stripe_fit"]}, best_path)
    best = dict(before, epoch=0)
    history = [dict(_public(before), epoch=0)]
    t0 = time.monotonic()
    epoch = 0
    while epoch < total_epochs:
        epoch += 1
        sampler.set_epoch(epoch)
        train_model.train()
        te = time.monotonic()
        for step, batch in enumerate(loader, 1):
            x, x2, y = (batch[0], batch[1], batch[2]) if key is not None else (batch[0], None, batch[1])
            elapsed = time.monotonic() - t0
            progress = elapsed / budget_s if budget_s else (epoch - 1 + step / steps_per_epoch)
            for g in opt.param_groups:
                g["lr"] = sched(progress)
            x, y = x.to(device), y.to(device)
            if cfg.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            amp_dtype = torch.float16 if device.startswith("cuda") else torch.bfloat16
            with torch.autocast(
                device.split(":")[0], dtype=amp_dtype, enabled=cfg.bf16 or device.startswith("cuda")
            ):
                out = train_model(x)
                key_out = None
                if key is not None:
                    key_out = key(x2.to(device))
                loss, terms = loss_fn(out, y, key_out)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            if key is not None:
                key.update(net)
            if dist.is_main and (step % cfg.step_every == 0 or step == steps_per_epoch):
                events.emit(
                    "step",
                    epoch=epoch,
                    step=step,
                    steps=steps_per_epoch,
                    loss=round(loss.item(), 5),
                    terms={k: round(v, 5) for k, v in terms.items()},
                    lr=opt.param_groups[0]["lr"],
                )
            if budget_s and time.monotonic() - t0 > budget_s:
                break
        dist.barrier()
        secs = time.monotonic() - te
        out_of_time = bool(budget_s and time.monotonic() - t0 > budget_s)
        if dist.is_main:
            per_epoch = (time.monotonic() - t0) / epoch
            eta = (budget_s - (time.monotonic() - t0)) if budget_s else per_epoch * (total_epochs - epoch)
            events.emit(
                "epoch",
                epoch=epoch,
                epochs=cfg.epochs,
                seconds=round(secs, 2),
                eta_seconds=round(max(0.0, eta), 1),
            )
            m = evaluate_holdout(net, hold, p, device, fit_sample)
            history.append(dict(_public(m), epoch=epoch))
            events.emit("eval", epoch=epoch, **_public(m))
            improved = m["mAP"] > best["mAP"]
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
            "seconds": time.monotonic() - t0,
        }
    keys = ("rank1", "rank5", "mAP", "mINP", "embedding")
    return {
        "before": {k: before[k] for k in keys},
        "after": {k: best[k] for k in keys},
        "best_epoch": best["epoch"],
        "history": history,
        "epochs_run": epoch,
        "seconds": time.monotonic() - t0,
    }
