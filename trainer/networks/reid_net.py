"""ReIDNet: backbone → global pooling + BNNeck (global embedding) and horizontal pooling (stripes).

Heads (DESIGN.md §1A/§1C):
- GP: average over the map → optional embedding layer → "global" (pre-BN, for metric losses)
  → BNNeck (BatchNorm1d, bias frozen) → "bn" (for the classifier; the inference embedding).
- HP: the map is first reduced by ONE shared 1×1 conv + BatchNorm2d (no activation), then averaged
  over K horizontal bands → "stripes" N×K×d. The reduction is shared and linear on purpose: it then
  commutes with band pooling, so the exported map (the reduced one) lets the app pool exactly the
  trained stripe embeddings for whatever K it uses, and a per-stripe reduction would tie the ONNX
  file to one K. `stripe_dim=0` skips the reduction (stripes are the pooled backbone map; used by
  the untrained default encoder, where a random reduction would only add noise).
- Projection MLP (training only) on "global", L2-normalised → "proj" for the contrastive loss.
- Optional identity classifier (Linear, no bias) on "bn" → "logits".

Train mode returns a dict; eval mode returns (embedding, stripe map N×C×h×w), which is exactly
what `export_module()` exposes to ONNX. The embedding is the post-BN global feature, or — after
`set_stripe_embedding` — the SliceNet2-style stripe embedding (DESIGN.md §1C): each of the K stripes
centred on a training mean, projected on a PCA basis fitted on training crops, L2-normalised, and
concatenated (÷√K, so the whole vector has unit norm). The trainer picks whichever ranks the
held-out identities better; on PKU the stripe embedding of a fine-tuned MobileNetV2 reached mAP
0.785 against 0.733 for the global feature.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from trainer.networks.backbones import OSNet, build_backbone
from trainer.networks.imported import ImportedBackbone

ONNX_BACKBONE = "onnx"  # config name of an imported encoder's converted graph

log = logging.getLogger(__name__)


def band_bounds(h: int, k: int) -> list[tuple[int, int]]:
    """Row ranges of K horizontal bands; same rounding as the app's `encoder.pool_stripes`."""
    k = min(k, h)
    b = np.linspace(0, h, k + 1).round().astype(int)
    return list(zip(b[:-1].tolist(), b[1:].tolist(), strict=True))


def horizontal_pool(fmap: torch.Tensor, k: int) -> torch.Tensor:
    """N×C×h×w → N×K×C, averaging each of K horizontal bands."""
    rows = fmap.mean(dim=3)  # N×C×h
    h = int(fmap.shape[2])  # the input size is fixed, so the bands are constants in an export
    return torch.stack([rows[:, :, a:b].mean(dim=2) for a, b in band_bounds(h, k)], dim=1)


