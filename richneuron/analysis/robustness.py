"""The robustness check of every finding, run only as far as it can change a verdict.

The check computes a verdict row a second time from the same runs with every initial weight moved
by one ulp (`protocol.CHECK`) and keeps the row by `verdicts.rounding_check`: inconclusive when the
check's verdict differs; a ratio of errors the check moves by more than the band leaves the parts
it decides inconclusive and the row is judged again. Much of that rerun cannot change a verdict (an
inconclusive row stays inconclusive; a row that fails on one part stays "not replicated" when that
part fails again and no stated condition holds, whatever the other parts do).

A finding declares, per verdict part, the check runs that part reads (`Check.reads`: part, or
`CONDITIONS` for the row's stated conditions, -> {source: [Experiment, ...]}) and how the row is
computed from those runs (`Check.verdict_of`). `checked_verdicts` runs the check part by part, the
parts that decide the row's verdict first, and after each step enumerates every value the
unchecked parts can take (holds / fails / inconclusive; a stated condition holding or not; a ratio
moved or not) through the row's own rule (`verdicts.judge` with its conditions, or `Check.rule`) and
the ratio rule of `rounding_check`. It stops when every completion gives the same verdict: that
verdict is what `rounding_check` gives with every part checked. The row records which parts were
checked (`check_parts_run`) and which were not needed (`check_parts_skipped`), with the replicas
and model-steps of each (`check_cost_run`, `check_cost_skipped`: distinct cells, cached or not; a
cell a checked part ran is not counted as not needed) and of the cells this row's check ran that no
earlier row had (`check_cost_trained`: summed over a finding's rows, each cell once).
"""
import itertools
from dataclasses import dataclass, field
from typing import Callable

import pandas as pd

from .. import defaults, protocol, verdicts

CONDITIONS = "stated conditions"      # the reads key of a row's stated conditions (all of them together)
VALUES = (verdicts.HOLDS, verdicts.FAILS, verdicts.UNSURE)


def judge_rule(parts, conditions):
    """The verdict by `verdicts.judge` (the default rule of a row)."""
    return verdicts.judge(parts, conditions)[0]


@dataclass
class Check:
    """One verdict row and how its robustness check is computed. `row`: the row as trained (a
    `verdicts.verdict` row with parts, and conditions when it has any); `reads`: {part or CONDITIONS:
    {source: [Experiment, ...]}} the check runs each part reads (a part that reads none is taken
    as it is in `row`); `verdict_of`: {source: Results or None (not run)} -> the row computed on
    the check's runs (it must accept any subset of the runs; only the parts whose runs are all
    there are read from it); `rule`: (parts, conditions) -> verdict, the row's rule (default
    `verdicts.judge`)."""
    row: dict
    reads: dict
    verdict_of: Callable
    rule: Callable = field(default=judge_rule)


def _listed(exps):
    return [e for e in (exps if isinstance(exps, (list, tuple)) else [exps]) if e is not None]


def cells_cost(exps, skip=()):
    """(replicas, model-steps) of the distinct cells of `exps` (Experiments): shared cells once,
    those whose key is in `skip` not at all."""
    cells = {c.key: c for e in exps for c in e.typed_cells if c.key not in skip}.values()
    return sum(c.n_replicas for c in cells), sum(c.model_steps for c in cells)


def _holds(conditions):
    """Does some stated condition hold (every claimed, testable part of it holds; `verdicts.judge`)?"""
    return any(p and all(v == verdicts.HOLDS for v in p.values() if v is not None and v != verdicts.NOT_TESTABLE)
               for p in (conditions or {}).values())


def _after_ratios(row, gone):
    """The row's verdict after the ratio rule of `verdicts.rounding_check`, with the parts `gone`
    (decided by ratios the check moved) made inconclusive."""
    parts = dict(row.get("parts") or {})
    parts.update({k: verdicts.UNSURE for k in gone if parts.get(k) is not None})
    if parts != (row.get("parts") or {}):
        return verdicts.judge(parts, list((row.get("conditions") or {}).items()))[0]
    return row["verdict"]


def check_verdicts(row, known, cond=None, rule=judge_rule):
    """Every verdict the check's row can have: its parts `known` ({part: value}) as given, every
    other claimed and testable part of `row` at each of holds / fails / inconclusive, and some
    stated condition holding (`cond` True), not (False) or either (None)."""
    parts = row.get("parts") or {}
    free = [k for k, v in parts.items() if k not in known and v is not None and v != verdicts.NOT_TESTABLE]
    out = set()
    for values in itertools.product(VALUES, repeat=len(free)):
        p = {k: known.get(k, v) for k, v in parts.items()} | dict(zip(free, values))
        for holds in ((False, True) if cond is None else (cond,)):
            out.add(rule(p, [(CONDITIONS, {"all": verdicts.HOLDS})] if holds else []))
    return out


