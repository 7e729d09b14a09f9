"""Report statistics against a hand-written reference (a plain numpy bootstrap) and exact cases."""
import numpy as np
import pandas as pd
import pytest

from richneuron import stats


def numpy_bootstrap(a, b, stat, n=20000, seed=1):
    rng = np.random.default_rng(seed)
    ra = a[rng.integers(0, len(a), (n, len(a)))]
    rb = b[rng.integers(0, len(b), (n, len(b)))]
    return np.percentile(stat(ra, rb), [2.5, 97.5])


A = np.array([0.9, 1.3, 1.1, 0.7, 1.6])
B = np.array([0.10, 0.14, 0.08, 0.12, 0.11])


def test_ratio_ci_matches_a_plain_bootstrap():
    r, lo, hi = stats.ratio_ci(A, B)
    assert r == pytest.approx(A.mean() / B.mean())
    ref = numpy_bootstrap(A, B, lambda x, y: x.mean(1) / y.mean(1))
    assert lo == pytest.approx(ref[0], rel=0.03) and hi == pytest.approx(ref[1], rel=0.03)


def test_geometric_ratio_and_geo_ci():
    r, lo, hi = stats.ratio_ci(A, B, log=True)
    assert r == pytest.approx(np.exp(np.log(A).mean() - np.log(B).mean()))
    assert lo < r < hi
    g, glo, ghi = stats.geo_ci(A)
    assert g == pytest.approx(np.exp(np.log(A).mean())) and glo < g < ghi


def test_diff_ci_matches_a_plain_bootstrap_and_is_exact_without_spread():
    d, lo, hi = stats.diff_ci(A, B)
    ref = numpy_bootstrap(A, B, lambda x, y: x.mean(1) - y.mean(1))
    assert d == pytest.approx(A.mean() - B.mean())
    assert lo == pytest.approx(ref[0], abs=0.02) and hi == pytest.approx(ref[1], abs=0.02)
    assert stats.diff_ci([1.0, 1.0], [0.5, 0.5]) == (0.5, 0.5, 0.5)


def test_too_few_seeds_give_no_interval():
    r, lo, hi = stats.ratio_ci([1.0], [2.0, 3.0])
    assert r == pytest.approx(0.4) and np.isnan(lo) and np.isnan(hi)


def test_summarize_excludes_and_counts_diverged():
    m = pd.DataFrame({"arch": ["a"] * 3 + ["b"] * 2, "task": "t", "metric": "mse",
                      "test_mse": [1.0, 3.0, np.nan, 2.0, 4.0], "diverged": [False, False, True, False, False]})
    s = stats.summarize(m).set_index("arch")
    assert s.loc["a", "mean"] == 2.0 and s.loc["a", "count"] == 2 and s.loc["a", "diverged"] == 1
    assert s.loc["b", "std"] == pytest.approx(np.std([2.0, 4.0], ddof=1))


def test_ranks_respect_the_metric_direction():
    t = pd.DataFrame({"arch": ["a", "b", "a", "b"], "task": ["m", "m", "c", "c"], "mean": [0.1, 0.2, 0.9, 0.8]})
    r = stats.ranks(t, {"m": "mse", "c": "accuracy"}).set_index(["task", "arch"])["rank"]
    assert r[("m", "a")] == 1 and r[("m", "b")] == 2 and r[("c", "a")] == 1 and r[("c", "b")] == 2
