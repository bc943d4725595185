"""The decoded-once crop cache, batched augmentation (flip, pad-and-crop, random erasing) and
P×K identity sampling."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Sampler

from reid_desktop.core.encoders.contract import Preprocess
from reid_desktop.core.encoders.preprocess import to_tensor
from reid_desktop.core.evaluation.evaluate import Labelled
from reid_desktop.core.imaging import load_rgb


class CropCache:
    """Every crop decoded and resized once, as uint8 N×3×H×W (RGB), with the app's own decoder and
    resize (PIL bilinear, `core.encoders.preprocess.to_tensor`), so training, held-out scoring and
    the exported encoder all see the same pixels. The dev crops are small (48×128): 800 of them
    take 79 MB at 256×128. Decoding per step instead cost most of an epoch's CPU time
    (bench/bench_train.py measures both)."""

    def __init__(self, items: list[Labelled], p: Preprocess) -> None:
        self.p = p
        self.images = torch.empty((len(items), 3, p.height, p.width), dtype=torch.uint8)
        for i, s in enumerate(items):
            img = load_rgb(s.path)
            if img.mode != "RGB":
                img = img.convert("RGB")
            if img.size != (p.width, p.height):
                img = img.resize((p.width, p.height), Image.BILINEAR)
            self.images[i] = torch.from_numpy(np.asarray(img, dtype=np.uint8).transpose(2, 0, 1).copy())
        mean = torch.tensor(p.mean, dtype=torch.float32).view(1, 3, 1, 1)
        std = torch.tensor(p.std, dtype=torch.float32).view(1, 3, 1, 1)
        self._scale, self._mean, self._std = float(p.scale), mean, std

    def __len__(self) -> int:
        return len(self.images)

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        """uint8 RGB batch → the encoder contract's float input: (pixel / scale − mean) / std."""
        x = x.float()
        if not self.p.rgb:
            x = x.flip(1)
        return (x / self._scale - self._mean.to(x.device)) / self._std.to(x.device)

    def batch(self, idx: list[int] | slice) -> torch.Tensor:
        """Un-augmented model input for these crops (evaluation, export parity)."""
        return self.normalise(self.images[idx])


def colour_jitter(x: torch.Tensor, gen: torch.Generator, strength: float) -> torch.Tensor:
    """Per crop, random brightness, contrast and saturation factors in [1 − s, 1 + s] on a uint8
    batch: another camera's exposure and white balance, for identities seen by one camera only."""
    n = x.shape[0]

    def factor() -> torch.Tensor:
        return (1 + (torch.rand(n, generator=gen) * 2 - 1) * strength).view(n, 1, 1, 1)

    xf = x.float() * factor()
    mean = xf.mean(dim=(1, 2, 3), keepdim=True)
    xf = (xf - mean) * factor() + mean
    grey = (0.299 * xf[:, :1] + 0.587 * xf[:, 1:2] + 0.114 * xf[:, 2:3]).expand_as(xf)
    xf = (xf - grey) * factor() + grey
    return xf.clamp(0, 255).round().to(torch.uint8)


