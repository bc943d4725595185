"""trainer.losses against brute-force loops (plain Python / math / numpy) and hand-placed 2-D points."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from trainer.losses import (  # noqa: E402
    BatchHardTriplet,
    CompactLoss,
    CosineSoftmax,
    CrossEntropyLabelSmooth,
    InfoNCE,
    InherentCodeLoss,
    MoCoQueue,
    PersonStructureLoss,
    ScatterLoss,
    SupervisedInfoNCE,
    momentum_update,
)

LABELS = [0, 0, 1, 1, 1, 2, 3, 3]  # P×K-ish batch with a singleton identity (2)


def rnd(*shape: int, seed: int = 0, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=dtype)


def lab(values: list[int]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.long)


def assert_grad_ok(t: torch.Tensor) -> None:
    assert t.grad is not None and torch.isfinite(t.grad).all()


# ---------------------------------------------------------------- brute-force references


def np_norm(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)


def bf_log_softmax(row: list[float]) -> list[float]:
    m = max(row)
    lse = m + math.log(sum(math.exp(v - m) for v in row))
    return [v - lse for v in row]


def bf_label_smooth(logits: np.ndarray, targets: list[int], eps: float) -> float:
    n, c = logits.shape
    total = 0.0
    for i in range(n):
        logp = bf_log_softmax(list(logits[i]))
        for k in range(c):
            q = (1 - eps) * (k == targets[i]) + eps / c
            total -= q * logp[k]
    return total / n


def bf_triplet(x: np.ndarray, labels: list[int], margin: float | None, distance: str) -> float:
    def d(a: np.ndarray, b: np.ndarray) -> float:
        if distance == "cosine":
            return 1.0 - float(np_norm(a) @ np_norm(b))
        return math.sqrt(sum((ai - bi) ** 2 for ai, bi in zip(a, b, strict=True)))

    losses = []
    for a in range(len(x)):
        if labels[a] < 0:
            continue
        pos = [d(x[a], x[p]) for p in range(len(x)) if p != a and labels[p] == labels[a]]
        neg = [d(x[a], x[n]) for n in range(len(x)) if labels[n] >= 0 and labels[n] != labels[a]]
        if not pos or not neg:
            continue
        gap = max(pos) - min(neg)
        losses.append(math.log1p(math.exp(gap)) if margin is None else max(0.0, gap + margin))
    return sum(losses) / len(losses) if losses else 0.0


def bf_infonce(q: np.ndarray, k: np.ndarray, queue: np.ndarray, tau: float) -> float:
    total = 0.0
    for i in range(len(q)):
        qi = np_norm(q[i])
        pos = math.exp(float(qi @ np_norm(k[i])) / tau)
        neg = sum(math.exp(float(qi @ np_norm(kq)) / tau) for kq in queue)
        total -= math.log(pos / (pos + neg))
    return total / len(q)


def bf_sup_infonce(
    q: np.ndarray, k: np.ndarray, labels: list[int], queue: np.ndarray, qlabels: list[int], tau: float
) -> float:
    total = 0.0
    for i in range(len(q)):
        qi = np_norm(q[i])
        cands = [(float(qi @ np_norm(k[i])) / tau, True)]  # (logit, is_positive)
        for j in range(len(q)):
            if j != i and labels[i] >= 0 and labels[j] == labels[i]:
                cands.append((float(qi @ np_norm(k[j])) / tau, True))
        for m in range(len(queue)):
            is_pos = labels[i] >= 0 and qlabels[m] == labels[i]
            cands.append((float(qi @ np_norm(queue[m])) / tau, is_pos))
        denom = sum(math.exp(s) for s, _ in cands)
        pos_logp = [math.log(math.exp(s) / denom) for s, is_pos in cands if is_pos]
        total += -sum(pos_logp) / len(pos_logp)
    return total / len(q)


def bf_centres(x: np.ndarray, labels: list[int]) -> dict[int, np.ndarray]:
    centres = {}
    for p in sorted(set(labels)):
        members = [x[i] for i in range(len(x)) if labels[i] == p]
        centres[p] = sum(members) / len(members)
    return centres


def sqdist(a: np.ndarray, b: np.ndarray) -> float:
    return sum((float(ai) - float(bi)) ** 2 for ai, bi in zip(a, b, strict=True))


def bf_compact(x: np.ndarray, labels: list[int], mean: bool = True) -> float:
    centres = bf_centres(x, labels)
    if len(centres) < 2:
        return 0.0
    total = 0.0
    for i in range(len(x)):
        p = labels[i]
        d_min = 0.5 * min(math.sqrt(sqdist(centres[p], centres[q])) for q in centres if q != p)
        total += 0.5 * max(0.0, sqdist(x[i], centres[p]) - d_min**2)
    return total / len(x) if mean else total


def bf_scatter(x: np.ndarray, labels: list[int], mean: bool = True) -> float:
    centres = bf_centres(x, labels)
    total = 0.0
    for i in range(len(x)):
        for j, c in centres.items():
            if j != labels[i]:
                total += 0.5 * sqdist(x[i], c)
    return total / len(x) if mean else total


def bf_structure(s: np.ndarray, labels: list[int]) -> float:
    n, k, _ = s.shape

    def rel(crop: np.ndarray) -> list[list[float]]:
        return [[float(np_norm(crop[i]) @ np_norm(crop[j])) for j in range(k)] for i in range(k)]

    pairs = []
    for a in range(n):
        for b in range(a + 1, n):
            if labels[a] >= 0 and labels[a] == labels[b]:
                ra, rb = rel(s[a]), rel(s[b])
                fro = sum((ra[i][j] - rb[i][j]) ** 2 for i in range(k) for j in range(k))
                pairs.append(fro / k**2)
    return sum(pairs) / len(pairs) if pairs else 0.0


# ---------------------------------------------------------------- classification


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.5])
def test_label_smooth_matches_bruteforce(eps: float) -> None:
    logits = rnd(6, 5, seed=1).mul(3).requires_grad_()
    targets = [0, 4, 2, 2, 1, 3]
    loss = CrossEntropyLabelSmooth(5, epsilon=eps)(logits, lab(targets))
    assert loss.item() == pytest.approx(bf_label_smooth(logits.detach().numpy(), targets, eps), rel=1e-10)
    loss.backward()
    assert_grad_ok(logits)


def test_label_smooth_eps0_is_cross_entropy_and_matches_torch_smoothing() -> None:
    logits, targets = rnd(7, 4, seed=2), lab([0, 1, 2, 3, 3, 2, 1])
    plain = CrossEntropyLabelSmooth(4, epsilon=0.0)(logits, targets)
    torch.testing.assert_close(plain, F.cross_entropy(logits, targets))
    smooth = CrossEntropyLabelSmooth(4, epsilon=0.2)(logits, targets)
    torch.testing.assert_close(smooth, F.cross_entropy(logits, targets, label_smoothing=0.2))
    with pytest.raises(ValueError):
        CrossEntropyLabelSmooth(5)(logits, targets)


def test_cosine_softmax_hand_placed_2d() -> None:
    head = CosineSoftmax(2, 3, scale=10.0)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[2.0, 0.0], [0.0, 5.0], [-1.0, -1.0]]))
    logits = head(torch.tensor([[3.0, 0.0], [1.0, 1.0]]))
    s = 10 / math.sqrt(2)
    expected = torch.tensor([[10.0, 0.0, -s], [s, s, -10.0]])
    torch.testing.assert_close(logits, expected)


@pytest.mark.parametrize("scale", [None, 4.0])
def test_cosine_softmax_matches_bruteforce_and_is_bounded(scale: float | None) -> None:
    torch.manual_seed(0)
    head = CosineSoftmax(6, 5, scale=scale)
    feats = rnd(9, 6, seed=3).mul(50).requires_grad_()
    logits = head(feats)
    kappa = 16.0 if scale is None else scale
    assert float(head.scale.detach()) == pytest.approx(kappa, rel=1e-6)
    w = head.weight.detach().double().numpy()
    for i in range(9):
        r = np_norm(feats[i].detach().numpy())
        for k in range(5):
            assert logits[i, k].item() == pytest.approx(kappa * float(np_norm(w[k]) @ r), abs=1e-5)
    assert logits.abs().max().item() <= kappa * (1 + 1e-6)
    CrossEntropyLabelSmooth(5)(logits, lab([0, 1, 2, 3, 4, 0, 1, 2, 3])).backward()
    assert_grad_ok(feats)
    assert torch.isfinite(head.weight.grad).all()
    names = {n for n, _ in head.named_parameters()}
    assert ("raw_scale" in names) == (scale is None)  # κ learned only when no scale is given
    if scale is None:
        assert head.raw_scale.grad is not None and torch.isfinite(head.raw_scale.grad)


def test_cosine_softmax_learned_scale_stays_positive() -> None:
    head = CosineSoftmax(4, 3)
    with torch.no_grad():
        head.raw_scale.fill_(-30.0)
    assert float(head.scale.detach()) > 0


# ---------------------------------------------------------------- triplet

# Hand-placed 2-D points: identity 0 at (0,0),(0,2); identity 1 at (3,0),(3,4); identity 2 alone at
# (10,10) (a negative only); an unknown (−1) crop at (0,1) that must be ignored.
PTS = torch.tensor([[0.0, 0.0], [0.0, 2.0], [3.0, 0.0], [3.0, 4.0], [10.0, 10.0], [0.0, 1.0]])
PTS_LABELS = lab([0, 0, 1, 1, 2, -1])


def test_batch_hard_triplet_hand_placed_2d() -> None:
    # Anchor 0: hardest pos 2, hardest neg 3 (→ (3,0))       → max(0, 2 − 3 + 0.3) = 0
    # Anchor 1: hardest pos 2, hardest neg √13               → 0
    # Anchor 2: hardest pos 4, hardest neg 3 (→ (0,0))       → 1.3
    # Anchor 3: hardest pos 4, hardest neg √13 (→ (0,2))     → 4.3 − √13
    # Anchor 4 has no positive and is skipped; the unknown (0,1) would be a nearer neighbour of all.
    hard = BatchHardTriplet(margin=0.3)(PTS, PTS_LABELS)
    assert hard.item() == pytest.approx((1.3 + 4.3 - math.sqrt(13)) / 4, rel=1e-6)
    soft = BatchHardTriplet(margin=None)(PTS, PTS_LABELS)
    gaps = [2 - 3, 2 - math.sqrt(13), 4 - 3, 4 - math.sqrt(13)]
    assert soft.item() == pytest.approx(sum(math.log1p(math.exp(g)) for g in gaps) / 4, rel=1e-6)


@pytest.mark.parametrize("distance", ["euclidean", "cosine"])
@pytest.mark.parametrize("margin", [0.3, 1.0, None])
def test_batch_hard_triplet_matches_bruteforce(distance: str, margin: float | None) -> None:
    labels = [*LABELS, -1]
    x = rnd(len(labels), 5, seed=4).requires_grad_()
    loss = BatchHardTriplet(margin=margin, distance=distance)(x, lab(labels))
    assert loss.item() == pytest.approx(bf_triplet(x.detach().numpy(), labels, margin, distance), rel=1e-9)
    loss.backward()
    assert_grad_ok(x)
    assert x.grad[-1].abs().sum() == 0  # the unknown crop takes no part


def test_batch_hard_triplet_without_valid_anchor_is_differentiable_zero() -> None:
    for labels in ([0, 1, 2], [5, 5, 5]):
        x = rnd(3, 4, seed=5).requires_grad_()
        loss = BatchHardTriplet()(x, lab(labels))
        assert loss.item() == 0.0 and loss.requires_grad
        loss.backward()
        assert_grad_ok(x)
    assert BatchHardTriplet()(rnd(3, 4), lab([0, 1, 2])).requires_grad


def test_batch_hard_triplet_coincident_points_have_finite_gradients() -> None:
    x = torch.tensor([[1.0, 1.0], [1.0, 1.0], [2.0, 1.0], [2.0, 1.0]], requires_grad=True)
    BatchHardTriplet()(x, lab([0, 0, 1, 1])).backward()
    assert_grad_ok(x)


# ---------------------------------------------------------------- contrastive


def test_infonce_hand_placed_2d() -> None:
    q, k, queue = torch.tensor([[1.0, 0.0]]), torch.tensor([[2.0, 0.0]]), torch.tensor([[-3.0, 0.0]])
    # τ = 1: −log(e / (e + e⁻¹)) = log(1 + e⁻²)
    assert InfoNCE(1.0)(q, k, queue).item() == pytest.approx(math.log1p(math.exp(-2)), rel=1e-6)
    # The queue key shares the query's identity: positives {k+, queue}, L = −½(1 − lse + (−1) − lse)
    sup = SupervisedInfoNCE(1.0)(q, k, lab([7]), queue, lab([7]))
    assert sup.item() == pytest.approx(math.log(math.e + math.exp(-1)), rel=1e-6)


def test_infonce_matches_bruteforce_and_cross_entropy() -> None:
    q, k, queue = rnd(5, 8, seed=6).requires_grad_(), rnd(5, 8, seed=7), rnd(12, 8, seed=8)
    loss = InfoNCE(0.07)(q, k, queue)
    expected = bf_infonce(q.detach().numpy(), k.numpy(), queue.numpy(), 0.07)
    assert loss.item() == pytest.approx(expected, rel=1e-9)
    qn, kn, nn_ = F.normalize(q, dim=1), F.normalize(k, dim=1), F.normalize(queue, dim=1)
    logits = torch.cat([(qn * kn).sum(1, keepdim=True), qn @ nn_.t()], dim=1) / 0.07
    torch.testing.assert_close(loss, F.cross_entropy(logits, torch.zeros(5, dtype=torch.long)))
    loss.backward()
    assert_grad_ok(q)
    # A float32 queue (MoCoQueue's buffers) with float64 queries.
    torch.testing.assert_close(InfoNCE(0.07)(q, k, queue.float()), loss, rtol=1e-6, atol=1e-6)
    # No queue: the positive is the only candidate.
    assert InfoNCE()(q.detach(), k).item() == pytest.approx(0.0, abs=1e-12)


def test_supervised_infonce_matches_bruteforce() -> None:
    labels = [0, 0, 1, 2, -1, -1]
    qlabels = [0, 1, -1, 2, 2, 3, -1, 0, 1, -1]
    q = rnd(6, 4, seed=9).requires_grad_()
    k = rnd(6, 4, seed=10).requires_grad_()
    queue = rnd(10, 4, seed=11)
    loss = SupervisedInfoNCE(0.5)(q, k, lab(labels), queue, lab(qlabels))
    expected = bf_sup_infonce(q.detach().numpy(), k.detach().numpy(), labels, queue.numpy(), qlabels, 0.5)
    assert loss.item() == pytest.approx(expected, rel=1e-9)
    loss.backward()
    assert_grad_ok(q)
    assert_grad_ok(k)


def test_supervised_infonce_reduces_to_infonce_without_label_matches() -> None:
    q, k, queue = rnd(5, 8, seed=12), rnd(5, 8, seed=13), rnd(9, 8, seed=14)
    plain = InfoNCE(0.1)(q, k, queue)
    unknown = lab([-1] * 9)
    torch.testing.assert_close(SupervisedInfoNCE(0.1)(q, k, lab([0, 1, 2, 3, 4]), queue, unknown), plain)
    torch.testing.assert_close(SupervisedInfoNCE(0.1)(q, k, lab([-1] * 5), queue, unknown), plain)
    torch.testing.assert_close(SupervisedInfoNCE(0.1)(q, k, lab([-1] * 5), queue), plain)


def test_moco_queue_fifo_wraparound() -> None:
    queue = MoCoQueue(dim=2, size=5)
    assert len(queue) == 0 and queue.keys.shape == (0, 2)

    def batch(start: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        # Key i points at angle i, so a stored key identifies its batch position after normalising.
        ang = torch.arange(start, start + n, dtype=torch.float32)
        return torch.stack([ang.cos(), ang.sin()], 1) * 3.0, torch.arange(start, start + n)

    queue.enqueue(*batch(0, 3))
    assert len(queue) == 3 and queue.labels.tolist() == [0, 1, 2]
    queue.enqueue(*batch(3, 4))  # 5, 6 wrap around into slots 0, 1
    assert len(queue) == 5 and int(queue.ptr) == 2
    assert queue.labels.tolist() == [5, 6, 2, 3, 4]
    keys, labels = queue.oldest_first()
    assert labels.tolist() == [2, 3, 4, 5, 6]
    torch.testing.assert_close(keys, batch(2, 5)[0] / 3.0)
    torch.testing.assert_close(queue.keys.norm(dim=1), torch.ones(5))

    queue.enqueue(*batch(10, 7))  # more keys than slots: only the newest 5 survive, in order
    assert queue.oldest_first()[1].tolist() == [12, 13, 14, 15, 16] and int(queue.ptr) == 4
    queue.enqueue(torch.ones(1, 2))
    assert queue.oldest_first()[1].tolist() == [13, 14, 15, 16, -1]

    restored = MoCoQueue(dim=2, size=5)
    restored.load_state_dict(queue.state_dict())
    assert restored.oldest_first()[1].tolist() == [13, 14, 15, 16, -1]
    with pytest.raises(ValueError):
        queue.enqueue(torch.ones(2, 3))


def test_moco_queue_feeds_supervised_infonce() -> None:
    queue = MoCoQueue(dim=4, size=8)
    queue.enqueue(rnd(6, 4, seed=15), lab([0, 1, -1, 2, 0, -1]))
    q, k = rnd(3, 4, seed=16).float(), rnd(3, 4, seed=17).float()
    loss = SupervisedInfoNCE()(q, k, lab([0, 1, 3]), queue.keys, queue.labels)
    expected = bf_sup_infonce(
        q.numpy(), k.numpy(), [0, 1, 3], queue.keys.numpy(), queue.labels.tolist(), 0.07
    )
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def _encoder(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))


def test_momentum_update() -> None:
    online, key = _encoder(0), _encoder(1)
    online.train()
    online(torch.randn(8, 3))  # moves BatchNorm running stats
    before = {n: t.clone() for n, t in key.state_dict().items()}

    momentum_update(online, key, m=1.0)
    for n, t in key.named_parameters():
        assert torch.equal(t, before[n])
    for n, t in key.named_buffers():
        assert torch.equal(t, online.state_dict()[n])  # buffers are copied whatever m is

    momentum_update(online, key, m=0.75)
    for (n, t), o in zip(key.named_parameters(), online.parameters(), strict=True):
        torch.testing.assert_close(t, 0.75 * before[n] + 0.25 * o)
        assert not t.requires_grad or t.grad is None

    momentum_update(online, key, m=0.0)
    for a, b in zip(key.state_dict().values(), online.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    with pytest.raises(ValueError):
        momentum_update(online, nn.Linear(3, 4))


# ---------------------------------------------------------------- compact / scatter (method B)


def test_compact_and_scatter_hand_placed_2d() -> None:
    # Identity 0 at (0,0),(2,0) → centre (1,0); identity 1 at (5,0),(7,0) → centre (6,0); d_min = 2.5.
    x = torch.tensor([[0.0, 0.0], [2.0, 0.0], [5.0, 0.0], [7.0, 0.0]])
    y = lab([0, 0, 1, 1])
    assert CompactLoss()(x, y).item() == 0.0  # spreads 1 < d_min² = 6.25
    # Scatter: ½·(6² + 4² + 4² + 6²) = 52 summed, 13 per sample.
    assert ScatterLoss("sum")(x, y).item() == pytest.approx(52.0)
    assert ScatterLoss()(x, y).item() == pytest.approx(13.0)
    # Identity 0 spread out to (−3,0),(5,0): centre (1,0), spread 16 each → ½·2·(16 − 6.25) = 9.75.
    far = torch.tensor([[-3.0, 0.0], [5.0, 0.0], [5.0, 0.0], [7.0, 0.0]])
    assert CompactLoss("sum")(far, y).item() == pytest.approx(9.75)
    assert CompactLoss()(far, y).item() == pytest.approx(9.75 / 4)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_compact_and_scatter_match_bruteforce(reduction: str) -> None:
    x = rnd(len(LABELS), 6, seed=18).mul(2).requires_grad_()
    mean = reduction == "mean"
    cl = CompactLoss(reduction)(x, lab(LABELS))
    sl = ScatterLoss(reduction)(x, lab(LABELS))
    xn = x.detach().numpy()
    assert cl.item() > 0
    assert cl.item() == pytest.approx(bf_compact(xn, LABELS, mean), rel=1e-9)
    assert sl.item() == pytest.approx(bf_scatter(xn, LABELS, mean), rel=1e-9)
    (cl - sl).backward()
    assert_grad_ok(x)


def test_compact_zero_at_centres_positive_when_far_out() -> None:
    centres = {0: [0.0, 0.0, 0.0], 1: [4.0, 0.0, 0.0], 2: [0.0, 5.0, 1.0]}
    labels = [0, 0, 1, 1, 1, 2, 2]
    x = torch.tensor([centres[p] for p in labels], requires_grad=True)
    loss = CompactLoss()(x, lab(labels))
    assert loss.item() == 0.0
    loss.backward()
    assert_grad_ok(x)
    x2 = x.detach().clone()
    x2[0] += torch.tensor([0.0, 0.0, 9.0])
    x2[1] -= torch.tensor([0.0, 0.0, 9.0])  # same centre, but far out of its sphere
    assert CompactLoss()(x2, lab(labels)).item() > 0


def test_scatter_grows_when_centres_move_apart() -> None:
    base = rnd(len(LABELS), 4, seed=19).float()
    labels = lab(LABELS)
    direction = torch.tensor([float(p) for p in LABELS])[:, None] * torch.tensor([[1.0, -1.0, 0.5, 0.0]])
    values = [ScatterLoss()(base + t * direction, labels).item() for t in (0.0, 1.0, 2.0, 4.0)]
    assert values == sorted(values) and values[0] < values[-1]


def test_compact_scatter_single_identity_and_bad_labels() -> None:
    x = rnd(4, 3, seed=20).requires_grad_()
    for loss_fn in (CompactLoss(), ScatterLoss()):
        loss = loss_fn(x, lab([3, 3, 3, 3]))
        assert loss.item() == 0.0 and loss.requires_grad
        loss.backward()
        with pytest.raises(ValueError):
            loss_fn(x, lab([0, 1, -1, 1]))
    assert_grad_ok(x)


def test_inherent_code_loss_composition() -> None:
    torch.manual_seed(0)
    crit = InherentCodeLoss(num_classes=4, feat_dim=6, beta=0.5, gamma=0.01)
    codes = rnd(len(LABELS), 6, seed=21).float().requires_grad_()
    total, terms = crit(codes, lab(LABELS))
    assert set(terms) == {"sr", "compact", "scatter", "total"}
    xn = codes.detach().double().numpy()
    w = crit.classifier.weight.detach().double().numpy()
    b = crit.classifier.bias.detach().double().numpy()
    sr = bf_label_smooth(xn @ w.T + b, LABELS, 0.0)
    cl, sl = bf_compact(xn, LABELS), bf_scatter(xn, LABELS)
    assert terms["sr"] == pytest.approx(sr, rel=1e-5)
    assert terms["compact"] == pytest.approx(cl, rel=1e-5)
    assert terms["scatter"] == pytest.approx(sl, rel=1e-5)
    assert total.item() == pytest.approx(sr + 0.5 * cl - 0.01 * sl, rel=1e-5)  # scatter is SUBTRACTED
    assert terms["total"] == pytest.approx(total.item())
    total.backward()
    assert_grad_ok(codes)
    assert torch.isfinite(crit.classifier.weight.grad).all()
    assert InherentCodeLoss(4, 6).beta == 5e-5 and InherentCodeLoss(4, 6).gamma == 1e-6


# ---------------------------------------------------------------- person structure (method A)


def test_person_structure_hand_placed_2d() -> None:
    # K = 2: crop a stripes (1,0),(0,5) → R_a = I; crop b stripes (2,0),(1,1) → off-diagonal 1/√2.
    # ||R_a − R_b||²_F = 2·½ = 1, / K² = 0.25. Crop c (another identity) must not count.
    s = torch.tensor([[[1.0, 0.0], [0.0, 5.0]], [[2.0, 0.0], [1.0, 1.0]], [[1.0, 0.0], [-1.0, 0.0]]])
    assert PersonStructureLoss()(s, lab([4, 4, 9])).item() == pytest.approx(0.25, rel=1e-6)


def test_person_structure_matches_bruteforce() -> None:
    labels = [*LABELS, -1, -1]
    s = rnd(len(labels), 4, 5, seed=22).requires_grad_()
    loss = PersonStructureLoss()(s, lab(labels))
    assert loss.item() == pytest.approx(bf_structure(s.detach().numpy(), labels), rel=1e-9)
    loss.backward()
    assert_grad_ok(s)
    assert s.grad[-2:].abs().sum() == 0  # unknown crops are never paired


def test_person_structure_zero_for_identical_structure_and_scale_invariant() -> None:
    a = rnd(1, 6, 8, seed=23).float()
    rot, _ = torch.linalg.qr(rnd(8, 8, seed=24).float())  # rotating all stripes keeps every cosine
    same = torch.cat([a, a * 3.0, a @ rot])
    assert PersonStructureLoss()(same, lab([1, 1, 1])).item() == pytest.approx(0.0, abs=1e-10)

    s, labels = rnd(len(LABELS), 6, 8, seed=25).float(), lab(LABELS)
    scales = rnd(len(LABELS), 6, 1, seed=26).float().abs() * 10 + 0.01
    torch.testing.assert_close(PersonStructureLoss()(s * scales, labels), PersonStructureLoss()(s, labels))


def test_person_structure_without_pairs_is_differentiable_zero() -> None:
    s = rnd(3, 4, 5, seed=27).requires_grad_()
    loss = PersonStructureLoss()(s, lab([0, 1, -1]))
    assert loss.item() == 0.0 and loss.requires_grad
    loss.backward()
    assert_grad_ok(s)


# ---------------------------------------------------------------- every loss under bf16 autocast


def _cases() -> dict[str, tuple]:
    """name → (callable taking the float inputs, list of float input tensors)."""
    torch.manual_seed(1)
    head = CosineSoftmax(6, 4)
    inherent = InherentCodeLoss(4, 6, beta=0.1, gamma=0.01)
    y = lab(LABELS)
    n = len(LABELS)
    queue = F.normalize(rnd(16, 6, seed=30).float(), dim=1)
    qlabels = lab([0, 1, 2, 3, -1, -1, 0, 1] * 2)
    return {
        "label_smooth": (lambda z: CrossEntropyLabelSmooth(4)(z, y % 4), [rnd(n, 4, seed=31) * 5]),
        "cosine_softmax": (lambda f: CrossEntropyLabelSmooth(4)(head(f), y % 4), [rnd(n, 6, seed=32)]),
        "triplet": (lambda x: BatchHardTriplet()(x, y), [rnd(n, 6, seed=33)]),
        "triplet_cos": (lambda x: BatchHardTriplet(None, "cosine")(x, y), [rnd(n, 6, seed=34)]),
        "infonce": (lambda q, k: InfoNCE()(q, k, queue), [rnd(n, 6, seed=35), rnd(n, 6, seed=36)]),
        "sup_infonce": (
            lambda q, k: SupervisedInfoNCE()(q, k, y, queue, qlabels),
            [rnd(n, 6, seed=37), rnd(n, 6, seed=38)],
        ),
        "compact": (lambda x: CompactLoss()(x, y), [rnd(n, 6, seed=39) * 3]),
        "scatter": (lambda x: ScatterLoss()(x, y), [rnd(n, 6, seed=40) * 3]),
        "inherent": (lambda x: inherent(x, y)[0], [rnd(n, 6, seed=41)]),
        "structure": (lambda s: PersonStructureLoss()(s, y), [rnd(n, 4, 6, seed=42)]),
    }


@pytest.mark.parametrize("name", list(_cases()))
def test_losses_under_bf16_autocast(name: str) -> None:
    fn, inputs = _cases()[name]
    # The reference runs in float32 on the same bf16-rounded values: inside, the losses compute in fp32.
    bf16 = [t.to(torch.bfloat16).requires_grad_() for t in inputs]
    reference = fn(*[t.detach().float() for t in bf16])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = fn(*bf16)
        from_fp32 = fn(*[t.float() for t in inputs])
    assert loss.dtype == torch.float32 and loss.ndim == 0
    torch.testing.assert_close(loss, reference, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(from_fp32, fn(*[t.float() for t in inputs]), rtol=1e-5, atol=1e-6)
    loss.backward()
    for t in bf16:
        assert t.grad is not None and t.grad.dtype == torch.bfloat16 and torch.isfinite(t.grad.float()).all()
