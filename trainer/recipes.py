"""The losses of each named recipe (names, descriptions and batch settings live in the app's
torch-free `reid_desktop.core.training.recipes`, so the dialog and the trainer share one list).

- contrastive-compact  CE (label smoothing 0.1) on the BNNeck logits + supervised InfoNCE (τ 0.07,
                       weight 0.5) between the online projection and a momentum key encoder (m 0.999)
                       with a 4096-key MoCo queue + β·compact − γ·scatter (method B, β 1.6e-3,
                       γ 3.2e-5 for batch means) on the global feature + a light triplet (0.5).
- baseline      CE (label smoothing 0.1) on the BNNeck logits + batch-hard triplet (margin 0.3) on
                the pre-BN global feature. The strong, simple reference the papers compare against.
- contrastive   Method A: identity CE + supervised InfoNCE (τ 0.07) between the online projection
                and a momentum key encoder (m 0.999) with a 4096-key queue, same-identity keys as
                positives + person-structure loss on the K×K stripe matrix (weight 1) + a light
                triplet (0.5). The queue decouples negatives from the small CPU batch.
- inherent      Method B: softmax identity loss on the code + β·compact − γ·scatter (+ triplet 0.5).
                The paper's β 5e-5 / γ 1e-6 are for sums over batches of 32; our losses are batch
                means, so the weights are ×32 (1.6e-3 / 3.2e-5) for the same strength.
- cosine-slice  Method C: cosine softmax (learned κ) on the global BN feature plus one on each
                stripe embedding (averaged): slices of the last feature map, as SliceNet2
                (+ triplet 0.5, like the other methods: without it, from the Intel encoder it
                ended 0.018 mAP below the plain CE + triplet reference, bench_train).
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from reid_desktop.core.training.recipes import DEFAULT_RECIPE, RECIPES, Recipe
from trainer.losses import (
    BatchHardTriplet,
    CompactLoss,
    CosineSoftmax,
    CrossEntropyLabelSmooth,
    InherentCodeLoss,
    MoCoQueue,
    PersonStructureLoss,
    ScatterLoss,
    SupervisedInfoNCE,
    momentum_update,
)

__all__ = ["DEFAULT_RECIPE", "RECIPES", "KeyEncoder", "Recipe", "RecipeLoss"]
BETA, GAMMA = 1.6e-3, 3.2e-5  # method B's weights for batch-mean losses (see trainer.losses.compact)


class RecipeLoss(nn.Module):
    """The recipe's objective. `forward(out, labels, key_out)` → (total, {term: value})."""

    def __init__(self, recipe: Recipe, num_classes: int, feat_dim: int, stripe_dim: int, proj_dim: int):
        super().__init__()
        self.recipe = recipe
        self.ce = CrossEntropyLabelSmooth(num_classes, 0.1)
        self.triplet = BatchHardTriplet(0.3)
        if recipe.two_views:
            self.supcon = SupervisedInfoNCE(0.07)
            self.queue = MoCoQueue(proj_dim, 4096)
        if recipe.name == "contrastive":
            self.structure = PersonStructureLoss()
        elif recipe.name == "contrastive-compact":
            self.compact = CompactLoss()
            self.scatter = ScatterLoss()
        elif recipe.name == "inherent":
            self.inherent = InherentCodeLoss(num_classes, feat_dim, beta=BETA, gamma=GAMMA)
        elif recipe.name == "cosine-slice":
            self.cos_global = CosineSoftmax(feat_dim, num_classes)
            self.cos_stripe = CosineSoftmax(stripe_dim, num_classes)

    def forward(
        self,
        out: dict[str, torch.Tensor],
        labels: torch.Tensor,
        key_out: dict[str, torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        name = self.recipe.name
        terms: dict[str, torch.Tensor] = {}
        if name == "baseline":
            terms["ce"] = self.ce(out["logits"], labels)
            terms["triplet"] = self.triplet(out["global"], labels)
        elif name in ("contrastive", "contrastive-compact"):
            assert key_out is not None
            terms["ce"] = self.ce(out["logits"], labels)
            k_pos = key_out["proj"].detach()
            terms["infonce"] = 0.5 * self.supcon(
                out["proj"], k_pos, labels, self.queue.keys, self.queue.labels
            )
            if name == "contrastive":
                terms["structure"] = self.structure(out["stripes"], labels)
            else:
                terms["compact"] = BETA * self.compact(out["global"], labels)
                terms["scatter"] = -GAMMA * self.scatter(out["global"], labels)
            terms["triplet"] = 0.5 * self.triplet(out["global"], labels)
            self.queue.enqueue(k_pos, labels)
        elif name == "inherent":
            total, parts = self.inherent(out["global"], labels)
            terms["inherent"] = total
            terms["triplet"] = 0.5 * self.triplet(out["global"], labels)
        elif name == "cosine-slice":
            terms["cos_global"] = self.ce(self.cos_global(out["bn"]), labels)
            s = out["stripes"]
            per = self.cos_stripe(s.reshape(-1, s.shape[-1]))
            terms["cos_stripes"] = self.ce(per, labels.repeat_interleave(s.shape[1]))
            terms["triplet"] = 0.5 * self.triplet(out["global"], labels)
        total = sum(terms.values())
        return total, {k: float(v.detach()) for k, v in terms.items()}


class KeyEncoder:
    """MoCo's momentum copy of the online network (contrastive recipe only)."""

    def __init__(self, online: nn.Module, m: float = 0.999) -> None:
        self.net = copy.deepcopy(online)
        for p in self.net.parameters():
            p.requires_grad_(False)
        self.m = m

    @torch.no_grad()
    def __call__(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        self.net.train()  # batch statistics, like the online branch
        return self.net(x)

    def update(self, online: nn.Module) -> None:
        momentum_update(online, self.net, self.m)
