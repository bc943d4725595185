"""Every recipe's objective: the documented terms, a finite total, gradients reaching the features,
and a triplet term in each of the three method recipes (so they are compared on equal footing with
the CE + triplet baseline)."""

from __future__ import annotations

import math

import pytest
import torch

from trainer.recipes import RECIPES, RecipeLoss

TERMS = {
    "baseline": {"ce", "triplet"},
    "contrastive-compact": {"ce", "infonce", "compact", "scatter", "triplet"},
    "contrastive": {"ce", "infonce", "structure", "triplet"},
    "inherent": {"inherent", "triplet"},
    "cosine-slice": {"cos_global", "cos_stripes", "triplet"},
}


def _outputs(n: int, classes: int, feat: int, k: int, stripe: int, proj: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    glob = torch.randn(n, feat, generator=g, requires_grad=True)
    return {
        "global": glob,
        "bn": glob * 1.0,
        "logits": torch.randn(n, classes, generator=g, requires_grad=True),
        "proj": torch.nn.functional.normalize(torch.randn(n, proj, generator=g, requires_grad=True), dim=1),
        "stripes": torch.randn(n, k, stripe, generator=g, requires_grad=True),
    }


@pytest.mark.parametrize("name", list(RECIPES))
def test_recipe_terms_total_and_gradients(name):
    assert set(TERMS) == set(RECIPES)  # a new recipe needs its row here
    recipe = RECIPES[name]
    loss = RecipeLoss(recipe, num_classes=4, feat_dim=16, stripe_dim=8, proj_dim=8)
    labels = torch.arange(4).repeat_interleave(2)  # P×K = 4×2
    out = _outputs(8, 4, 16, 3, 8, 8, seed=0)
    key = _outputs(8, 4, 16, 3, 8, 8, seed=1) if recipe.two_views else None
    total, terms = loss(out, labels, key)
    assert set(terms) == TERMS[name]
    assert math.isfinite(float(total.detach())) and all(math.isfinite(v) for v in terms.values())
    total.backward()
    assert out["global"].grad is not None and out["global"].grad.abs().sum() > 0
