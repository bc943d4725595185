"""Score calibration: Platt recovery, separable data, isotonic against brute force, unfitted behaviour."""

from __future__ import annotations

import numpy as np
import pytest

from reid_desktop.core.review.calibration import ScoreCalibrator


def _logistic_sample(seed: int, n: int, a: float, b: float):
    rng = np.random.default_rng(seed)
    s = rng.uniform(-0.2, 1.0, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(a * s + b)))).astype(int)
    return s, y


@pytest.mark.parametrize(("seed", "a", "b"), [(0, 8.0, -4.0), (1, 3.0, -1.0), (2, 15.0, -10.0)])
def test_platt_recovers_known_parameters(seed, a, b):
    s, y = _logistic_sample(seed, 20_000, a, b)
    cal = ScoreCalibrator("logistic").fit(s, y)
    assert cal.fitted
    fa, fb = cal.platt_params
    assert fa == pytest.approx(a, rel=0.1)
    assert fb == pytest.approx(b, rel=0.1, abs=0.15)
    grid = np.linspace(-0.2, 1.0, 25)
    np.testing.assert_allclose(cal.predict(grid), 1 / (1 + np.exp(-(a * grid + b))), atol=0.03)


def test_separable_data_stays_finite():
    rng = np.random.default_rng(5)
    s = np.r_[rng.uniform(0.7, 0.95, 15), rng.uniform(0.05, 0.4, 25)]
    y = np.r_[np.ones(15), np.zeros(25)]
    cal = ScoreCalibrator().fit(s, y)
    a, b = cal.platt_params
    assert np.isfinite([a, b]).all() and a > 0
    p = cal.predict(s)
    assert np.all((p > 0) & (p < 1))
    assert p[:15].min() > 0.95 and p[15:].max() < 0.05


def _brute_pav(x, y):
    """Textbook PAV: pool equal scores, then merge the first violating adjacent pair until none is left."""
    xs = sorted(set(x))
    blocks = [
        [sum(yi for xi, yi in zip(x, y, strict=True) if xi == v), sum(1 for xi in x if xi == v), 1]
        for v in xs
    ]
    changed = True
    while changed:
        changed = False
        for i in range(len(blocks) - 1):
            if blocks[i][0] / blocks[i][1] > blocks[i + 1][0] / blocks[i + 1][1]:
                blocks[i] = [blocks[i][k] + blocks[i + 1][k] for k in range(3)]
                del blocks[i + 1]
                changed = True
                break
    fitted = [s / w for s, w, size in blocks for _ in range(size)]
    return xs, fitted


def _minmax_isotonic(x, y):
    """Closed form: f_i = max_{j<=i} min_{k>=i} mean of the pooled values j..k (weighted by counts)."""
    xs = sorted(set(x))
    sums = [sum(yi for xi, yi in zip(x, y, strict=True) if xi == v) for v in xs]
    cnts = [sum(1 for xi in x if xi == v) for v in xs]
    n = len(xs)
    return [
        max(min(sum(sums[j : k + 1]) / sum(cnts[j : k + 1]) for k in range(i, n)) for j in range(i + 1))
        for i in range(n)
    ]


@pytest.mark.parametrize("seed", range(10))
def test_isotonic_matches_brute_force_pav(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(22, 45))
    x = (rng.integers(0, 15, n) / 15).tolist()  # coarse grid: plenty of tied scores
    y = (rng.random(n) < np.array(x) * 0.6 + 0.2).astype(int).tolist()
    y[:10], y[10:20] = [1] * 10, [0] * 10  # both classes have enough decisions
    cal = ScoreCalibrator("isotonic").fit(x, y)
    assert cal.fitted
    xs, want = _brute_pav(x, y)
    np.testing.assert_allclose(want, _minmax_isotonic(x, y), atol=1e-12)
    np.testing.assert_allclose(cal.predict(xs), np.clip(want, 0.01, 0.99), atol=1e-12)


@pytest.mark.parametrize("method", ["logistic", "isotonic"])
def test_monotonic_and_in_range(method):
    rng = np.random.default_rng(9)
    s = rng.uniform(0, 1, 200)
    y = (rng.random(200) < s).astype(int)
    cal = ScoreCalibrator(method).fit(s, y)
    grid = np.linspace(-1.5, 2.5, 2001)
    p = cal.predict(grid)
    assert np.all(np.diff(p) >= 0)
    assert np.all((p > 0) & (p < 1))
    if method == "isotonic":
        assert p.min() >= 0.01 and p.max() <= 0.99


def test_anti_correlated_decisions_do_not_invert_scores():
    rng = np.random.default_rng(2)
    s = rng.uniform(0, 1, 100)
    y = (s < 0.5).astype(int)
    cal = ScoreCalibrator().fit(s, y)
    p = cal.predict(np.linspace(0, 1, 11))
    assert np.all(np.diff(p) >= 0)
    assert not cal.fitted and "do not follow the scores" in cal.describe()  # raw scores, not a flat P


def test_unfitted_returns_clipped_raw_scores():
    cal = ScoreCalibrator()
    assert not cal.fitted
    np.testing.assert_array_equal(cal.predict([-0.3, 0.4, 1.2]), [0.0, 0.4, 1.0])
    assert cal.describe() == "raw cosine (need 10 same and 10 different decisions, have 0 / 0)"
    cal.fit([0.9, 0.8, 0.7, 0.1], [1, 1, 1, 0])
    assert not cal.fitted and cal.platt_params is None
    assert cal.describe() == "raw cosine (need 10 same and 10 different decisions, have 3 / 1)"
    np.testing.assert_array_equal(cal.predict(0.5), 0.5)


def test_refit_with_too_few_decisions_unfits():
    s, y = _logistic_sample(3, 85, 8.0, -4.0)
    cal = ScoreCalibrator("isotonic").fit(s, y)
    assert cal.fitted
    n_same, n_diff = int(y.sum()), int(len(y) - y.sum())
    assert cal.describe() == f"calibrated on {n_same} same / {n_diff} different decisions (isotonic)"
    cal.fit(s[:5], y[:5])
    assert not cal.fitted


def test_describe_fitted_logistic():
    s = np.r_[np.linspace(0.5, 0.9, 34), np.linspace(0.1, 0.6, 51)]
    y = np.r_[np.ones(34), np.zeros(51)]
    cal = ScoreCalibrator().fit(s, y)
    assert cal.describe() == "calibrated on 34 same / 51 different decisions (logistic)"


def test_rejects_bad_input():
    cal = ScoreCalibrator()
    with pytest.raises(ValueError):
        cal.fit([0.1, np.nan] * 10, [0, 1] * 10)
    with pytest.raises(ValueError):
        cal.fit([0.1, 0.2] * 10, [0, np.nan] * 10)
    with pytest.raises(ValueError):
        cal.predict([0.5, np.nan])
    with pytest.raises(ValueError):
        cal.fit([0.1, 0.2], [0])
    with pytest.raises(ValueError):
        cal.fit([0.1, 0.2], [0, 2])
    with pytest.raises(ValueError):
        ScoreCalibrator("platt")
