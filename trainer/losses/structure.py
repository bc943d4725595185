"""Method A's person structure loss on horizontal stripe features."""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F
from torch import Tensor, nn

logger = logging.getLogger(__name__)


def _full(x: Tensor) -> Tensor:
    """Upcast half/bfloat16 to float32 (float64 stays float64): cosines near 1 need the mantissa."""
    return x.to(torch.promote_types(x.dtype, torch.float32))


def relative_local_matrix(stripes: Tensor) -> Tensor:
    """Within-crop stripe-to-stripe cosines: N×K×d stripes → N×K×K, R_n = Ŝ_n Ŝ_nᵀ."""
    s = F.normalize(stripes, dim=-1)
    return s @ s.transpose(-1, -2)


class PersonStructureLoss(nn.Module):
    """Keep the relative local matrix of same-person crops consistent (helps under occlusion).

    For stripe features S_n (K×d, one row per horizontal band) and Ŝ_n its rows L2-normalised::

        R_n = Ŝ_n Ŝ_nᵀ                                   (K×K; R_n[i, j] = cos(stripe i, stripe j))
        L   = mean over unordered pairs a < b with y_a = y_b of ||R_a − R_b||²_F / K²

    R only depends on the directions of the stripe vectors, so the loss is invariant to (positive)
    rescaling of any stripe. Labels < 0 mean unknown and never form a pair. With no same-identity
    pair in the batch the loss is a 0 that still backpropagates.
    """

    def forward(self, stripes: Tensor, labels: Tensor) -> Tensor:
        if stripes.ndim != 3 or labels.shape != stripes.shape[:1]:
            raise ValueError(
                f"expected N×K×d stripes and N labels, got {tuple(stripes.shape)}, {tuple(labels.shape)}"
            )
        with torch.autocast(device_type=stripes.device.type, enabled=False):
            s = _full(stripes)
            n, k = s.shape[0], s.shape[1]
            a, b = torch.triu_indices(n, n, offset=1, device=s.device)
            keep = (labels[a] == labels[b]) & (labels[a] >= 0)
            a, b = a[keep], b[keep]
            if a.numel() == 0:
                logger.debug("person structure loss: no same-identity pair in the batch")
                zero = (s * 0).sum()
                return zero if zero.requires_grad else zero.detach().requires_grad_()
            r = relative_local_matrix(s)
            # Direct differences (not a Gram expansion) so identical structures give exactly 0.
            return (r[a] - r[b]).pow(2).sum(dim=(1, 2)).mean() / (k * k)
