"""Method A's contrastive objective: MoCo key queue, InfoNCE, supervised InfoNCE, momentum encoder update."""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F
from torch import Tensor, nn

logger = logging.getLogger(__name__)

UNKNOWN = -1  # queue label of a key whose identity is not known


def _full(x: Tensor) -> Tensor:
    """Upcast half/bfloat16 to float32 (float64 stays float64): logits / τ overflow bf16's precision."""
    return x.to(torch.promote_types(x.dtype, torch.float32))


class MoCoQueue(nn.Module):
    """FIFO ring buffer of the last ``size`` L2-normalised keys and their identity labels.

    ``enqueue`` writes at the pointer and wraps around, overwriting the oldest keys. Until the queue
    has been filled once, only the keys written so far are exposed (no random placeholder negatives).
    The buffers are part of the state dict, so a resumed run keeps its negatives.
    """

    def __init__(self, dim: int, size: int = 4096) -> None:
        super().__init__()
        if dim < 1 or size < 1:
            raise ValueError(f"dim and size must be >= 1, got dim={dim}, size={size}")
        self.dim = dim
        self.size = size
        self.register_buffer("queue_keys", torch.zeros(size, dim))
        self.register_buffer("queue_labels", torch.full((size,), UNKNOWN, dtype=torch.long))
        self.register_buffer("ptr", torch.zeros((), dtype=torch.long))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    def __len__(self) -> int:
        return int(self.count)

    @property
    def keys(self) -> Tensor:
        """The stored keys (M×dim, M = min(enqueued, size)), in slot order, not age order."""
        return self.queue_keys[: len(self)]

    @property
    def labels(self) -> Tensor:
        """Labels of :attr:`keys` (M), −1 where unknown."""
        return self.queue_labels[: len(self)]

    def oldest_first(self) -> tuple[Tensor, Tensor]:
        """Keys and labels ordered from the oldest to the newest entry."""
        n = len(self)
        if n < self.size:
            return self.keys, self.labels
        order = (torch.arange(self.size, device=self.ptr.device) + self.ptr) % self.size
        return self.queue_keys[order], self.queue_labels[order]

    @torch.no_grad()
    def enqueue(self, keys: Tensor, labels: Tensor | None = None) -> None:
        """Append keys (N×dim, normalised here) with labels (N; None = all unknown)."""
        if keys.ndim != 2 or keys.shape[1] != self.dim:
            raise ValueError(f"expected keys of shape N×{self.dim}, got {tuple(keys.shape)}")
        n = keys.shape[0]
        if labels is None:
            labels = torch.full((n,), UNKNOWN, dtype=torch.long, device=keys.device)
        if labels.shape != (n,):
            raise ValueError(f"expected {n} labels, got shape {tuple(labels.shape)}")
        if n == 0:
            return
        keys = F.normalize(_full(keys.detach()), dim=1).to(self.queue_keys.dtype)
        labels = labels.detach().long()
        skip = max(0, n - self.size)  # more keys than slots: only the newest `size` survive
        if skip:
            logger.debug("MoCo queue: %d keys enqueued into %d slots, keeping the newest", n, self.size)
        slots = (self.ptr + skip + torch.arange(n - skip, device=self.ptr.device)) % self.size
        self.queue_keys[slots] = keys[skip:].to(self.queue_keys.device)
        self.queue_labels[slots] = labels[skip:].to(self.queue_labels.device)
        self.ptr.copy_((self.ptr + n) % self.size)
        self.count.copy_(torch.clamp(self.count + n, max=self.size))

    def extra_repr(self) -> str:
        return f"dim={self.dim}, size={self.size}"


def _check_pairs(q: Tensor, k_pos: Tensor) -> None:
    if q.ndim != 2 or q.shape != k_pos.shape:
        raise ValueError(f"expected q and k+ of one N×d shape, got {tuple(q.shape)}, {tuple(k_pos.shape)}")


def _queue_or_empty(queue: Tensor | None, like: Tensor) -> Tensor:
    """The queue keys upcast like the queries (an empty M = 0 queue for None)."""
    if queue is None:
        return like.new_zeros((0, like.shape[1]), dtype=torch.promote_types(like.dtype, torch.float32))
    if queue.ndim != 2 or queue.shape[1] != like.shape[1]:
        raise ValueError(f"expected a queue of shape M×{like.shape[1]}, got {tuple(queue.shape)}")
    return _full(queue)


class InfoNCE(nn.Module):
    """MoCo InfoNCE loss.

    With q, k+ and the queue keys k_1..k_M all L2-normalised here, and temperature τ::

        L_q = −log( exp(q·k+/τ) / (exp(q·k+/τ) + Σ_{i=1..M} exp(q·k_i/τ)) )
        L   = mean of L_q over the N queries

    i.e. cross-entropy over the logits [q·k+, q·k_1, …, q·k_M] / τ with target 0. Gradients flow
    into q and k+ (detach k+ yourself when it comes from a momentum encoder); the queue is constant.
    """

    def __init__(self, temperature: float = 0.07) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.temperature = temperature

    def forward(self, q: Tensor, k_pos: Tensor, queue: Tensor | None = None) -> Tensor:
        _check_pairs(q, k_pos)
        with torch.autocast(device_type=q.device.type, enabled=False):
            qn = F.normalize(_full(q), dim=1)
            kn = F.normalize(_full(k_pos).to(qn.dtype), dim=1)
            negs = F.normalize(_queue_or_empty(queue, qn).to(qn.dtype).detach(), dim=1)
            pos = (qn * kn).sum(dim=1, keepdim=True)
            logits = torch.cat([pos, qn @ negs.t()], dim=1) / self.temperature
            return (torch.logsumexp(logits, dim=1) - logits[:, 0]).mean()

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}"


