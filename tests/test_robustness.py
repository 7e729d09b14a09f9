"""The robustness check run part by part (`analysis.robustness`) against the full computation:
`verdicts.rounding_check` of the row with the check's row computed on every check run."""
import itertools

import pytest

from richneuron import protocol, verdicts
from richneuron.analysis import robustness as rb

H, F, U = verdicts.HOLDS, verdicts.FAILS, verdicts.UNSURE
E = {name: protocol.main_grid([arch], ["memorize"], [0], 10, data_seeds=2, **protocol.CHECK)
     for name, arch in (("a", "vanilla"), ("b", "singlu"), ("sweep", "v10"))}
READS = {"a": {"check": [E["a"]]}, "b": {"check": [E["b"]]}, rb.CONDITIONS: {"sweep": [E["sweep"]]}}
RATIO = 20.0


def primary(parts, cond=None, ratio_on=()):
    conditions = {"at lr 0.01": cond} if cond else {}
    v, reason = verdicts.judge(parts, list(conditions.items()))
    ratios = [{"label": "a ratio", "estimate": RATIO, "parts": list(ratio_on)}] if ratio_on else []
    return {"claim_id": "x", "verdict": v, "reason": reason, "ours": "ours", "parts": dict(parts),
            "conditions": conditions, "ratios": ratios}


def check_row(parts, cond_holds, moved, ratio_on=()):
    """The check's row on every run: its parts, one condition (holding or not), the ratio moved or not."""
    conditions = {"at lr 0.01": {"a": H if cond_holds else F}}
    v, reason = verdicts.judge(parts, list(conditions.items()))
    ratios = [{"label": "a ratio", "estimate": RATIO * (100 if moved else 1.5), "parts": list(ratio_on)}] if ratio_on else []
    return {"verdict": v, "reason": reason, "ours": "theirs", "parts": dict(parts), "conditions": conditions,
            "ratios": ratios}


def partial(full, sources):
    """`full` as a finding computes it from a subset of the check runs: what it cannot see is wrong
    on purpose (parts whose runs are missing flipped, conditions dropped, the ratio unmoved)."""
    ran = [e for es in sources.values() if es for e in es]
    flip = {H: F, F: H, U: H}
    parts = {k: (v if E[k] in ran else flip[v]) for k, v in full["parts"].items()}
    out = dict(full, parts=parts)
    if E["sweep"] not in ran:
        out["conditions"] = {}
    out["verdict"] = verdicts.judge(parts, list(out["conditions"].items()))[0]
    if full["ratios"] and not all(E[k] in ran for k in full["ratios"][0]["parts"]):
        out["ratios"] = [dict(full["ratios"][0], estimate=RATIO)]
    return out


def run_check(row, full, reads=READS):
    calls = []

    def run(exps):
        calls.append(list(exps))
        return exps
    out = rb.checked_verdict(rb.Check(row, reads, lambda s: partial(full, s)), run=run)
    return out, calls


CHECK_FIELDS = ("check_parts_run", "check_parts_skipped", "check_cost_run", "check_cost_skipped", "check_cost_trained")


@pytest.mark.parametrize("cond_kind", [None, "holds", "fails"])
def test_part_by_part_gives_the_full_verdict_in_every_case(cond_kind):
    n_skipped = 0
    for pa, pb, ca, cb, cc, moved, ratio_on in itertools.product(
            (H, F, U), (H, F, U), (H, F, U), (H, F, U), (False, True), (False, True), ((), ("a",), ("a", "b"))):
        cond = None if cond_kind is None else {"a": H if cond_kind == "holds" else F}
        row = primary({"a": pa, "b": pb}, cond, ratio_on)
        full = check_row({"a": ca, "b": cb}, cc, moved, ratio_on)
        reads = READS if cond else {k: v for k, v in READS.items() if k != rb.CONDITIONS}
        if not cond:
            full["conditions"] = {}
            full["verdict"] = verdicts.judge(full["parts"])[0]
        want = verdicts.rounding_check(row, full)
        got, _ = run_check(row, full, reads)
        assert got["verdict"] == want["verdict"], (row, full, got)
        if got["check_parts_skipped"]:
            n_skipped += 1
        else:
            assert {k: v for k, v in got.items() if k not in CHECK_FIELDS} == want
    assert n_skipped > 0


def test_an_inconclusive_row_runs_no_check():
    row = primary({"a": U, "b": H}, ratio_on=("a",))
    got, calls = run_check(row, check_row({"a": H, "b": H}, False, True, ("a",)),
                           {k: v for k, v in READS.items() if k != rb.CONDITIONS})
    assert calls == [] and got["verdict"] == verdicts.INCONCLUSIVE
    assert got["check_parts_run"] == [] and got["check_parts_skipped"] == ["a", "b"]
    assert got["check_cost_skipped"] == [E["a"].n_replicas + E["b"].n_replicas, E["a"].model_steps + E["b"].model_steps]
    assert got["rounding_stable"] is None and got["verdict_other_kernels"] is None


def test_the_failing_part_is_checked_first_and_settles_a_row_without_conditions():
    row = primary({"a": H, "b": F})
    full = check_row({"a": U, "b": F}, False, False)
    full["conditions"], full["verdict"] = {}, verdicts.judge(full["parts"])[0]
    got, calls = run_check(row, full, {k: v for k, v in READS.items() if k != rb.CONDITIONS})
    assert calls == [[E["b"]]]
    assert got["verdict"] == verdicts.NOT_REPLICATED == verdicts.rounding_check(row, full)["verdict"]
    assert got["check_parts_run"] == ["b"] and got["check_parts_skipped"] == ["a"]
    assert got["verdict_other_kernels"] == verdicts.NOT_REPLICATED and got["rounding_stable"] is True


