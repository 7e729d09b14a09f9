"""The report's verdicts: their vocabulary, the rule that judges a claim from its parts, the checks a
verdict must survive, and the verdict row every finding writes and the paper reads.

A claim's parts (direction, magnitude, mechanism) are each judged holds / fails / inconclusive /
not testable as stated (`direction`, `magnitude` on a `stats.Comparison`, or the finding's own
mechanism test); `judge` turns them into one of the four `VERDICTS` by `RULE`. The robustness
check (`rounding_check`, `ratio_check`) compares a row with the same row computed from runs with
every initial weight moved by one ulp. `verdict` builds the row (with its headline `effect`,
`effect_of`), `at_length` reads it at a shorter training length and `write_verdicts` stores a
notebook's rows.
"""
import math

import numpy as np
import pandas as pd

from . import criteria, outputs, published
from .stats import ALPHA, SCALES, draws_to_settle, fmt, fmt_ci

REPLICATED = "replicated"
CONDITIONAL = "replicated only under stated conditions"
NOT_REPLICATED = "not replicated"
INCONCLUSIVE = "inconclusive"
VERDICTS = (REPLICATED, CONDITIONAL, NOT_REPLICATED, INCONCLUSIVE)
HOLDS, FAILS, UNSURE = "holds", "fails", "inconclusive"      # sub-verdicts of one part of a claim
NOT_TESTABLE = "not testable as stated"   # a part the study states in a form no experiment can test (with its reason)
PART_LABELS = (HOLDS, FAILS, UNSURE, NOT_TESTABLE)
# The claimed effect's band: its order of magnitude, a factor √10 either way (`magnitude`). A ratio of
# errors is a measurement unless the robustness check's runs move it by more than this (`measured`):
# no fixed error floor decides it (errors far below 1e-5 are resolved: memorize reaches 1e-12).
BAND = math.sqrt(10)


def effect(label, estimate, low=None, high=None, *, scale="linear", unit="", published=None, null=0.0):
    """A verdict row's headline effect, as the summary figure and the scorecard draw it: `label`
    (what is measured, the figure's axis), `estimate` with its 95% interval `low`, `high` (None
    without one), `scale` ("log": a ratio, drawn on a log axis; "linear": a difference or a count),
    `unit` ("×", " pp", "%" or ""), `published`: the study's value on the same scale (None when it
    gave none), `null`: the value of no effect (1 for a ratio; None for a count, which has none)."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    num = lambda v: None if v is None or not np.isfinite(v) else float(v)
    return {"label": str(label), "scale": scale, "unit": unit, "estimate": num(estimate), "low": num(low),
            "high": num(high), "published": num(published), "null": 1.0 if scale == "log" else null}


def effect_of(comparison, label, published=None, pp=False):
    """The headline `effect` of a `Comparison`: a ratio (×) on the log scale; a difference on the
    linear one, in percentage points with `pp` (an accuracy difference, times 100). `published`:
    the study's value on the same scale (a ratio; a difference in pp with `pp`)."""
    c, k = comparison, (100.0 if pp else 1.0)
    if c.scale == "log":
        return effect(label, c.estimate, c.low, c.high, scale="log", unit="×", published=published)
    return effect(label, k * c.estimate, k * c.low, k * c.high, scale="linear", unit=" pp" if pp else "",
                  published=published)


def effect_text(e, value=None):
    """An `effect` (or `value` on its scale, e.g. its `published`) in the paper's one format: with its
    interval by `fmt_ci`, a whole count as an integer, 3 significant digits otherwise; differences
    in pp signed."""
    sign = e["unit"] == " pp"
    v = e["estimate"] if value is None else value
    if value is None and e["low"] is not None and e["high"] is not None:
        return fmt_ci(v, e["low"], e["high"], e["unit"], sign=sign)
    if v is None:
        return "n/a"
    if e["unit"] in ("", "%") and float(v).is_integer():
        return f"{int(v):,}{e['unit']}"
    return f"{'+' if sign and v > 0 else ''}{fmt(v)}{e['unit']}"