class SupervisedInfoNCE(nn.Module):
    """InfoNCE where every key known to share the query's identity is also a positive (SupCon-style).

    For query i (label y_i) the candidate set A(i) is: its own key k+_i, every in-batch key k+_j
    (j ≠ i) with y_j = y_i, and every queue key k_m. Positives P(i) ⊆ A(i) are k+_i, those same-id
    in-batch keys, and the queue keys with label y_i. With s_a = q_i·k_a / τ (all L2-normalised)::

        log p_i(a) = s_a − log Σ_{b ∈ A(i)} exp(s_b)
        L_i        = −(1/|P(i)|) Σ_{a ∈ P(i)} log p_i(a)
        L          = mean of L_i over the N queries

    Labels < 0 mean unknown: such a query has k+_i as its only positive, and unknown queue keys are
    always negatives. In-batch keys of other identities are not candidates (as in MoCo they join the
    queue as negatives after this step), so with no label matches this is exactly :class:`InfoNCE`.
    """

    def __init__(self, temperature: float = 0.07) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.temperature = temperature

    def forward(
        self,
        q: Tensor,
        k_pos: Tensor,
        labels: Tensor,
        queue: Tensor | None = None,
        queue_labels: Tensor | None = None,
    ) -> Tensor:
        _check_pairs(q, k_pos)
        if labels.shape != q.shape[:1]:
            raise ValueError(f"expected {q.shape[0]} labels, got shape {tuple(labels.shape)}")
        negs_raw = _queue_or_empty(queue, q)
        if queue_labels is None:
            queue_labels = torch.full((negs_raw.shape[0],), UNKNOWN, dtype=torch.long, device=q.device)
        if queue_labels.shape != negs_raw.shape[:1]:
            raise ValueError(f"expected {negs_raw.shape[0]} queue labels, got {tuple(queue_labels.shape)}")
        with torch.autocast(device_type=q.device.type, enabled=False):
            qn = F.normalize(_full(q), dim=1)
            kn = F.normalize(_full(k_pos).to(qn.dtype), dim=1)
            negs = F.normalize(negs_raw.to(qn.dtype).detach(), dim=1)
            n = qn.shape[0]
            known = labels >= 0
            eye = torch.eye(n, dtype=torch.bool, device=q.device)
            batch_pos = (labels[:, None] == labels[None, :]) & known[:, None] & ~eye
            queue_pos = (labels[:, None] == queue_labels.to(labels.device)[None, :]) & known[:, None]

            s_own = (qn * kn).sum(dim=1, keepdim=True)
            # Off-identity in-batch keys are dropped from A(i) by giving them exp(−inf) = 0.
            s_batch = (qn @ kn.t()).masked_fill(~batch_pos, float("-inf"))
            logits = torch.cat([s_own, s_batch, qn @ negs.t()], dim=1) / self.temperature
            log_p = logits - torch.logsumexp(logits, dim=1, keepdim=True)
            pos_mask = torch.cat([torch.ones_like(s_own, dtype=torch.bool), batch_pos, queue_pos], dim=1)
            # where(), not multiply: log_p is −inf on dropped candidates and −inf·0 is NaN.
            pos_log_p = torch.where(pos_mask, log_p, torch.zeros_like(log_p)).sum(dim=1)
            return (-pos_log_p / pos_mask.sum(dim=1)).mean()

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}"


@torch.no_grad()
def momentum_update(online: nn.Module, key: nn.Module, m: float = 0.999) -> None:
    """MoCo key-encoder update, in place: θ_key ← m·θ_key + (1 − m)·θ_online; buffers are copied.

    m = 0 copies the online encoder, m = 1 leaves the key encoder unchanged. Both modules must have the
    same parameter and buffer names (the key encoder is normally a deepcopy of the online one).
    """
    if not 0.0 <= m <= 1.0:
        raise ValueError(f"momentum must be in [0, 1], got {m}")
    online_params = dict(online.named_parameters())
    key_params = dict(key.named_parameters())
    if online_params.keys() != key_params.keys():
        raise ValueError("online and key encoders have different parameters")
    for name, p_key in key_params.items():
        # lerp_ with weight 0 / 1 returns exactly start / end, so m = 1 / m = 0 are exact.
        p_key.lerp_(online_params[name].detach().to(p_key.dtype), 1.0 - m)
    online_buffers = dict(online.named_buffers())
    key_buffers = dict(key.named_buffers())
    if online_buffers.keys() != key_buffers.keys():
        raise ValueError("online and key encoders have different buffers")
    for name, b_key in key_buffers.items():
        b_key.copy_(online_buffers[name])
