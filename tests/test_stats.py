"""`stats.compare` against scipy/statsmodels references and by coverage simulation; verdict rules."""
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.weightstats import ttost_ind

from richneuron import stats

A = np.array([0.9, 1.3, 1.1, 0.7, 1.6])
B = np.array([0.10, 0.14, 0.08, 0.12, 0.11])


def welch_by_hand(x, y, conf=0.95):
    """Welch's interval for mean(x) − mean(y), from the textbook formulas."""
    vx, vy, nx, ny = x.var(ddof=1), y.var(ddof=1), len(x), len(y)
    se = math.sqrt(vx / nx + vy / ny)
    df = (vx / nx + vy / ny) ** 2 / ((vx / nx) ** 2 / (nx - 1) + (vy / ny) ** 2 / (ny - 1))
    q = st.t.ppf(0.5 + conf / 2, df)
    d = x.mean() - y.mean()
    return d, d - q * se, d + q * se, 2 * st.t.sf(abs(d) / se, df)


def test_log_scale_is_welch_on_logs_exponentiated():
    c = stats.compare(A, B, scale="log")
    d, lo, hi, p = welch_by_hand(np.log(A), np.log(B))
    assert c.estimate == pytest.approx(math.exp(d)) and c.estimate == pytest.approx(st.gmean(A) / st.gmean(B))
    assert c.low == pytest.approx(math.exp(lo)) and c.high == pytest.approx(math.exp(hi))
    assert c.p_value == pytest.approx(p)
    assert c.equivalent is None and c.direction() == 1


def test_linear_scale_is_welch_on_values():
    c = stats.compare(B, A, scale="linear", confidence=0.9)
    d, lo, hi, p = welch_by_hand(B, A, 0.9)
    assert (c.estimate, c.low, c.high, c.p_value) == pytest.approx((d, lo, hi, p))
    assert c.direction() == -1


def test_equivalence_is_statsmodels_tost():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 40), rng.normal(0.05, 1, 40)
    c = stats.compare(a, b, scale="linear", margin=0.8)
    p_ref = ttost_ind(a, b, -0.8, 0.8, usevar="unequal")[0]
    assert c.p_equivalence == pytest.approx(p_ref) and c.equivalent is bool(p_ref < 0.05) is True
    far = stats.compare(a + 3, b, scale="linear", margin=0.8)
    assert far.equivalent is False and far.direction() == 1
    lg = stats.compare(np.exp(a), np.exp(b), scale="log", margin=2.0)
    assert lg.p_equivalence == pytest.approx(ttost_ind(a, b, -math.log(2), math.log(2), usevar="unequal")[0])


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="scale"):
        stats.compare(A, B, scale="ratio")
    with pytest.raises(ValueError, match="positive"):
        stats.compare([0.0, 1.0], B, scale="log")
    with pytest.raises(ValueError, match="margin"):
        stats.compare(A, B, scale="log", margin=0.5)


def test_nonfinite_replicas_are_dropped_and_tiny_groups_give_no_interval():
    c = stats.compare([1.0, np.nan, 2.0, np.inf], [1.0, 3.0], scale="linear")
    assert c.n_a == 2 and c.estimate == pytest.approx(-0.5)
    c1 = stats.compare([1.0], [2.0, 3.0], scale="log")
    assert c1.estimate == pytest.approx(1 / math.sqrt(6)) and math.isnan(c1.low) and math.isnan(c1.p_value)


def test_deterministic_groups_give_the_exact_difference():
    c = stats.compare([1.0, 1.0, 1.0], [0.5, 0.5], scale="linear", margin=0.1)
    assert (c.estimate, c.low, c.high, c.p_value, c.equivalent) == (0.5, 0.5, 0.5, 0.0, False)
    same = stats.compare([1.0, 1.0], [1.0, 1.0], scale="linear", margin=0.1)
    assert same.p_value == 1.0 and same.equivalent is True and same.direction() == 0


@pytest.mark.parametrize("n", [5, 10])
@pytest.mark.parametrize("scale", ["log", "linear"])
def test_intervals_cover_the_truth(n, scale):
    """2,000 simulated experiments: log-normal errors with unequal spreads (log scale) or normal
    accuracies (linear); the 95% interval must contain the true effect ≥ 92% of the time."""
    rng = np.random.default_rng(12345 + n)
    sims = 2000
    mu_a, mu_b, s_a, s_b = -4.0, -5.5, 1.2, 0.6
    hits = 0
    for _ in range(sims):
        za, zb = rng.normal(mu_a, s_a, n), rng.normal(mu_b, s_b, n)
        if scale == "log":
            c, truth = stats.compare(np.exp(za), np.exp(zb), scale="log"), math.exp(mu_a - mu_b)
        else:
            c, truth = stats.compare(za, zb, scale="linear"), mu_a - mu_b
        hits += c.low <= truth <= c.high
    cover = hits / sims
    assert 0.92 <= cover <= 0.98, cover