def augment(
    x: torch.Tensor,
    gen: torch.Generator,
    *,
    erase: float = 0.5,
    flip_only: bool = False,
    colour: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Training augmentation of a uint8 N×3×H×W batch, per crop: horizontal flip (p 0.5), edge
    padding by H/25 then a random crop back to H×W, and random erasing (p `erase`, 2–40 % of the
    area, aspect 0.3–3.3, filled with 0 after normalisation, so done by the caller's mask).
    Returns (augmented uint8 batch, erase mask N×1×H×W bool). `flip_only` stops after the flip;
    `colour` > 0 adds `colour_jitter` of that strength first."""
    n, _, h, w = x.shape
    if colour > 0:
        x = colour_jitter(x, gen, colour)
    pad = max(4, h // 25)
    flip = torch.rand(n, generator=gen) < 0.5
    x = torch.where(flip.view(n, 1, 1, 1), x.flip(3), x)
    if flip_only:
        return x, torch.zeros((n, 1, h, w), dtype=torch.bool)
    padded = torch.nn.functional.pad(x.float(), (pad, pad, pad, pad), mode="replicate").to(torch.uint8)
    oy = torch.randint(0, 2 * pad + 1, (n,), generator=gen).tolist()
    ox = torch.randint(0, 2 * pad + 1, (n,), generator=gen).tolist()
    out = torch.stack([padded[i, :, oy[i] : oy[i] + h, ox[i] : ox[i] + w] for i in range(n)])
    mask = torch.zeros((n, 1, h, w), dtype=torch.bool)
    for i in range(n):
        if torch.rand((), generator=gen) >= erase:
            continue
        for _ in range(10):  # torchvision's RandomErasing: retry until the rectangle fits
            area = h * w * float(torch.empty(()).uniform_(0.02, 0.4, generator=gen))
            ratio = math.exp(float(torch.empty(()).uniform_(math.log(0.3), math.log(3.3), generator=gen)))
            eh, ew = round(math.sqrt(area * ratio)), round(math.sqrt(area / ratio))
            if eh < h and ew < w:
                y0 = int(torch.randint(0, h - eh + 1, (), generator=gen))
                x0 = int(torch.randint(0, w - ew + 1, (), generator=gen))
                mask[i, :, y0 : y0 + eh, x0 : x0 + ew] = True
                break
    return out, mask


def app_tensor(items: list[Labelled], p: Preprocess):
    """N×3×H×W float32 numpy batch through the app's own decoder and pixel pipeline."""
    return to_tensor([load_rgb(s.path) for s in items], p)


class PKSampler(Sampler[list[int]]):
    """Batches of P identities × K crops each (with replacement when an identity has fewer).

    `hard_pairs` (identity pairs an operator declared different) are put in the same batch when
    one of them is drawn, so the batch-level losses see those confusable people side by side.
    """

    def __init__(
        self,
        samples: list[Labelled],
        p: int,
        k: int,
        seed: int = 0,
        hard_pairs: dict[str, set[str]] | None = None,
    ) -> None:
        self.by_id: dict[str, list[int]] = defaultdict(list)
        for i, s in enumerate(samples):
            self.by_id[s.pid].append(i)
        self.hard = {a: sorted(b & set(self.by_id)) for a, b in (hard_pairs or {}).items() if a in self.by_id}
        self.p = min(p, len(self.by_id))
        self.k = k
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        """An epoch shows about every crop once: len(samples) / (P·K) batches."""
        n = sum(len(v) for v in self.by_id.values())
        return max(1, n // (self.p * self.k))

    def __iter__(self) -> Iterator[list[int]]:
        rng = random.Random(self.seed * 10_007 + self.epoch)
        order: list[str] = []
        while len(order) < len(self) * self.p:
            ids = list(self.by_id)
            rng.shuffle(ids)
            order += ids
        for b in range(len(self)):
            chosen = order[b * self.p : (b + 1) * self.p]
            if len(set(chosen)) < self.p:  # a reshuffle boundary repeated an identity
                rest = [i for i in self.by_id if i not in chosen]
                chosen = list(dict.fromkeys(chosen)) + rng.sample(rest, self.p - len(set(chosen)))
            for j, pid in enumerate(list(chosen[: self.p // 2])):  # pull in a hard negative partner
                partners = [q for q in self.hard.get(pid, ()) if q not in chosen]
                if partners:
                    chosen[self.p - 1 - j] = rng.choice(partners)
            batch = []
            for pid in chosen:
                pool = self.by_id[pid]
                pick = rng.sample(pool, self.k) if len(pool) >= self.k else rng.choices(pool, k=self.k)
                batch += pick
            yield batch


def hard_identity_pairs(samples: list[Labelled], negatives: list[tuple[Path, Path]]) -> dict[str, set[str]]:
    """Identity pairs joined by at least one "different" decision between their crops."""
    pid_of = {s.path: s.pid for s in samples}
    pairs: dict[str, set[str]] = defaultdict(set)
    for a, b in negatives:
        pa, pb = pid_of.get(a), pid_of.get(b)
        if pa and pb and pa != pb:
            pairs[pa].add(pb)
            pairs[pb].add(pa)
    return dict(pairs)
