"""Turning raw cosine scores into P(same | score), learned from the operator's own decisions.

Two methods, both monotonic non-decreasing in the score:

- "logistic" (Platt scaling): P(same | s) = 1 / (1 + exp(-(a * s + b))). Fitted by Newton's method
  (IRLS) on the standardised score z = (s - mean) / std with a small Gaussian prior on the parameters,
  i.e. minimising  -sum_i [y_i log p_i + (1 - y_i) log(1 - p_i)] + (alpha / 2) * (a_z^2 + b_z^2),
  so perfectly separable decisions give finite parameters instead of diverging. A negative slope (scores
  anti-correlated with decisions) is refused in favour of the constant base rate.
- "isotonic": pool-adjacent-violators gives the non-decreasing step fit minimising the squared error
  sum_i (y_i - f(s_i))^2; between the fitted scores it is interpolated linearly, flat outside, and
  clipped to [0.01, 0.99] so a handful of decisions never claims certainty.

With fewer than MIN_PER_CLASS decisions of either kind the calibrator stays unfitted and predict() returns
the raw scores clipped to [0, 1] (callers then label them "raw cosine").

`scored_verdicts` and `fit_calibration` are the one way verdicts become a calibration: the review
queue and the model report both fit on every "same" / "different" verdict in force, each scored
by the encoder at hand, so both count the same verdicts for the same encoder.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

import numpy as np

from reid_desktop.store import Decision

log = logging.getLogger(__name__)

METHODS = ("logistic", "isotonic")
_PRIOR = 1e-2  # L2 strength on the standardised parameters; negligible once there are dozens of decisions
_ISO_CLIP = (0.01, 0.99)


def _as_finite(values, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return arr


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # Written via exp(-|x|) so large |x| neither overflows nor loses precision.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _fit_platt(z: np.ndarray, y: np.ndarray, alpha: float = _PRIOR) -> tuple[float, float]:
    """Newton / IRLS for (slope, intercept) on standardised scores with an L2 prior of strength alpha."""
    x = np.column_stack([z, np.ones_like(z)])
    w = np.zeros(2)

    def loss(w: np.ndarray) -> float:
        t = x @ w
        # -log-likelihood: log(1 + e^t) - y t, computed stably with logaddexp.
        return float(np.sum(np.logaddexp(0.0, t) - y * t) + 0.5 * alpha * w @ w)

    current = loss(w)
    for _ in range(100):
        p = _sigmoid(x @ w)
        grad = x.T @ (p - y) + alpha * w
        hess = (x * (p * (1 - p))[:, None]).T @ x + alpha * np.eye(2)
        step = np.linalg.solve(hess, grad)
        # Backtracking keeps every iteration a descent step even far from the optimum.
        scale = 1.0
        while (new := loss(w - scale * step)) > current:
            scale /= 2
            if scale < 1e-8:
                return float(w[0]), float(w[1])  # no descent left: w is optimal to rounding
        w = w - scale * step
        done = current - new <= 1e-12 * max(1.0, current) or np.max(np.abs(scale * step)) < 1e-10
        current = new
        if done:
            break
    return float(w[0]), float(w[1])


def _pav(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pool-adjacent-violators. Returns the unique sorted scores and the non-decreasing fitted value at
    each; equal scores are pooled first so they share one value."""
    ux, inv = np.unique(x, return_inverse=True)
    weight = np.bincount(inv).astype(np.float64)
    mean = np.bincount(inv, weights=y) / weight
    # Stack of blocks (mean, weight, number of unique scores); merge while the order is violated.
    means: list[float] = []
    weights: list[float] = []
    sizes: list[int] = []
    for m, wt in zip(mean, weight, strict=True):
        means.append(float(m))
        weights.append(float(wt))
        sizes.append(1)
        while len(means) > 1 and means[-2] > means[-1]:
            wt_sum = weights[-2] + weights[-1]
            means[-2] = (means[-2] * weights[-2] + means[-1] * weights[-1]) / wt_sum
            weights[-2] = wt_sum
            sizes[-2] += sizes[-1]
            del means[-1], weights[-1], sizes[-1]
    return ux, np.repeat(means, sizes)