RULE = ("Direction: holds when the effect is significant in the claimed direction (draw-level t, Holm-adjusted within "
        "the claim's family, alpha 0.05); fails when it is significant the other way or equivalent to none by TOST "
        "(within a factor 1.25 for errors, 2 pp for accuracies); inconclusive otherwise. Magnitude: holds when the "
        "estimate lies in the claimed order of magnitude [claim/√10, claim·√10] and fails when the 95% interval "
        "misses it. "
        "A claim has up to three parts: direction, magnitude and mechanism, each judged holds / fails / "
        "inconclusive by its criterion. The row is *replicated* when every claimed part holds at the default "
        "protocol; *replicated only under stated conditions* when not, but every claimed part holds under a "
        "stated swept condition; *not replicated* when a claimed part fails at the default protocol and no "
        "stated condition rescues it; *inconclusive* otherwise. A verdict that changes when the same runs are "
        "repeated with every initial weight moved by one ulp is *inconclusive* (robustness check). No fixed error floor: a ratio of "
        "errors is judged unless those check runs move it by more than the claimed effect's band (a factor √10); "
        "when they do, the parts it decides are inconclusive and the row is judged again. Inference is at the level "
        "of the data draw: seeds averaged within a draw, a paired t across the draws both groups share. A part the "
        "study states in a form no experiment can test is *not testable as stated* (with its reason) and does not "
        "count: the row is judged on its testable parts, and a row with none is inconclusive. A version we test "
        "instead is named as ours: it counts where it is a reading of what the study stated (an ambiguous task), "
        "and is shown beside the row, not counted, where it changes the claim. An inconclusive row says what would "
        "settle it: the number of data draws at which its effect would be resolved at the claimed size "
        "(statsmodels' t-test power, 0.8).")


def magnitude(comparison, claimed, band=BAND):
    """Is the claimed size of an effect consistent with ours? The claimed order of magnitude is
    [claimed/band, claimed·band] (band √10: the same decade, on the log scale; for a difference,
    the same band applied to the claimed difference). holds: the interval overlaps that band and
    the estimate lies in it; fails: the interval misses it; inconclusive: otherwise."""
    lo_b, hi_b = sorted((claimed / band, claimed * band))
    c = comparison
    if not (np.isfinite(c.low) and np.isfinite(c.high)):
        return UNSURE
    if c.high < lo_b or c.low > hi_b:
        return FAILS
    return HOLDS if lo_b <= c.estimate <= hi_b else UNSURE


def direction(comparison, sign, margin_ok=None, p=None, alpha=ALPHA):
    """Does the effect go the claimed way (`sign` +1: a > b, −1: a < b)? holds: significantly so
    (p or the Holm-adjusted `p` < alpha); fails: significantly the other way, or equivalent to no
    effect by its margin (TOST); inconclusive: neither."""
    d = comparison.direction(alpha, p)
    if d == sign:
        return HOLDS
    if d == -sign or comparison.equivalent is True:
        return FAILS
    return UNSURE


