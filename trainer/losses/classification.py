"""Identity classification losses: label-smoothed cross-entropy and the cosine-softmax head (method C)."""

from __future__ import annotations

import logging
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

logger = logging.getLogger(__name__)


def _full(x: Tensor) -> Tensor:
    """Upcast half/bfloat16 to float32 (float64 stays float64): softmax reductions lose too much in bf16."""
    return x.to(torch.promote_types(x.dtype, torch.float32))


class CrossEntropyLabelSmooth(nn.Module):
    """Identity cross-entropy with label smoothing.

    With C classes, logits z (N×C) and targets y::

        q_k = (1 − ε)·[k = y] + ε / C
        L   = (1/N) Σ_n  −Σ_k q_{n,k} · log softmax(z_n)_k

    ε = 0 is plain cross-entropy. Targets are class indices in [0, C).
    """

    def __init__(self, num_classes: int, epsilon: float = 0.1) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"epsilon must be in [0, 1], got {epsilon}")
        self.num_classes = num_classes
        self.epsilon = epsilon

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        if logits.ndim != 2 or logits.shape[1] != self.num_classes:
            raise ValueError(f"expected logits of shape N×{self.num_classes}, got {tuple(logits.shape)}")
        with torch.autocast(device_type=logits.device.type, enabled=False):
            log_p = F.log_softmax(_full(logits), dim=1)
            nll = -log_p.gather(1, targets.long().unsqueeze(1)).squeeze(1)
            # −Σ_k q_k log p_k split into the one-hot part and the uniform part.
            uniform = -log_p.mean(dim=1)
            return ((1.0 - self.epsilon) * nll + self.epsilon * uniform).mean()

    def extra_repr(self) -> str:
        return f"num_classes={self.num_classes}, epsilon={self.epsilon}"


class CosineSoftmax(nn.Module):
    """Cosine-softmax classifier head (method C); returns logits, pair it with a CE loss.

    With class weights w_k, features r and scale κ::

        logit_k = κ · w̃_kᵀ r̃,   w̃_k = w_k / ||w_k||,   r̃ = r / ||r||
        p(y = k | r) = softmax_k(logit_k)

    so every logit lies in [−κ, κ]. When ``scale`` is None, κ is learned as κ = softplus(ρ), which
    keeps it positive, with ρ initialised so that κ = ``init_scale``; otherwise κ is fixed to ``scale``.
    """

    def __init__(
        self, in_features: int, num_classes: int, scale: float | None = None, init_scale: float = 16.0
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self.num_classes = num_classes
        self.weight = nn.Parameter(torch.empty(num_classes, in_features))
        nn.init.normal_(self.weight, std=0.01)  # only the direction matters after normalising
        self.learn_scale = scale is None
        if scale is None:
            if init_scale <= 0:
                raise ValueError(f"init_scale must be > 0, got {init_scale}")
            # Inverse softplus, so that softplus(ρ) == init_scale at start.
            rho = init_scale + math.log(-math.expm1(-init_scale))
            self.raw_scale = nn.Parameter(torch.tensor(rho, dtype=torch.float32))
        else:
            if scale <= 0:
                raise ValueError(f"scale must be > 0, got {scale}")
            self.register_buffer("fixed_scale", torch.tensor(float(scale), dtype=torch.float32))

    @property
    def scale(self) -> Tensor:
        """The current κ (a 0-d tensor; differentiable when learned)."""
        return F.softplus(self.raw_scale) if self.learn_scale else self.fixed_scale

    def forward(self, features: Tensor) -> Tensor:
        if features.ndim != 2 or features.shape[1] != self.in_features:
            raise ValueError(f"expected features of shape N×{self.in_features}, got {tuple(features.shape)}")
        with torch.autocast(device_type=features.device.type, enabled=False):
            r = F.normalize(_full(features), dim=1)
            w = F.normalize(self.weight.to(r.dtype), dim=1)
            return self.scale.to(r.dtype) * (r @ w.t())

    def extra_repr(self) -> str:
        kappa = "learned" if self.learn_scale else f"{float(self.fixed_scale):g}"
        return f"in_features={self.in_features}, num_classes={self.num_classes}, scale={kappa}"
