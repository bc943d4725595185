"""Batch-hard triplet loss (Hermans et al., "In Defense of the Triplet Loss")."""

from __future__ import annotations

import logging
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

logger = logging.getLogger(__name__)

Distance = Literal["euclidean", "cosine"]


def _full(x: Tensor) -> Tensor:
    """Upcast half/bfloat16 to float32 (float64 stays float64): distance expansions cancel badly in bf16."""
    return x.to(torch.promote_types(x.dtype, torch.float32))


def _graph_zero(x: Tensor) -> Tensor:
    """A 0 that still backpropagates (zero gradients), so a step with no valid term does not break."""
    zero = (x * 0).sum()
    return zero if zero.requires_grad else zero.detach().requires_grad_()


def pairwise_distance(x: Tensor, distance: Distance = "euclidean") -> Tensor:
    """N×N distances between the rows of x: L2, or cosine distance 1 − cos(x_i, x_j)."""
    if distance == "cosine":
        xn = F.normalize(x, dim=1)
        return 1.0 - xn @ xn.t()
    if distance == "euclidean":
        sq = x.pow(2).sum(dim=1)
        d2 = sq[:, None] + sq[None, :] - 2.0 * (x @ x.t())
        # The clamp keeps sqrt's gradient finite for coincident points.
        return d2.clamp_min(1e-12).sqrt()
    raise ValueError(f"unknown distance {distance!r}; use 'euclidean' or 'cosine'")


class BatchHardTriplet(nn.Module):
    """Batch-hard triplet loss.

    For each anchor a with identity y_a, over the batch::

        d_ap = max_{p : y_p = y_a, p ≠ a} d(a, p)      (hardest positive)
        d_an = min_{n : y_n ≠ y_a}        d(a, n)      (hardest negative)
        ℓ_a  = max(0, d_ap − d_an + margin)            (margin given)
        ℓ_a  = log(1 + exp(d_ap − d_an))               (margin None: soft margin)
        L    = mean of ℓ_a over anchors that have at least one positive and one negative

    d is the L2 distance or the cosine distance 1 − cos. Samples with a negative label (−1 =
    unknown, as in the MoCo queue) are left out entirely: an unknown crop is neither a reliable
    positive nor a reliable negative. With no valid anchor the loss is a 0 that still backpropagates.
    """

    def __init__(self, margin: float | None = 0.3, distance: Distance = "euclidean") -> None:
        super().__init__()
        if distance not in ("euclidean", "cosine"):
            raise ValueError(f"unknown distance {distance!r}; use 'euclidean' or 'cosine'")
        if margin is not None and margin < 0:
            raise ValueError(f"margin must be >= 0 or None, got {margin}")
        self.margin = margin
        self.distance: Distance = distance

    def forward(self, embeddings: Tensor, labels: Tensor) -> Tensor:
        if embeddings.ndim != 2 or labels.shape != embeddings.shape[:1]:
            raise ValueError(
                f"expected N×d embeddings and N labels, got {tuple(embeddings.shape)}, {tuple(labels.shape)}"
            )
        with torch.autocast(device_type=embeddings.device.type, enabled=False):
            x = _full(embeddings)
            dist = pairwise_distance(x, self.distance)
            known = labels >= 0
            both_known = known[:, None] & known[None, :]
            same = (labels[:, None] == labels[None, :]) & both_known
            eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
            pos_mask = same & ~eye
            neg_mask = ~same & both_known
            valid = pos_mask.any(dim=1) & neg_mask.any(dim=1)
            if not bool(valid.any()):
                logger.debug("batch-hard triplet: no anchor with both a positive and a negative")
                return _graph_zero(x)
            hardest_pos = dist.masked_fill(~pos_mask, float("-inf")).amax(dim=1)
            hardest_neg = dist.masked_fill(~neg_mask, float("inf")).amin(dim=1)
            gap = hardest_pos[valid] - hardest_neg[valid]
            per_anchor = F.softplus(gap) if self.margin is None else F.relu(gap + self.margin)
            return per_anchor.mean()

    def extra_repr(self) -> str:
        return f"margin={self.margin}, distance={self.distance!r}"