def judge(parts, conditions=(), untestable=None):
    """The row verdict from sub-verdicts, by `RULE`. `parts`: {part: holds/fails/inconclusive/not
    testable as stated, or None (not claimed)}; `conditions`: [(condition text, parts dict)] from
    stated sweeps; `untestable`: {part: why it cannot be tested as stated}. A part that is not
    testable as stated does not count: the row is judged on the testable parts and its reason names
    the others; a row with no testable part is inconclusive. Returns (verdict, reason)."""
    claimed = {k: v for k, v in parts.items() if v is not None}
    for v in claimed.values():
        if v not in PART_LABELS:
            raise ValueError(f"a part's sub-verdict must be one of {PART_LABELS}, got {v!r}")
    skipped = [k for k, v in claimed.items() if v == NOT_TESTABLE]
    note = ("; not testable as stated, so not counted: " + "; ".join(
        f"{k} ({(untestable or {}).get(k, 'see the criterion')})" for k in skipped)) if skipped else ""
    claimed = {k: v for k, v in claimed.items() if v != NOT_TESTABLE}
    if not claimed:
        return INCONCLUSIVE, "no claimed part can be tested as stated" + note
    if all(v == HOLDS for v in claimed.values()):
        return REPLICATED, ("every claimed part that can be tested as stated holds at the default protocol" if skipped
                            else "every claimed part holds at the default protocol") + note
    held = [text for text, p in conditions
            if p and all(v == HOLDS for v in p.values() if v is not None and v != NOT_TESTABLE)]
    if held:
        return CONDITIONAL, "every claimed part holds only " + "; ".join(held) + note
    failed = [k for k, v in claimed.items() if v == FAILS]
    if failed:
        return NOT_REPLICATED, f"{', '.join(failed)} fails at the default protocol and no stated condition rescues it" + note
    unsure = [k for k, v in claimed.items() if v == UNSURE]
    return INCONCLUSIVE, f"{', '.join(unsure) or 'nothing'} neither holds nor fails" + note


def settle_text(label, comparison, claimed=None):
    """One inconclusive comparison's 'what would settle it', from `draws_to_settle`."""
    n = draws_to_settle(comparison, claimed)
    unit = "replicas" if comparison is not None and comparison.level == "replica" else "data draws"
    if not np.isfinite(n):
        return f"{label}: no sample size settles it (no spread or no effect to resolve)"
    size = "claimed" if claimed is not None else "observed"
    return f"{label}: about {n} {unit} (power 0.8, α {ALPHA:g}, the {size} effect, this spread)"


def measured(estimate, check_estimate, band=BAND):
    """Is a ratio of errors a measurement? Yes unless the robustness check's runs of the same
    comparison move it by more than `band` (a factor): then it measures rounding, not skill.
    A ratio the check did not compute (NaN) is not contradicted."""
    if not (np.isfinite(estimate) and np.isfinite(check_estimate) and estimate > 0 and check_estimate > 0):
        return True
    return abs(math.log(estimate / check_estimate)) <= math.log(band)


def judged_ratio(label, comparison, *parts):
    """One ratio of errors a verdict judged, for the robustness check: {"label", "estimate", "parts"}
    (the parts it decides). Accuracy differences (linear scale) give None: they are not ratios."""
    if comparison is None or comparison.scale != "log":
        return None
    return {"label": str(label), "estimate": float(comparison.estimate), "parts": list(parts)}


def unmeasured(primary, other, band=BAND):
    """The ratios of `primary["ratios"]` that the check's row `other` moves by more than `band`:
    [(label, estimate, check estimate, parts)]."""
    theirs = {r["label"]: r["estimate"] for r in (other.get("ratios") or []) if r}
    return [(r["label"], r["estimate"], theirs[r["label"]], r["parts"]) for r in (primary.get("ratios") or [])
            if r and r["label"] in theirs and not measured(r["estimate"], theirs[r["label"]], band)]


def ratio_check(primary, other):
    """The first half of `rounding_check`: `primary` with every ratio of errors that `other` (the
    check's row, or just its "ratios") moves by more than the band (`unmeasured`) not judged: the
    parts it decides become inconclusive and the row is judged again (`judge`, with the row's
    stated conditions)."""
    row = dict(primary)
    moved = unmeasured(primary, other)
    if moved:
        parts = dict(row.get("parts") or {})
        for _, _, _, names in moved:
            parts.update({k: UNSURE for k in names if parts.get(k) is not None})
        if parts != row.get("parts"):
            v, reason = judge(parts, list((row.get("conditions") or {}).items()))
            row.update(parts=parts, verdict_before_ratio_check=row["verdict"], verdict=v, reason=reason)
        row["reason"] = row.get("reason", "") + "; not a measurement (the check moves it by more than a factor " \
            f"{BAND:.2g}): " + ", ".join(f"{lab} {fmt(e)}× vs {fmt(o)}×" for lab, e, o, _ in moved)
    return row