class ScoreCalibrator:
    """P(same | score) from labelled decisions (1 = same person, 0 = different)."""

    MIN_PER_CLASS = 10

    def __init__(self, method: str = "logistic") -> None:
        if method not in METHODS:
            raise ValueError(f"unknown calibration method {method!r}; use one of {METHODS}")
        self.method = method
        self.n_same = 0
        self.n_diff = 0
        self._platt: tuple[float, float] | None = None  # (slope, intercept) on raw scores
        self._iso: tuple[np.ndarray, np.ndarray] | None = None  # knots (score, probability)
        self._flat = False  # enough verdicts, but they do not follow the scores

    def fit(self, scores, labels) -> ScoreCalibrator:
        """Fit on decisions; with too few of either class the calibrator is left (or becomes) unfitted."""
        s = _as_finite(scores, "scores").reshape(-1)
        y = _as_finite(labels, "labels").reshape(-1)
        if len(s) != len(y):
            raise ValueError(f"{len(s)} scores but {len(y)} labels")
        if not np.isin(y, (0.0, 1.0)).all():
            raise ValueError("labels must be 0 (different) or 1 (same)")
        self.n_same, self.n_diff = int(np.count_nonzero(y == 1)), int(np.count_nonzero(y == 0))
        self._platt = self._iso = None
        self._flat = False
        if min(self.n_same, self.n_diff) < self.MIN_PER_CLASS:
            log.info("calibration: too few decisions (%d same / %d different)", self.n_same, self.n_diff)
            return self

        if self.method == "logistic":
            mu, sd = float(s.mean()), float(s.std())
            sd = sd if sd > 0 else 1.0  # all scores equal: only the intercept carries information
            a_z, b_z = _fit_platt((s - mu) / sd, y)
            if a_z <= 0:
                # Never rank a higher score as less likely the same person, and a flat P(same) tells
                # an operator nothing: stay on raw scores until the verdicts follow them.
                self._flat = True
                log.debug("calibration: decisions do not follow the scores yet; staying on raw cosine")
                return self
            self._platt = (a_z / sd, b_z - a_z * mu / sd)
        else:
            self._iso = _pav(s, y)
        log.info("calibration: %s", self.describe())
        return self

    @property
    def fitted(self) -> bool:
        return self._platt is not None or self._iso is not None

    @property
    def platt_params(self) -> tuple[float, float] | None:
        """(slope a, intercept b) of P = sigmoid(a * score + b) when fitted with "logistic"."""
        return self._platt

    def predict(self, scores) -> np.ndarray:
        s = _as_finite(scores, "scores")
        if self._platt is not None:
            a, b = self._platt
            return _sigmoid(a * s + b)
        if self._iso is not None:
            knots, probs = self._iso
            return np.clip(np.interp(s, knots, probs), *_ISO_CLIP)
        return np.clip(s, 0.0, 1.0)

    def describe(self) -> str:
        if self.fitted:
            return f"calibrated on {self.n_same} same / {self.n_diff} different decisions ({self.method})"
        if self._flat:
            return (
                f"raw cosine ({self.n_same} same / {self.n_diff} different verdicts do not follow the "
                "scores yet)"
            )
        need, have = self.MIN_PER_CLASS, f"{self.n_same} / {self.n_diff}"
        return f"raw cosine (need {need} same and {need} different decisions, have {have})"


def scored_verdicts(
    active: Iterable[Decision], score: Callable[[Decision], float | None]
) -> list[tuple[float, int]]:
    """(score, 1 for same / 0 for different) of the "same" and "different" verdicts in force that
    `score` can score under the encoder at hand (None: a crop without a feature there)."""
    out = []
    for d in active:
        if d.verdict in ("same", "different") and (s := score(d)) is not None:
            out.append((float(s), int(d.verdict == "same")))
    return out


def fit_calibration(scored: list[tuple[float, int]]) -> ScoreCalibrator:
    cal = ScoreCalibrator()
    if scored:
        arr = np.asarray(scored, dtype=np.float64)
        cal.fit(arr[:, 0], arr[:, 1].astype(np.int64))
    return cal