def test_a_percentile_bootstrap_would_not_cover():
    """The reason for Welch: the old percentile bootstrap at n = 5 under-covers in the same setting."""
    rng = np.random.default_rng(7)
    hits, sims = 0, 300
    for _ in range(sims):
        za, zb = rng.normal(-4, 1.2, 5), rng.normal(-5.5, 0.6, 5)
        res = st.bootstrap((za, zb), lambda x, y, axis=-1: x.mean(axis) - y.mean(axis), n_resamples=999,
                           method="percentile", vectorized=True, rng=rng)
        hits += res.confidence_interval.low <= 1.5 <= res.confidence_interval.high
    assert hits / sims < 0.92


def test_holm_is_statsmodels_and_keeps_nans():
    p = [0.01, 0.04, np.nan, 0.03, 0.2]
    ref = multipletests([0.01, 0.04, 0.03, 0.2], method="holm")[1]
    out = stats.holm(p)
    assert np.isnan(out[2]) and np.allclose(np.delete(out, 2), ref)


def test_family_directions_use_the_holm_p():
    rng = np.random.default_rng(3)
    comps = {f"t{i}": stats.compare(rng.normal(0.5, 1, 12), rng.normal(0, 1, 12), scale="linear") for i in range(8)}
    fam = stats.family(comps)
    for _, r in fam.iterrows():
        assert r["p_holm"] >= r["p_value"]
        assert r["direction"] == comps[r["label"]].direction(p=r["p_holm"])


def test_center_is_the_geometric_or_arithmetic_mean_with_a_t_interval():
    g, lo, hi = stats.center(A, "log")
    m, s = np.log(A).mean(), st.sem(np.log(A))
    q = st.t.ppf(0.975, len(A) - 1)
    assert g == pytest.approx(st.gmean(A)) and (lo, hi) == pytest.approx((math.exp(m - q * s), math.exp(m + q * s)))
    assert stats.center(B, "linear")[0] == pytest.approx(B.mean())


def test_variance_split_recovers_the_simulated_shares():
    rng = np.random.default_rng(0)
    k, n = 200, 6
    data = np.repeat(rng.normal(0, 2.0, k), n)            # data variance 4
    vals = data + rng.normal(0, 1.0, k * n)                # init variance 1
    s = stats.variance_split(vals, np.repeat(np.arange(k), n))
    assert s["data"] == pytest.approx(0.8, abs=0.05) and s["init"] == pytest.approx(0.2, abs=0.05)


def test_friedman_ranks_the_better_arch_first():
    rng = np.random.default_rng(1)
    t = pd.DataFrame({"good": rng.uniform(0.1, 0.2, 9), "mid": rng.uniform(0.3, 0.4, 9),
                      "bad": rng.uniform(0.5, 0.6, 9)})
    res = stats.friedman(t, lower_is_better=True)
    assert res.pvalue < 0.05 and res.rankdf.index[0] == "good" and res.cd > 0
    acc = stats.friedman(1 - t, lower_is_better=False)
    assert acc.rankdf.index[0] == "good"


def test_summarize_uses_the_geometric_mean_for_mse_and_counts_diverged():
    m = pd.DataFrame({"arch": ["a"] * 3 + ["b"] * 2, "task": "t", "metric": "mse",
                      "test_mse": [1.0, 4.0, np.nan, 2.0, 8.0], "diverged": [False, False, True, False, False]})
    s = stats.summarize(m).set_index("arch")
    assert s.loc["a", "mean"] == pytest.approx(2.0) and s.loc["a", "count"] == 2 and s.loc["a", "diverged"] == 1
    assert s.loc["b", "mean"] == pytest.approx(4.0) and s.loc["a", "scale"] == "log"
    acc = m.assign(metric="accuracy", test_accuracy=[0.5, 0.7, np.nan, 0.9, 0.9])
    assert stats.summarize(acc).set_index("arch").loc["a", "mean"] == pytest.approx(0.6)