def test_a_failing_row_with_conditions_needs_them_checked():
    row = primary({"a": H, "b": F}, cond={"a": F})
    full = check_row({"a": H, "b": F}, True, False)           # a condition holds under the check: settled by it alone
    got, calls = run_check(row, full)
    assert calls == [[E["sweep"]]] and got["check_parts_skipped"] == ["a", "b"]
    assert got["verdict"] == verdicts.INCONCLUSIVE == verdicts.rounding_check(row, full)["verdict"]
    assert got["verdict_other_kernels"] is None and got["rounding_stable"] is False     # replicated (only) or not: not this
    full = check_row({"a": H, "b": F}, False, False)          # no condition holds: the failing part decides
    got, calls = run_check(row, full)
    assert calls == [[E["sweep"]], [E["b"]]] and got["check_parts_skipped"] == ["a"]
    assert got["verdict"] == verdicts.NOT_REPLICATED == verdicts.rounding_check(row, full)["verdict"]


def test_a_replicated_row_needs_every_part():
    row = primary({"a": H, "b": H}, cond={"a": F})
    full = check_row({"a": H, "b": H}, False, False)
    got, calls = run_check(row, full)
    assert got["check_parts_run"] == ["a", "b"] and got["check_parts_skipped"] == [rb.CONDITIONS]
    assert got["verdict"] == verdicts.REPLICATED and got["rounding_stable"] is True
    broken = check_row({"a": H, "b": U}, False, False)
    got, _ = run_check(row, broken)
    assert got["verdict"] == verdicts.INCONCLUSIVE == verdicts.rounding_check(row, broken)["verdict"]
    assert "changes with a one-ulp perturbation" in got["reason"]


def test_a_moved_ratio_makes_its_part_inconclusive():
    row = primary({"a": H, "b": H}, ratio_on=("a",))
    full = check_row({"a": H, "b": H}, False, True, ("a",))
    full["conditions"], full["verdict"] = {}, verdicts.judge(full["parts"])[0]
    reads = {k: v for k, v in READS.items() if k != rb.CONDITIONS}
    got, _ = run_check(row, full, reads)
    want = verdicts.rounding_check(row, full)
    assert got["verdict"] == want["verdict"] == verdicts.INCONCLUSIVE and got["parts"] == want["parts"]
    assert got["check_parts_run"] == ["a"] and got["check_parts_skipped"] == ["b"]    # a moved: b cannot matter
    assert got["reason"] == want["reason"]


def test_a_row_the_rule_does_not_reproduce_is_checked_in_full():
    row = dict(primary({"a": H, "b": F}), verdict=verdicts.REPLICATED)      # not verdicts.judge's verdict
    full = check_row({"a": H, "b": F}, False, False)
    got, _ = run_check(row, full)
    assert got["check_parts_skipped"] == [] and got["verdict"] == verdicts.rounding_check(row, full)["verdict"]


def test_reads_must_name_every_claimed_part():
    with pytest.raises(ValueError, match="b"):
        run_check(primary({"a": H, "b": F}), check_row({"a": H, "b": F}, False, False), {"a": READS["a"]})
    with pytest.raises(ValueError, match="stated conditions"):
        run_check(primary({"a": H, "b": F}, cond={"a": F}), check_row({"a": H, "b": F}, False, False),
                  {"a": READS["a"], "b": READS["b"]})


def test_rows_share_the_check_runs():
    rows = [primary({"a": F}), primary({"a": F, "b": F})]
    full = check_row({"a": F, "b": F}, False, False)
    full["conditions"], full["verdict"] = {}, verdicts.NOT_REPLICATED
    calls = []

    def run(exps):
        calls.append(list(exps))
        return exps
    checks = [rb.Check(r, {k: READS[k] for k in r["parts"]}, lambda s, r=r: partial(
        {**full, "parts": {k: full["parts"][k] for k in r["parts"]}}, s)) for r in rows]
    out = rb.checked_verdicts(checks, run=run)
    assert calls == [[E["a"]]] and [r["verdict"] for r in out] == [verdicts.NOT_REPLICATED] * 2
    assert out[1]["check_parts_run"] == ["a"] and out[1]["check_parts_skipped"] == ["b"]
    assert out[0]["check_cost_trained"] == [E["a"].n_replicas, E["a"].model_steps] and out[1]["check_cost_trained"] == [0, 0]
    main = protocol.main_grid(["v10"], ["memorize"], [0], 10, data_seeds=2)          # as trained: not the check's
    text = rb.runs_text({"main": main, "check_a": E["a"], "check_b": E["b"]}, out)
    assert text == (f"Runs: {main.n_replicas} replicas ({main.model_steps} model-steps) in this notebook "
                    f"besides the robustness check, which trained {E['a'].n_replicas} of its "
                    f"{E['a'].n_replicas + E['b'].n_replicas} planned replicas ({E['a'].model_steps} of "
                    f"{E['a'].model_steps + E['b'].model_steps} model-steps); parts not needed, as no value of theirs "
                    "could change the verdict: x: b.")
