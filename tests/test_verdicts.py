"""The verdict rules (`verdicts`): the part judgements, `judge`, the robustness check's row and parts
not testable as stated."""
import math

import pytest

from richneuron import stats, verdicts


def comp(est, low, high, p, scale="log", eq=None):
    return stats.Comparison(est, low, high, p, eq, math.nan, scale, None, 12, 12, 0.95)


@pytest.mark.parametrize("c, sign, want", [
    (comp(30, 10, 90, 0.001), 1, verdicts.HOLDS),            # significantly a > b as claimed
    (comp(0.1, 0.05, 0.3, 0.001), 1, verdicts.FAILS),        # significantly the other way
    (comp(1.1, 0.9, 1.3, 0.3, eq=True), 1, verdicts.FAILS),  # equivalent to no effect
    (comp(1.1, 0.5, 2.5, 0.6), 1, verdicts.UNSURE),          # neither
    (comp(0.1, 0.05, 0.3, 0.001), -1, verdicts.HOLDS),
])
def test_direction_branches(c, sign, want):
    assert verdicts.direction(c, sign) == want


def test_direction_uses_the_holm_p_when_given():
    assert verdicts.direction(comp(30, 10, 90, 0.01), 1, p=0.2) == verdicts.UNSURE


@pytest.mark.parametrize("c, want", [
    (comp(200, 100, 400, 0.001), verdicts.HOLDS),       # inside the claimed decade
    (comp(26, 4, 60, 0.001), verdicts.FAILS),           # misses [222/√10, 222·√10] = [70, 702]
    (comp(40, 10, 100, 0.001), verdicts.UNSURE),        # overlaps it, estimate outside
    (comp(200, math.nan, math.nan, math.nan), verdicts.UNSURE),
])
def test_magnitude_branches(c, want):
    assert verdicts.magnitude(c, 222) == want


@pytest.mark.parametrize("parts, conditions, want", [
    ({"direction": verdicts.HOLDS, "magnitude": verdicts.HOLDS}, (), verdicts.REPLICATED),
    ({"direction": verdicts.HOLDS, "magnitude": None}, (), verdicts.REPLICATED),
    ({"direction": verdicts.HOLDS, "magnitude": verdicts.FAILS},
     [("at 500 steps", {"direction": verdicts.HOLDS, "magnitude": verdicts.HOLDS})], verdicts.CONDITIONAL),
    ({"direction": verdicts.HOLDS, "magnitude": verdicts.FAILS},
     [("at 500 steps", {"direction": verdicts.HOLDS, "magnitude": verdicts.UNSURE})], verdicts.NOT_REPLICATED),
    ({"direction": verdicts.FAILS}, (), verdicts.NOT_REPLICATED),
    ({"direction": verdicts.HOLDS, "mechanism": verdicts.UNSURE}, (), verdicts.INCONCLUSIVE),
    ({"direction": verdicts.UNSURE}, [("x", {"direction": verdicts.UNSURE})], verdicts.INCONCLUSIVE),
])
def test_judge_follows_the_stated_rule(parts, conditions, want):
    assert verdicts.judge(parts, conditions)[0] == want


def test_judge_rejects_unknown_sub_verdicts():
    with pytest.raises(ValueError, match="sub-verdict"):
        verdicts.judge({"direction": "yes"})


def test_rounding_check_turns_a_changed_verdict_inconclusive():
    a = {"verdict": verdicts.REPLICATED, "ours": "26×", "reason": "r"}
    same = verdicts.rounding_check(a, {"verdict": verdicts.REPLICATED, "ours": "25×"})
    assert same["verdict"] == verdicts.REPLICATED and same["rounding_stable"]
    flip = verdicts.rounding_check(a, {"verdict": verdicts.NOT_REPLICATED, "ours": "0.2×"})
    assert flip["verdict"] == verdicts.INCONCLUSIVE and not flip["rounding_stable"] and "perturbation" in flip["reason"]



@pytest.mark.parametrize("parts, expected", [
    ({"a": verdicts.HOLDS, "b": verdicts.NOT_TESTABLE}, verdicts.REPLICATED),
    ({"a": verdicts.FAILS, "b": verdicts.NOT_TESTABLE}, verdicts.NOT_REPLICATED),
    ({"a": verdicts.UNSURE, "b": verdicts.NOT_TESTABLE}, verdicts.INCONCLUSIVE),
    ({"b": verdicts.NOT_TESTABLE}, verdicts.INCONCLUSIVE)])
def test_a_part_not_testable_as_stated_does_not_count_and_is_named(parts, expected):
    v, reason = verdicts.judge(parts, untestable={"b": "Adam normalises each step"})
    assert v == expected and "not testable as stated" in reason and "Adam normalises each step" in reason
    cond = verdicts.judge({"a": verdicts.FAILS, "b": verdicts.NOT_TESTABLE}, [("at lr 3", {"a": verdicts.HOLDS, "b": verdicts.NOT_TESTABLE})])
    assert cond[0] == verdicts.CONDITIONAL