def test_ranks_respect_the_metric_direction():
    t = pd.DataFrame({"arch": ["a", "b", "a", "b"], "task": ["m", "m", "c", "c"], "mean": [0.1, 0.2, 0.9, 0.8]})
    r = stats.ranks(t, {"m": "mse", "c": "accuracy"}).set_index(["task", "arch"])["rank"]
    assert r[("m", "a")] == 1 and r[("m", "b")] == 2 and r[("c", "a")] == 1 and r[("c", "b")] == 2


# ----------------------------------------------------------------------------- verdict rules

def comp(est, low, high, p, scale="log", eq=None):
    return stats.Comparison(est, low, high, p, eq, math.nan, scale, None, 12, 12, 0.95)


@pytest.mark.parametrize("c, sign, want", [
    (comp(30, 10, 90, 0.001), 1, stats.HOLDS),            # significantly a > b as claimed
    (comp(0.1, 0.05, 0.3, 0.001), 1, stats.FAILS),        # significantly the other way
    (comp(1.1, 0.9, 1.3, 0.3, eq=True), 1, stats.FAILS),  # equivalent to no effect
    (comp(1.1, 0.5, 2.5, 0.6), 1, stats.UNSURE),          # neither
    (comp(0.1, 0.05, 0.3, 0.001), -1, stats.HOLDS),
])
def test_direction_branches(c, sign, want):
    assert stats.direction(c, sign) == want


def test_direction_uses_the_holm_p_when_given():
    assert stats.direction(comp(30, 10, 90, 0.01), 1, p=0.2) == stats.UNSURE


@pytest.mark.parametrize("c, want", [
    (comp(200, 100, 400, 0.001), stats.HOLDS),       # inside the claimed decade
    (comp(26, 4, 60, 0.001), stats.FAILS),           # misses [222/√10, 222·√10] = [70, 702]
    (comp(40, 10, 100, 0.001), stats.UNSURE),        # overlaps it, estimate outside
    (comp(200, math.nan, math.nan, math.nan), stats.UNSURE),
])
def test_magnitude_branches(c, want):
    assert stats.magnitude(c, 222) == want


@pytest.mark.parametrize("parts, conditions, want", [
    ({"direction": stats.HOLDS, "magnitude": stats.HOLDS}, (), stats.REPLICATED),
    ({"direction": stats.HOLDS, "magnitude": None}, (), stats.REPLICATED),
    ({"direction": stats.HOLDS, "magnitude": stats.FAILS},
     [("at 500 steps", {"direction": stats.HOLDS, "magnitude": stats.HOLDS})], stats.CONDITIONAL),
    ({"direction": stats.HOLDS, "magnitude": stats.FAILS},
     [("at 500 steps", {"direction": stats.HOLDS, "magnitude": stats.UNSURE})], stats.NOT_REPLICATED),
    ({"direction": stats.FAILS}, (), stats.NOT_REPLICATED),
    ({"direction": stats.HOLDS, "mechanism": stats.UNSURE}, (), stats.INCONCLUSIVE),
    ({"direction": stats.UNSURE}, [("x", {"direction": stats.UNSURE})], stats.INCONCLUSIVE),
])
def test_judge_follows_the_stated_rule(parts, conditions, want):
    assert stats.judge(parts, conditions)[0] == want


def test_judge_rejects_unknown_sub_verdicts():
    with pytest.raises(ValueError, match="sub-verdict"):
        stats.judge({"direction": "yes"})


def test_rounding_check_turns_a_changed_verdict_inconclusive():
    a = {"verdict": stats.REPLICATED, "ours": "26×", "reason": "r"}
    same = stats.rounding_check(a, {"verdict": stats.REPLICATED, "ours": "25×"})
    assert same["verdict"] == stats.REPLICATED and same["rounding_stable"]
    flip = stats.rounding_check(a, {"verdict": stats.NOT_REPLICATED, "ours": "0.2×"})
    assert flip["verdict"] == stats.INCONCLUSIVE and not flip["rounding_stable"] and "rounding" in flip["reason"]


def test_p_text_never_writes_p_equals_less_than():
    assert stats.p_text(0.0027) == "p = 0.0027"
    assert stats.p_text(3e-7) == "p < 1e-4"
    assert stats.p_text(3e-7, "Holm p") == "Holm p < 1e-4"
    c = stats.compare([1.0, 1.1, 0.9, 1.05, 0.95], [10.0, 11.0, 9.0, 10.5, 9.5], scale="log")
    assert "p < 1e-4" in c.text() and "= <" not in c.text()