def rounding_check(primary, other):
    """Both computations of one verdict row (default runs, the robustness check's runs): the row to
    keep. A ratio of errors the check moves by more than the claimed effect's band (`unmeasured`)
    is not judged: the parts it decides become inconclusive and the row is judged again (`judge`,
    with the row's stated conditions: `ratio_check`). When the verdict or the computed answer
    differs between the two computations, the verdict becomes inconclusive and says why."""
    row = ratio_check(primary, other)
    row["verdict_other_kernels"] = other["verdict"]
    row["ours_other_kernels"] = other["ours"]
    stable = other["verdict"] == primary["verdict"]
    row["rounding_stable"] = stable
    if not stable:
        row["verdict_before_rounding_check"] = primary["verdict"]
        row["verdict"] = INCONCLUSIVE
        row["reason"] = (f"changes with a one-ulp perturbation: {primary['verdict']} as trained, "
                         f"{other['verdict']} under the one-ulp perturbation; " + row.get("reason", ""))
    return row


def verdict(claim, ours, verdict_, criterion, evidence, finding=None, parts=None, reason="", settle=(), effect=None,
            **extra):
    """One scorecard row. `claim` is a key of published.claims(); `criterion` the finding
    module's criterion constant for it (the row stores the text; the paper adds the commit that
    last changed it); `parts` the sub-verdicts; `effect` the claim's headline effect (`effect`,
    `effect_of`: its estimate, interval, scale and the study's value on that scale), which the
    summary figure and the scorecard draw. `settle`: [(label, Comparison, claimed size or
    None)] behind the row's inconclusive parts: an inconclusive row says what would settle it
    (`settle_text`: the data draws at which the effect would be resolved) in its reason and in
    `settle`."""
    if verdict_ not in VERDICTS:
        raise ValueError(f"verdict must be one of {VERDICTS}, got {verdict_!r}")
    if effect is not None and not (isinstance(effect, dict) and {"label", "scale", "estimate"} <= set(effect)):
        raise ValueError("effect must be a dict from verdicts.effect or verdicts.effect_of")
    if verdict_ == INCONCLUSIVE and settle:
        texts = [settle_text(lab, c, claimed) for lab, c, claimed in settle]
        reason += "; what would settle it: " + "; ".join(texts)
        extra["settle"] = [{"label": lab, "draws": draws_to_settle(c, claimed)} for lab, c, claimed in settle]
    extra["criterion_source"] = criteria.source(claim)      # the criterion's own file is what git dates
    c = published.claims()[claim]
    return {"finding": c["finding"] if finding is None else finding, "claim_id": claim, "claim": c["text"],
            "published": c.get("value"), "ours": ours, "verdict": verdict_, "reason": reason,
            "parts": parts or {}, "criterion": criterion, "evidence": evidence, "effect": effect, **extra}


AT_LENGTH_FIELDS = ("verdict", "parts", "ours", "reason", "effect")   # a row's verdict at a training length


def length_key(share):
    """The key of a row's `at_lengths` entry for `share` of the steps (JSON keys are text)."""
    return f"{share:.4g}"


def at_length(row, share):
    """`row`'s verdict fields at `share` of the steps: the row itself at the full length, else its
    `at_lengths` entry (None when the finding computed none there)."""
    if share >= 1:
        return {k: row.get(k) for k in AT_LENGTH_FIELDS}
    at = (row.get("at_lengths") or {}).get(length_key(share))
    return None if at is None else {k: at.get(k) for k in AT_LENGTH_FIELDS}


def write_verdicts(rows, output_dir):
    """Store a notebook's verdict rows as JSON (the paper's scorecard is built from them)."""
    outputs.write(output_dir, outputs.VERDICTS, rows)
    cols = [c for c in ("claim", "published", "ours", "verdict", "reason", "criterion") if c in pd.DataFrame(rows)]
    return pd.DataFrame(rows)[cols]
