"""Method B ("inherent code"): compact loss, scatter loss and the combined L_SR + β·L_CL − γ·L_SL.

Normalisation: the paper's losses are raw sums over a batch, so their size (and the meaning of β, γ)
depends on the batch size. With ``reduction="mean"`` (default) both sums below are divided by the
batch size N, i.e. they become per-sample averages of the same summands, and the weights no longer
depend on N. ``reduction="sum"`` gives the paper's raw sums. The paper tuned β = 5e-5, γ = 1e-6 for
raw sums over batches of 32; with "mean" the equivalent weights are 32·β = 1.6e-3, 32·γ = 3.2e-5.
The scatter sum still has P − 1 terms per sample (P = identities in the batch), which a P×K sampler
keeps fixed.

Centres Ī_p are recomputed from the batch and gradients flow through them, and through d_min, as the
formulas are written (nothing is detached).
"""

from __future__ import annotations

import logging
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

logger = logging.getLogger(__name__)

Reduction = Literal["mean", "sum"]


def _full(x: Tensor) -> Tensor:
    """Upcast half/bfloat16 to float32 (float64 stays float64): squared distances of codes overflow bf16."""
    return x.to(torch.promote_types(x.dtype, torch.float32))


def _graph_zero(x: Tensor) -> Tensor:
    """A 0 that still backpropagates (zero gradients), so a batch with one identity does not break."""
    zero = (x * 0).sum()
    return zero if zero.requires_grad else zero.detach().requires_grad_()


def _check(codes: Tensor, labels: Tensor, reduction: str) -> None:
    if codes.ndim != 2 or labels.shape != codes.shape[:1]:
        raise ValueError(f"expected N×D codes and N labels, got {tuple(codes.shape)}, {tuple(labels.shape)}")
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
    if labels.numel() and int(labels.min()) < 0:
        raise ValueError("compact/scatter losses need known identities (labels >= 0)")


def identity_centres(codes: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    """Batch mean code of every identity present: (centres P×D, index N → row of its identity's centre)."""
    _, inverse = torch.unique(labels, return_inverse=True)
    n_ids = int(inverse.max()) + 1 if inverse.numel() else 0
    sums = codes.new_zeros((n_ids, codes.shape[1])).index_add(0, inverse, codes)
    counts = torch.bincount(inverse, minlength=n_ids).to(codes.dtype)
    return sums / counts[:, None], inverse


def _reduce(total: Tensor, n: int, reduction: Reduction) -> Tensor:
    return total / n if reduction == "mean" else total


class _CentreLoss(nn.Module):
    """Shared by the compact and scatter losses: input checks, float32 maths, the batch centres, 0
    with a single identity, and the batch-size normalisation. Subclasses give the raw sum."""

    name = "centre"

    def __init__(self, reduction: Reduction = "mean") -> None:
        super().__init__()
        if reduction not in ("mean", "sum"):
            raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
        self.reduction: Reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"

    def forward(self, codes: Tensor, labels: Tensor) -> Tensor:
        _check(codes, labels, self.reduction)
        with torch.autocast(device_type=codes.device.type, enabled=False):
            x = _full(codes)
            centres, inverse = identity_centres(x, labels)
            if centres.shape[0] < 2:
                logger.debug("%s loss: fewer than two identities in the batch", self.name)
                return _graph_zero(x)
            return _reduce(self._total(x, centres, inverse), x.shape[0], self.reduction)

    def _total(self, x: Tensor, centres: Tensor, inverse: Tensor) -> Tensor:
        raise NotImplementedError


class CompactLoss(_CentreLoss):
    """Compact loss: pull each identity's codes inside a sphere that cannot overlap its neighbours.

    For identities p present in the batch with codes I_{p,i}::

        Ī_p       = mean_i I_{p,i}
        d_min^p   = ½ · min_{q ≠ p} ||Ī_p − Ī_q||
        L_CL      = ½ Σ_{p,i} max(0, ||I_{p,i} − Ī_p||² − (d_min^p)²)   (/ N with reduction="mean")

    With a single identity in the batch d_min is undefined and the loss is 0.
    """

    name = "compact"

    def _total(self, x: Tensor, centres: Tensor, inverse: Tensor) -> Tensor:
        diff = centres[:, None, :] - centres[None, :, :]  # P×P×D, P is small
        cc = diff.pow(2).sum(dim=-1)
        cc = cc.masked_fill(torch.eye(len(cc), dtype=torch.bool, device=cc.device), float("inf"))
        d_min_sq = 0.25 * cc.amin(dim=1)  # (½·d)² without a sqrt, whose gradient blows up at 0
        spread = (x - centres[inverse]).pow(2).sum(dim=1)
        return 0.5 * F.relu(spread - d_min_sq[inverse]).sum()


class ScatterLoss(_CentreLoss):
    """Scatter loss: squared distances of every code to the centres of the other identities.

    With Ī_j the batch mean code of identity j::

        L_SL = ½ Σ_{p,i} Σ_{j ≠ p} ||I_{p,i} − Ī_j||²   (/ N with reduction="mean")

    Returned as a positive number; it is to be *maximised*, so the trainer SUBTRACTS γ·L_SL from the
    total loss (as :class:`InherentCodeLoss` does). 0 with a single identity in the batch.
    """

    name = "scatter"

    def _total(self, x: Tensor, centres: Tensor, inverse: Tensor) -> Tensor:
        # ||x − c||² expanded (N×P, no N×P×D tensor); clamped because rounding can dip below 0.
        sq_x, sq_c = x.pow(2).sum(1), centres.pow(2).sum(1)
        d2 = (sq_x[:, None] + sq_c[None, :] - 2.0 * x @ centres.t()).clamp_min(0)
        own = F.one_hot(inverse, num_classes=centres.shape[0]).bool()
        return 0.5 * d2.masked_fill(own, 0.0).sum()


class InherentCodeLoss(nn.Module):
    """Method B's objective on the code I (e.g. ResNet18 pool5)::

        L = L_SR + β·L_CL − γ·L_SL

    L_SR is softmax cross-entropy (mean over the batch) of a linear classifier on the code (owned by
    this module, so its parameters must go to the optimiser), L_CL is :class:`CompactLoss`, L_SL is
    :class:`ScatterLoss`, both with ``reduction`` (see the module docstring for β, γ under "mean").
    ``forward`` returns the total and a dict of floats: "sr", "compact", "scatter", "total".
    """

    def __init__(
        self,
        num_classes: int,
        feat_dim: int,
        beta: float = 5e-5,
        gamma: float = 1e-6,
        reduction: Reduction = "mean",
    ) -> None:
        super().__init__()
        self.classifier = nn.Linear(feat_dim, num_classes)
        self.compact = CompactLoss(reduction)
        self.scatter = ScatterLoss(reduction)
        self.beta = beta
        self.gamma = gamma

    def forward(self, codes: Tensor, labels: Tensor) -> tuple[Tensor, dict[str, float]]:
        with torch.autocast(device_type=codes.device.type, enabled=False):
            x = _full(codes)
            logits = self.classifier(x.to(self.classifier.weight.dtype))
            sr = F.cross_entropy(logits, labels.long())
            cl = self.compact(x, labels)
            sl = self.scatter(x, labels)
            total = sr + self.beta * cl - self.gamma * sl
        terms = {
            "sr": float(sr.detach()),
            "compact": float(cl.detach()),
            "scatter": float(sl.detach()),
            "total": float(total.detach()),
        }
        return total, terms

    def extra_repr(self) -> str:
        return f"beta={self.beta:g}, gamma={self.gamma:g}"