def ratio_verdicts(row, moved=(), groups=()):
    """Every verdict `row` can have after the ratio rule of `verdicts.rounding_check`: the parts
    `moved` inconclusive, and those of each group of `groups` moved or not."""
    return {_after_ratios(row, set(moved).union(*[g for g, on in zip(groups, flags) if on]))
            for flags in itertools.product((False, True), repeat=len(groups))}


def outcomes(row, known, cond=None, moved=(), groups=(), rule=judge_rule):
    """Every (final verdict, check verdict) `verdicts.rounding_check` can give for `row` when the
    check's parts `known` ({part: value}), `cond` (some stated condition holds in the check: True,
    False, or None unknown) and the parts `moved` (decided by a ratio the check moved) are known
    and each group of parts in `groups` (the parts of the unchecked ratios) may or may not be
    moved. Parts not claimed or not testable as stated are taken as in `row`. The check's verdict
    and the ratio rule read separate unknowns, so the finals are: inconclusive when some check
    verdict differs from the row's, and every ratio-rule verdict when some equals it. Returns
    (set of finals, set of check verdicts)."""
    checks = check_verdicts(row, known, cond, rule)
    finals = ({verdicts.INCONCLUSIVE} if checks - {row["verdict"]} else set()) | \
        (ratio_verdicts(row, moved, groups) if row["verdict"] in checks else set())
    return finals, checks


def _narrows(row, rule, known, cond, moved, groups, step, done):
    """Could checking `step` (a part or CONDITIONS; with it, the ratios all of whose parts are then
    checked) narrow the verdicts still possible, for some value of what it reveals?"""
    now = len(outcomes(row, known, cond, moved, groups, rule)[0])
    shown = [g for g in groups if g <= done | {step}]
    rest = [g for g in groups if g not in shown]
    values = (False, True) if step == CONDITIONS else VALUES
    for v in values:
        k2, c2 = (known, v) if step == CONDITIONS else ({**known, step: v}, cond)
        for flags in itertools.product((False, True), repeat=len(shown)):
            m2 = set(moved).union(*[g for g, on in zip(shown, flags) if on])
            if len(outcomes(row, k2, c2, m2, rest, rule)[0]) < now:
                return True
    return False


def _check_reads(check):
    row, reads = check.row, check.reads
    claimed = [k for k, v in (row.get("parts") or {}).items() if v is not None and v != verdicts.NOT_TESTABLE]
    missing = [k for k in claimed if k not in reads] + ([CONDITIONS] if row.get("conditions") and CONDITIONS not in reads
                                                        else [])
    if missing:
        raise ValueError(f"the check of {row.get('claim_id', 'a row')} does not say which runs these parts read: "
                         f"{', '.join(missing)} (its parts: {', '.join(claimed) or 'none'}; key {CONDITIONS!r} for "
                         "its stated conditions)")
    bad = [k for k in reads if k != CONDITIONS and k not in (row.get("parts") or {})]
    if bad:
        raise ValueError(f"the check of {row.get('claim_id', 'a row')} reads parts the row does not have: "
                         f"{', '.join(bad)} (its parts: {', '.join(row.get('parts') or {}) or 'none'})")
    return {k: {s: _listed(e) for s, e in v.items()} for k, v in reads.items()}


class _Runs:
    """The check runs done so far, by source, shared by every row of a finding."""

    def __init__(self, run):
        self.run, self.done, self.results, self.cells = run, {}, {}, {}    # cells: every cell run, by key

    def has(self, need):
        return all(any(e == d for d in self.done.get(s, [])) for s, es in need.items() for e in es)

    def add(self, need):
        for s, es in need.items():
            new = [e for e in es if not any(e == d for d in self.done.get(s, []))]
            if new:
                self.done.setdefault(s, []).extend(new)
                self.results[s] = self.run(list(self.done[s]))
                self.cells.update({c.key: c for e in new for c in e.typed_cells})

    def sources(self, names):
        return {s: self.results.get(s) for s in names}


def _step_exps(reads, keys):
    need = {}
    for k in keys:
        for s, es in reads[k].items():
            need.setdefault(s, [])
            need[s] += [e for e in es if not any(e == d for d in need[s])]
    return need