class ReIDNet(nn.Module):
    def __init__(
        self,
        backbone_name: str,
        num_stripes: int = 8,
        embed_dim: int | None = None,
        stripe_dim: int = 256,
        proj_dim: int = 128,
        num_classes: int = 0,
        *,
        last_stride1: bool = False,
        weights: Path | None = None,
        stripe_embed_dim: int = 0,
        graph: bytes | None = None,
    ) -> None:
        """embed_dim None keeps the backbone's own width (OSNet: its pretrained 512-d fc); an int adds
        a Linear(C, embed_dim) after pooling. proj_dim 0 drops the projection head.
        `backbone_name="onnx"` with `graph` (the bytes of an imported encoder) trains that encoder: its
        own global embedding and tapped map (trainer.networks.imported)."""
        super().__init__()
        if backbone_name == ONNX_BACKBONE:
            if graph is None:
                raise ValueError("an imported-encoder backbone needs its ONNX graph")
            self.backbone: nn.Module = ImportedBackbone(graph)
            c = self.backbone.channels
        else:
            self.backbone, c = build_backbone(backbone_name, weights, last_stride1=last_stride1)
        self._config: dict[str, Any] = {
            "backbone": backbone_name,
            "num_stripes": int(num_stripes),
            "embed_dim": embed_dim,
            "stripe_dim": int(stripe_dim),
            "proj_dim": int(proj_dim),
            "num_classes": int(num_classes),
            "last_stride1": bool(last_stride1),
            "stripe_embed_dim": 0,
        }
        self.num_stripes = num_stripes
        if embed_dim is None:
            self.embed: nn.Module = nn.Identity()
            if isinstance(self.backbone, ImportedBackbone):
                d = self.backbone.global_dim
            else:
                d = self.backbone.feature_dim if isinstance(self.backbone, OSNet) else c
        else:
            self.embed = nn.Linear(c, embed_dim, bias=False)
            d = embed_dim
        self.embed_dim = d
        self.bnneck = nn.BatchNorm1d(d)
        self.bnneck.bias.requires_grad_(False)  # BNNeck: no shift, so the BN feature stays centred
        self.stripe_reduce: nn.Module = (
            nn.Identity()
            if stripe_dim == 0
            else nn.Sequential(nn.Conv2d(c, stripe_dim, 1, bias=False), nn.BatchNorm2d(stripe_dim))
        )
        self.stripe_dim = stripe_dim or c
        hidden = min(max(d, proj_dim), 2048)
        self.proj = (
            nn.Sequential(
                nn.Linear(d, hidden),
                nn.BatchNorm1d(hidden),
                nn.ReLU(inplace=True),
                nn.Linear(hidden, proj_dim),
            )
            if proj_dim
            else None
        )
        self.classifier = nn.Linear(d, num_classes, bias=False) if num_classes else None
        self._init_heads()
        if stripe_embed_dim:  # shapes only; load_state_dict fills the fitted values
            self.set_stripe_embedding(
                torch.zeros(num_stripes, self.stripe_dim), torch.zeros(self.stripe_dim, stripe_embed_dim)
            )

    def _init_heads(self) -> None:
        nn.init.ones_(self.bnneck.weight)
        nn.init.zeros_(self.bnneck.bias)
        if isinstance(self.embed, nn.Linear):
            nn.init.kaiming_normal_(self.embed.weight, mode="fan_out")
        if self.classifier is not None:
            nn.init.normal_(self.classifier.weight, std=0.001)

    @property
    def config(self) -> dict[str, Any]:
        """Constructor arguments (plain ints/strings/bools) for `load_checkpoint`. Head sizes are read
        from the live modules, so replacing or dropping the classifier (or projection) before saving
        keeps the config in step with the state dict."""
        cfg = dict(self._config)
        cfg["num_classes"] = self.classifier.out_features if isinstance(self.classifier, nn.Linear) else 0
        cfg["proj_dim"] = self.proj[-1].out_features if isinstance(self.proj, nn.Sequential) else 0
        return cfg

    def set_stripe_embedding(self, mean: torch.Tensor | None, basis: torch.Tensor | None) -> None:
        """Use the stripe embedding (mean K×C, PCA basis C×r, both fitted on training crops), or go
        back to the global feature with None."""
        for name in ("stripe_mean", "stripe_basis"):
            if name in self._buffers:
                del self._buffers[name]
        if mean is None or basis is None:
            self._config["stripe_embed_dim"] = 0
            return
        dev = next(self.parameters()).device
        self.register_buffer("stripe_mean", mean.detach().float().to(dev).clone())
        self.register_buffer("stripe_basis", basis.detach().float().to(dev).clone())
        self._config["stripe_embed_dim"] = int(basis.shape[1])

    @property
    def uses_stripe_embedding(self) -> bool:
        return "stripe_basis" in self._buffers

    def embedding(self, bn: torch.Tensor, smap: torch.Tensor) -> torch.Tensor:
        if not self.uses_stripe_embedding:
            return bn
        s = (horizontal_pool(smap, self.num_stripes) - self.stripe_mean) @ self.stripe_basis
        k = self.stripe_mean.shape[0]  # a buffer shape: a constant when exported
        return F.normalize(s, dim=2).flatten(1) / math.sqrt(k)

    def features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(feature map, pre-BN global feature). An imported encoder computes its own global
        embedding (e.g. a learned pooling); other backbones are average-pooled here."""
        out = self.backbone(x)
        if isinstance(out, tuple):
            fmap, glob = out[1], self.embed(out[0])
            return fmap, glob
        pooled = out.mean(dim=(2, 3))
        if isinstance(self.backbone, OSNet) and isinstance(self.embed, nn.Identity):
            return out, self.backbone.fc(pooled)
        return out, self.embed(pooled)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor] | tuple[torch.Tensor, torch.Tensor]:
        fmap, glob = self.features(x)
        bn = self.bnneck(glob)
        smap = self.stripe_reduce(fmap)
        if not self.training:
            return self.embedding(bn, smap), smap
        out = {"global": glob, "bn": bn, "stripes": horizontal_pool(smap, self.num_stripes), "map": smap}
        if self.proj is not None:
            out["proj"] = F.normalize(self.proj(glob), dim=1)
        if self.classifier is not None:
            out["logits"] = self.classifier(bn)
        return out

    def export_module(self) -> nn.Module:
        """An eval-mode module whose forward(x) -> (global N×D, feature_map N×C×h×w), for ONNX."""
        return _InferenceView(self)


class _InferenceView(nn.Module):
    def __init__(self, net: ReIDNet) -> None:
        super().__init__()
        self.net = net
        self.train(False)

    def train(self, mode: bool = True) -> _InferenceView:
        super().train(False)  # an export view never switches to batch statistics
        return self

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        fmap, glob = self.net.features(x)
        smap = self.net.stripe_reduce(fmap)
        return self.net.embedding(self.net.bnneck(glob), smap), smap
