"""Torch datasets, P×K identity sampling and augmentation (flip, pad-and-crop, random erasing)."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import torch
from torch.utils.data import Dataset, Sampler
from torchvision.transforms import v2 as T

from reid_desktop.core.encoders.contract import Preprocess
from reid_desktop.core.encoders.preprocess import to_tensor
from reid_desktop.core.evaluation.evaluate import Labelled
from reid_desktop.core.imaging import load_rgb


def train_transform(p: Preprocess, *, erase: float = 0.5) -> T.Compose:
    pad = max(4, p.height // 25)
    return T.Compose(
        [
            T.ToImage(),
            T.Resize((p.height, p.width), antialias=True),
            T.RandomHorizontalFlip(),
            T.Pad(pad, padding_mode="edge"),
            T.RandomCrop((p.height, p.width)),
            T.ToDtype(torch.float32, scale=False),
            _Normalise(p),
            T.RandomErasing(p=erase, value=0.0),
        ]
    )


def app_tensor(items: list[Labelled], p: Preprocess):
    """N×3×H×W float32 numpy batch through the app's own decoder and pixel pipeline."""
    return to_tensor([load_rgb(s.path) for s in items], p)


class _Normalise(torch.nn.Module):
    """The encoder contract's pixel pipeline: (pixel / scale − mean) / std, RGB or BGR."""

    def __init__(self, p: Preprocess) -> None:
        super().__init__()
        self.scale = p.scale
        self.rgb = p.rgb
        self.register_buffer("mean", torch.tensor(p.mean).view(3, 1, 1))
        self.register_buffer("std", torch.tensor(p.std).view(3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float() / self.scale
        if not self.rgb:
            x = x.flip(0)
        return (x - self.mean) / self.std


class CropDataset(Dataset):
    """(image tensor, label index, camera index) per crop; images decoded robustly."""

    def __init__(
        self, samples: list[Labelled], transform, labels: dict[str, int] | None = None, views: int = 1
    ) -> None:
        self.samples = samples
        self.transform = transform
        self.views = views  # 2: a second, independently augmented view (MoCo key encoder input)
        self.labels = labels or {pid: i for i, pid in enumerate(sorted({s.pid for s in samples}))}
        self.cameras = {c: i for i, c in enumerate(sorted({s.camera for s in samples}))}
        self._cache: dict[int, object] = {}

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int):
        s = self.samples[i]
        img = self._cache.get(i)
        if img is None:
            img = load_rgb(s.path)
            self._cache[i] = img  # crops are small; decoding once per run saves most of the CPU
        if self.views == 2:
            return self.transform(img), self.transform(img), self.labels[s.pid], self.cameras[s.camera]
        return self.transform(img), self.labels[s.pid], self.cameras[s.camera]


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