def check_one(check, runs):
    """The row `verdicts.rounding_check` keeps for `check` (a `Check`), running its check's parts
    through `runs` (`_Runs`) only while they can change the verdict; see the module's text."""
    row, rule = check.row, check.rule
    reads = _check_reads(check)
    if not row.get("conditions"):          # no stated condition as trained: none in the check's runs either
        reads.pop(CONDITIONS, None)
    sources = sorted({s for v in reads.values() for s in v})
    parts = row.get("parts") or {}
    conditions = list((row.get("conditions") or {}).items())
    consistent = rule(parts, conditions) == row["verdict"]      # else the rule cannot be enumerated: check it all
    before = set(runs.cells)
    ratios = [r for r in (row.get("ratios") or []) if r]
    free = [k for k, v in reads.items() if not any(v.values())]  # read no check run: as in the row

    def state():
        other = check.verdict_of(runs.sources(sources)) if any(runs.results.get(s) for s in sources) else {}
        done = {k for k in reads if runs.has(reads[k])}
        known = {k: (parts[k] if k in free else other["parts"][k]) for k in done if k != CONDITIONS}
        cond = (_holds(other.get("conditions")) if CONDITIONS not in free else _holds(row.get("conditions"))) \
            if CONDITIONS in done else (None if CONDITIONS in reads else False)
        seen = [r for r in ratios if set(r["parts"]) <= done]
        moved = {k for _, _, _, ks in verdicts.unmeasured({"ratios": seen}, other) for k in ks} if seen else set()
        groups = sorted({frozenset(r["parts"]) for r in ratios if not set(r["parts"]) <= done}, key=sorted)
        return other, done, known, cond, seen, moved, groups

    order = {verdicts.FAILS: 0, verdicts.HOLDS: 1, verdicts.UNSURE: 2}
    while True:
        other, done, known, cond, seen, moved, groups = state()
        todo = [k for k in reads if k not in done]
        if consistent:
            finals, checks = outcomes(row, known, cond, moved, groups, rule)
            if len(finals) == 1 or not todo:
                break
            cost = lambda k: cells_cost([e for s, es in _step_exps(reads, [k]).items() for e in es
                                         if not any(e == d for d in runs.done.get(s, []))])[1]
            rank = lambda k: (0 if row["verdict"] == verdicts.CONDITIONAL else 3) if k == CONDITIONS else order.get(parts[k], 2)
            useful = [k for k in todo if _narrows(row, rule, known, cond, moved, groups, k, done)]
            step = min(useful or todo, key=lambda k: (rank(k), cost(k), list(reads).index(k)))
        elif not todo:
            break
        else:
            step = todo[0]
        runs.add(_step_exps(reads, [step]))
    checked = [k for k in reads if k in done and k not in free]
    skipped = [k for k in reads if k not in done]
    if not skipped:
        out = verdicts.rounding_check(row, other)
    else:
        labels = {r["label"] for r in seen}
        out = verdicts.ratio_check(row, {"ratios": [r for r in (other.get("ratios") or []) if r and r["label"] in labels]})
        final = next(iter(finals))
        other_v = next(iter(checks)) if len(checks) == 1 else None
        out["verdict_other_kernels"] = other_v
        out["ours_other_kernels"] = None
        out["rounding_stable"] = None if row["verdict"] in checks and other_v is None else other_v == row["verdict"]
        if out["rounding_stable"] is False:         # every check verdict differs from the row's: as rounding_check
            assert final == verdicts.INCONCLUSIVE
            out["verdict_before_rounding_check"] = row["verdict"]
            out["verdict"] = verdicts.INCONCLUSIVE
            out["reason"] = (f"changes with a one-ulp perturbation: {row['verdict']} as trained, "
                             f"{other_v or ' or '.join(sorted(checks))} under the one-ulp perturbation; "
                             + out.get("reason", ""))
        assert out["verdict"] == final
    need = lambda keys: [e for es in _step_exps(reads, keys).values() for e in es]
    out["check_parts_run"] = checked
    out["check_parts_skipped"] = skipped
    run_exps = need(checked)
    out["check_cost_run"] = list(cells_cost(run_exps))
    trained = [c for k, c in runs.cells.items() if k not in before]
    out["check_cost_trained"] = [sum(c.n_replicas for c in trained), sum(c.model_steps for c in trained)]
    ran = {c.key for e in run_exps for c in e.typed_cells}
    out["check_cost_skipped"] = list(cells_cost([e for e in need(skipped)], skip=ran))
    return out


def checked_verdicts(checks, cache_dir=None, run=None):
    """The rows to keep for `checks` (a list of `Check`, one per verdict row of a finding), each by
    `check_one`; the check runs are shared between the rows (a part's runs done for one row are
    read by the next). `run`: [Experiment] -> Results (default: `engine.run` with `cache_dir`)."""
    if run is None:
        from ..engine import run as engine_run
        run = lambda exps: engine_run(exps, cache_dir=cache_dir)
    runs = _Runs(run)
    return [check_one(c, runs) for c in checks]


def checked_verdict(check, cache_dir=None, run=None):
    """`checked_verdicts` of one `Check`: the row to keep."""
    return checked_verdicts([check], cache_dir, run)[0]


