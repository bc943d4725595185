"""Re-ID training losses, one small module per family (see ../shared/DESIGN.md §1).

- classification: label-smoothed identity CE, cosine-softmax head (method C)
- triplet: batch-hard triplet
- contrastive: MoCo queue, InfoNCE, supervised InfoNCE, momentum update (method A)
- structure: person structure loss on the K×K relative local matrix (method A)
- compact: compact / scatter losses and the inherent-code objective (method B)

All losses return scalar tensors, compute in float32 (float64 inputs stay float64) and switch
autocast off inside, so they are safe to call under ``torch.autocast``.
"""

from __future__ import annotations

from trainer.losses.classification import CosineSoftmax, CrossEntropyLabelSmooth
from trainer.losses.compact import CompactLoss, InherentCodeLoss, ScatterLoss
from trainer.losses.contrastive import InfoNCE, MoCoQueue, SupervisedInfoNCE, momentum_update
from trainer.losses.structure import PersonStructureLoss, relative_local_matrix
from trainer.losses.triplet import BatchHardTriplet, pairwise_distance

__all__ = [
    "BatchHardTriplet",
    "CompactLoss",
    "CosineSoftmax",
    "CrossEntropyLabelSmooth",
    "InfoNCE",
    "InherentCodeLoss",
    "MoCoQueue",
    "PersonStructureLoss",
    "ScatterLoss",
    "SupervisedInfoNCE",
    "momentum_update",
    "pairwise_distance",
    "relative_local_matrix",
]