def at_lengths(make, cache_dir=None, shares=defaults.READ_SHARES, run=None):
    """A finding's verdict rows at shorter training lengths, by the same criterion and the same
    check: for each share < 1 of `shares` (of every run's steps), `make(read, share)` builds the
    finding's `Check` (or list of them) from its runs read at that share (`read(results)`:
    `Results.at_step(share)`, None kept; tables it stores go under `Setup.at_share(share)`), and `checked_verdicts` checks it on the check's runs read
    at the same share. Nothing is retrained: the runs are the full-length runs read from their
    logged history (a check run not trained yet for the full length is trained, then read).
    Returns, per row (one dict, or a list when `make` gives a list), {share as text: {verdict,
    parts, ours, reason, effect, read_share}}."""
    if run is None:
        from ..engine import run as engine_run
        run = lambda exps: engine_run(exps, cache_dir=cache_dir)
    out, single = None, False
    for share in shares:
        if share >= 1:
            continue
        read = lambda res, share=share: None if res is None else res.at_step(share)
        checks = make(read, share)
        single = isinstance(checks, Check)
        rows = checked_verdicts([checks] if single else list(checks), run=lambda exps, share=share: run(exps).at_step(share))
        out = out or [{} for _ in rows]
        for o, r in zip(out, rows):
            o[verdicts.length_key(share)] = {**verdicts.at_length(r, 1.0), "read_share": share}
    out = out or [{}]
    return out[0] if single else out


def length_free(row, shares=defaults.READ_SHARES):
    """`at_lengths` of a verdict that reads no training run (arithmetic): the row itself at every
    share."""
    return {verdicts.length_key(share): {**verdicts.at_length(row, 1.0), "read_share": share}
            for share in shares if share < 1}


def check_table(rows):
    """The robustness check of verdict rows, one line each: the verdict as trained, under the
    one-ulp perturbation (blank where the check stopped before it was decided), stable, the
    parts checked and those not needed (they could not change the verdict), with the model-steps
    of each, and our numbers under the perturbation where every part was checked."""
    fmt = lambda c: f"{c[1]:,}" if c else "–"
    return pd.DataFrame([{
        "claim": r.get("claim_id"), "as trained": r.get("verdict_before_rounding_check", r["verdict"]),
        protocol.CHECK_LABEL: r.get("verdict_other_kernels") or "not needed",
        "stable": {True: "yes", False: "no: inconclusive"}.get(r.get("rounding_stable"), "not needed"),
        "verdict": r["verdict"],
        "parts checked": ", ".join(r.get("check_parts_run", [])) or "none",
        "not needed": ", ".join(r.get("check_parts_skipped", [])) or "none",
        "model-steps run": fmt(r.get("check_cost_run")), "model-steps not needed": fmt(r.get("check_cost_skipped")),
        "ours with the perturbation": r.get("ours_other_kernels") or "–"} for r in rows])


def skipped_text(rows):
    """The parts of `rows` the robustness check did not need, in words ("" when none)."""
    parts = [f"{r.get('claim_id')}: {', '.join(r['check_parts_skipped'])}" for r in rows if r.get("check_parts_skipped")]
    return f"not needed, as no value of theirs could change the verdict: {'; '.join(parts)}" if parts else ""


def runs_text(exps, rows):
    """The notebook's training in one sentence: the runs of `exps` (a dict of Experiments or lists
    of them) besides the check's (those with `perturb`), the check's runs trained for `rows`
    (`check_cost_trained`: each cell once) out of those planned, and the parts not needed."""
    listed = [e for v in exps.values() for e in _listed(v)]
    n, steps = cells_cost([e for e in listed if not e.perturb])
    pn, psteps = cells_cost([e for e in listed if e.perturb])
    cn, csteps = (sum((r.get("check_cost_trained") or [0, 0])[i] for r in rows) for i in (0, 1))
    skipped = skipped_text(rows)
    return (f"Runs: {n:,} replicas ({steps:,} model-steps) in this notebook besides the robustness check, which trained "
            f"{cn:,} of its {pn:,} planned replicas ({csteps:,} of {psteps:,} model-steps)"
            + (f"; parts {skipped}." if skipped else ": every part of every verdict was checked."))


def without_check(exps):
    """`exps` (name -> Experiment or list) without the check's runs (those with `perturb`): what a
    notebook trains before its verdict; the check's are run by `checked_verdicts`."""
    return {k: v for k, v in exps.items() if v is not None and not any(e.perturb for e in _listed(v))}


def merged(check, trained, by=("arch", "task")):
    """A table of the check's runs `check` completed by the rows of `trained` (the same table as
    trained) whose `by` keys the check has not run yet: what a finding's verdict function reads
    while the check is part way (the parts of the rows from `trained` are not read)."""
    if check is None or not len(check):
        return trained
    ran = set(map(tuple, check[list(by)].to_numpy().tolist()))
    rest = trained[[k not in ran for k in map(tuple, trained[list(by)].to_numpy().tolist())]]
    return pd.concat([check, rest], ignore_index=True)
