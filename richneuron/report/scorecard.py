"""The verdict rows in words: the scorecard and its caption, the abstract and the one reason behind what
did not replicate, a claim's verdict in sentences, the checks table, the summary figure and the
README's headline, and the verdicts at the study's likeliest protocol (`with_space`)."""
import html
import re

import pandas as pd

from .. import neurons, plots, protocol, published, stats, summary, tasks, verdicts
from .criteria import revised_after_data
from .files import SUMMARY_FIGURE
from .prose import render

STUDY_PAGE = "https://huggingface.co/anshdadhich/richneuron-vs-vanilla-benchmark"
STUDY_CITATION = f"anshdadhich, 2025, Hugging Face repository [anshdadhich/richneuron-vs-vanilla-benchmark]({STUDY_PAGE})"
STUDY_DOCS = "the repository's docs/original-study.md"


PART_NAMES = ("direction", "magnitude", "mechanism")


def with_space(verdict_rows, space, study=None):
    """Each verdict row gains notebook 08's `protocol_share`, `protocol_region` and
    `reduced_at_study_protocol` (its result by 08's reduced criterion at the best-fitting protocol)
    from `space` (the notebook's space.json, or None when 08 did not run: the rows are returned
    unchanged), and `at_study_protocol` (`study_verdict`; `study`: {claim id: row} of the finding
    notebooks run at that protocol, `study_protocol_pass`)."""
    if not space:
        return verdict_rows
    claims, best = space.get("claims", {}), space.get("best_protocol") or {}
    return [{**r, **claims.get(r["claim_id"], {}), "at_study_protocol": study_verdict(r, best, study)}
            for r in verdict_rows]


def study_verdict(row, best, study=None):
    """The row's verdict at the study's likeliest protocol (`best`: space.json's best_protocol) by the
    finding's own full criterion and robustness check: {verdict, parts, ours, reason, effect,
    protocol}. Where that protocol is our default read at a shorter length, it is the row's
    `at_lengths` entry for that share (the finding's verdict on its runs read from their logged
    history there); at the full length, the row itself. At another point of the space it is the
    claim's row in `study` (its finding notebook run again at that point, trained for that length);
    without one the verdict is None and the reason says why."""
    if not best:
        return None
    text = best.get("text", "the best-fitting protocol")
    if not best.get("default"):
        there = (study or {}).get(row["claim_id"])
        if there is None:
            return {"verdict": None, "protocol": text,
                    "reason": "its finding notebook was not run at that protocol"}
        return {**verdicts.at_length(there, 1.0), "protocol": text, "trained_at": "that protocol, for that length"}
    share = best.get("share", 1.0)
    at = verdicts.at_length(row, share)
    if at is None:
        return {"verdict": None, "protocol": text, "reason": f"its finding computed no verdict at {share:.0%} of the steps"}
    return {**at, "protocol": text}


def _share(r):
    v = r.get("protocol_share")
    return "–" if v is None else f"{v:.0%}"


def ordered(verdict_rows):
    """The rows in the study's claim order (published.json), one per claim, plus a 'not judged'
    row for any claim no notebook produced."""
    order = list(published.claims())
    by = {r["claim_id"]: r for r in verdict_rows}
    out = [by[c] for c in order if c in by] + [r for r in verdict_rows if r["claim_id"] not in order]
    missing = [c for c in order if c not in by]
    return out, missing


def _parts_text(parts):
    keys = [k for k in PART_NAMES if k in parts] + [k for k in parts if k not in PART_NAMES]   # a claim's own parts last
    return "; ".join(f"{k}: {parts[k]}" for k in keys if parts.get(k)) or "–"


def md_escape(text):
    """Text shown as itself in markdown (a table cell or a list item): markdown's special characters
    escaped (a criterion's "claim*sqrt(10)" is not emphasis), one line."""
    return re.sub(r"([\\`*_\[\]<>|])", r"\\\1", str(text)).replace("\n", " ")


PROTOCOLS = (("our protocol", "verdict"), ("the study's likeliest protocol", "at_study_protocol"))


def claim_anchor(claim_id):
    return f"claim-{claim_id}"


def _published_text(r, e=None):
    """The study's value of a claim, on the scale of our effect when there is one."""
    e = summary.effect(r) if e is None else e
    if e and e["published"] is not None:
        return verdicts.effect_text(e, e["published"])
    pub = r.get("published")
    if isinstance(pub, (int, float)) and not isinstance(pub, bool):
        return f"{int(pub):,}" if float(pub).is_integer() else stats.fmt(pub)
    if isinstance(pub, (list, tuple)):
        return "–".join(stats.fmt(v) for v in pub)
    return "–" if pub is None else str(pub)


def ours_short(r):
    """Our headline for the scorecard: the row's effect with its 95% interval where there is one
    number (`verdicts.effect_text`), else the first clause of the row's `ours` (the section gives it in
    full)."""
    e = summary.effect(r)
    if e is None:
        return r["ours"].split(";")[0].strip()
    return verdicts.effect_text(e)


def _verdict_td(v):
    v = v or "not judged"
    return (f'<td class="rn-verdict" style="background:{summary.VERDICT_COLORS.get(v, "#ffffff")}">'
            f"{html.escape(v)}</td>")


def scorecard(verdict_rows, caption=True, history=None):
    """The scorecard (HTML): one row per claim in the study's order, short columns (the claim, the
    study's value and ours on the same scale, the verdict at each protocol, coloured, and the share
    of the protocol space where it holds), each row linking to its section. With `history`
    (`criteria_history`), a claim whose criterion was revised after its results were seen is marked †."""
    rows, missing = ordered(verdict_rows)
    history = history or {}
    space = any("protocol_region" in r for r in rows)
    heads = ["#", "claim", "study", "ours (95% interval)", "verdict at our protocol"]
    heads += ["at the study's likeliest protocol", "holds across protocols"] if space else []
    out = ['<table class="rn-scorecard"><thead><tr>' + "".join(f"<th>{html.escape(h)}</th>" for h in heads)
           + "</tr></thead><tbody>"]
    for i, r in enumerate(rows, 1):
        e = summary.effect(r)
        measure = f'<br><small>{html.escape(e["label"])}</small>' if e else ""
        cells = [f"<td>{i}</td>", f'<td><a href="#{claim_anchor(r["claim_id"])}">{html.escape(r["claim"])}</a>'
                 f"{measure}{REVISED_MARK if revised_after_data(r, history) else ''}</td>",
                 f"<td>{html.escape(_published_text(r))}</td>", f"<td>{html.escape(ours_short(r))}</td>",
                 _verdict_td(r["verdict"])]
        if space:
            cells += [_verdict_td(summary.verdict_at(r, "at_study_protocol")), f"<td>{_share(r)}</td>"]
        out.append("<tr>" + "".join(cells) + "</tr>")
    for c in missing:
        claim = published.claims()[c]
        out.append(f"<tr><td>–</td><td>{html.escape(claim['text'])}</td><td>–</td><td>–</td>"
                   + _verdict_td("not judged") + ("<td>–</td><td>–</td>" if space else "") + "</tr>")
    return "\n".join(out) + "</tbody></table>"


REVISED_MARK = ' <span class="rn-revised" title="criterion revised after its results were seen">†</span>'


def scorecard_caption(verdict_rows):
    return render("scorecard_caption", study_protocol=next(
        (at["protocol"] for r in verdict_rows for at in [r.get("at_study_protocol")]
         if isinstance(at, dict) and at.get("protocol")), None))


def check_parts_text(r):
    """The parts of a row the robustness check ran and those it did not need (no value of theirs could
    change the verdict: `analysis.robustness`), as table cells "checked | not needed"."""
    if "check_parts_run" not in r:
        return "– | –"
    run, skipped = r["check_parts_run"], r["check_parts_skipped"]
    steps = lambda k: f" ({(r.get(k) or [0, 0])[1]:,} model-steps)" if (r.get(k) or [0, 0])[1] else ""
    return (f"{md_escape(', '.join(run)) or 'none'}{steps('check_cost_run')} | "
            f"{md_escape(', '.join(skipped)) or 'none'}{steps('check_cost_skipped') if skipped else ''}")


def checks_table(verdict_rows):
    """Per claim, the commit that last changed its criterion, the robustness check's verdicts and
    the parts it checked and did not need (it stops when the rest cannot change the verdict)."""
    rows, _ = ordered(verdict_rows)
    lines = ["| # | claim | criterion last changed | verdict (as trained) | verdict (one-ulp perturbation) | stable "
             "| parts checked | parts not needed |", "|---|---|---|---|---|---|---|---|"]
    stable = {True: "yes", False: "**no: inconclusive**", None: "not needed"}
    for i, r in enumerate(rows, 1):
        if "rounding_stable" in r:
            first = r.get("verdict_before_rounding_check", r["verdict"])
            check = (f"{first} | {r.get('verdict_other_kernels') or 'not needed'} | {stable[r['rounding_stable']]} | "
                     + check_parts_text(r))
        else:
            check = f"{r['verdict']} | not checked | – | – | –"
        lines.append(f"| {i} | {r['claim_id']} | `{r.get('criterion_commit', 'unknown')}` | {check} |")
    return "\n".join(lines)


ABSTRACT_WORDS = 250


def _words(text):
    return len(re.sub(r"[*_`\[\]()]", " ", text).split())


# Why a claim was not replicated, by kind (`failure_kinds`), in the order that breaks a tie.
FAILURE_KINDS = {
    "direction": "the claimed effect is absent or goes the other way (its direction fails)",
    "magnitude": "the effect is far from the claimed size (its magnitude fails)",
    "mechanism": "a further claimed part (a mechanism, a count or a condition) fails",
    "robustness check": "the result does not survive the robustness check (a one-ulp move of the initial weights)",
    "not testable": "a part is not testable as stated",
    "undecided": "a part neither holds nor fails at our number of data draws",
}


def failure_kinds(row):
    """The kinds of cause (`FAILURE_KINDS`) behind one verdict row: each failing part (direction,
    magnitude, or any other part: mechanism), a part not testable as stated, a verdict or ratio the
    robustness check moved, and, for a row with no failing part, its undecided parts."""
    parts = row.get("parts") or {}
    kinds = {k if k in ("direction", "magnitude") else "mechanism" for k, v in parts.items() if v == verdicts.FAILS}
    if any(v == verdicts.NOT_TESTABLE for v in parts.values()):
        kinds.add("not testable")
    if row.get("rounding_stable") is False or "verdict_before_ratio_check" in row:
        kinds.add("robustness check")
    if not kinds and any(v == verdicts.UNSURE for v in parts.values()):
        kinds.add("undecided")
    return kinds


def one_reason(verdict_rows):
    """The one reason that explains most of what did not replicate, computed from the rows: among
    the rows not replicated or inconclusive, the kind of cause (`failure_kinds`) shared by the most
    rows (ties: `FAILURE_KINDS` order), with its count and the claims; "" when every row holds."""
    rows = [r for r in ordered(verdict_rows)[0] if r["verdict"] in (verdicts.NOT_REPLICATED, verdicts.INCONCLUSIVE)]
    kinds = [failure_kinds(r) for r in rows]
    counts = {k: sum(k in ks for ks in kinds) for k in FAILURE_KINDS}
    kind = max(FAILURE_KINDS, key=counts.get)
    if not counts[kind]:
        return ""
    names = [summary.short_claim(r) for r, ks in zip(rows, kinds) if kind in ks]
    return (f"The commonest reason: {FAILURE_KINDS[kind]}, in {counts[kind]} of the {len(rows)} "
            f"claims not replicated or inconclusive ({', '.join(names)}).")


def study_protocol_text(rows):
    """One sentence: the verdicts at the study's likeliest protocol (`at_study_protocol`), by the same
    criteria, and the claims that hold there; "" when no row has one."""
    at = [(r, r.get("at_study_protocol")) for r in rows]
    judged = [(r, a) for r, a in at if isinstance(a, dict) and a.get("verdict")]
    if not judged:
        return ""
    counts = pd.Series([a["verdict"] for _, a in judged], dtype=object).value_counts()
    found = ", ".join(f"{counts.get(v, 0)} {v}" for v in verdicts.VERDICTS if counts.get(v, 0))
    held = [summary.short_claim(r) for r, a in judged if a["verdict"] in (verdicts.REPLICATED, verdicts.CONDITIONAL)]
    trained = any(a.get("trained_at") for _, a in judged)
    return (f"At the protocol that best fits the study's own table (notebook 08: {judged[0][1]['protocol']}"
            + ("; every finding trained again there" if trained else "; our runs read at that length")
            + f"), by the same criteria: {found}" + (f" of {len(judged)} judged" if len(judged) < len(rows) else "")
            + (f"; what holds there: {', '.join(held)}." if held else "; none holds there."))


def abstract(verdict_rows, answers=(), limit=ABSTRACT_WORDS):
    """The abstract (markdown, at most `limit` words), computed from the verdicts: what the study
    claimed, what we found, the one reason that explains most of it (`one_reason`), where the
    claims hold. Sentences past the first four are added in order while the abstract stays within
    the limit."""
    rows, missing = ordered(verdict_rows)
    n = len(rows) + len(missing)
    counts = pd.Series([r["verdict"] for r in rows], dtype=object).value_counts()
    found = ", ".join(f"{counts.get(v, 0)} {v}" for v in verdicts.VERDICTS if counts.get(v, 0)) or "none judged"
    held = [r for r in rows if r["verdict"] in (verdicts.REPLICATED, verdicts.CONDITIONAL)]
    first = [render("abstract", claims=n, citation=STUDY_CITATION, neurons=len(neurons.available()),
                    tasks=len(tasks.available()), data_seeds=protocol.DATA_SEEDS, found=found,
                    not_judged=len(missing))]
    first += [s for s in [study_protocol_text(rows)] if s]
    first += [s for s in [one_reason(verdict_rows)] if s]
    more = []
    if held:
        more.append("What holds: " + "; ".join(f"{summary.short_claim(r)} ({r['verdict']})" for r in held) + ".")
    gaps = [(r, summary.effect(r)) for r in rows]
    far = [(r, e) for r, e in gaps if e and e["published"] is not None and e["low"] is not None
           and not e["low"] <= e["published"] <= e["high"]]
    if far:
        more.append(render("abstract_outside", outside=[summary.short_claim(r) for r, e in far],
                           with_interval=sum(1 for _, e in gaps if e and e["low"] is not None)))
    judged = [r for r in rows if r.get("protocol_share") is not None]
    if judged:
        shares = sorted(r["protocol_share"] for r in judged)
        more.append(render("abstract_space", median_share=shares[len(shares) // 2]))
    more += [f"{a['question']} {a['answer']}" for a in answers]
    text = " ".join(first)
    for s in more:
        if _words(text + " " + s) <= limit:
            text += " " + s
    return text


def claim_text(r, figures):
    """A claim's verdict and effect in sentences (markdown), with references to its figures."""
    refs = " ".join(f"[[ref:fig-{n}]]" for n in figures)
    parts = [f"**Verdict: {r['verdict']}** at our protocol" + (f": {md_escape(r['reason'])}." if r.get("reason") else ".")
             + (f" Parts: {_parts_text(r.get('parts') or {})}." if r.get("parts") else ""),
             f"Ours: {md_escape(r['ours'])}; the study: {md_escape(_published_text(r))}{refs}."]
    if "rounding_stable" in r and r.get("check_parts_skipped"):
        run = ", ".join(r.get("check_parts_run") or [])
        parts.append("Robustness check: " + (f"ran {md_escape(run)}; " if run else "")
                     + f"{md_escape(', '.join(r['check_parts_skipped']))} not needed (no outcome could change the verdict)"
                     + {True: f"; verdict {r.get('verdict_other_kernels')} (stable).",
                        False: f"; verdict {r.get('verdict_other_kernels') or 'another'} (it changed, so the verdict "
                               "is inconclusive).", None: "."}[r["rounding_stable"]])
    elif "rounding_stable" in r:
        other = r.get("ours_other_kernels")
        same = "the same numbers" if other == r["ours"] else md_escape(other or "–")
        parts.append(f"With every initial weight moved by one ulp: {same}; verdict {r.get('verdict_other_kernels')} "
                     f"({'stable' if r['rounding_stable'] else 'it changed, so the verdict is inconclusive'}).")
    if "protocol_region" in r:
        parts.append(f"Across the sampled protocols it holds at {_share(r)}"
                     + (f" ({md_escape(r['protocol_region'])})" if r.get("protocol_region") else "")
                     + (" by notebook 08's reduced criterion." if r.get("protocol_share") is not None else "."))
    at = r.get("at_study_protocol")
    if isinstance(at, dict):
        differs = at.get("verdict") and at["verdict"] != r["verdict"] and at.get("parts")
        parts.append("At the study's likeliest protocol ([[ref:tab-scorecard]]), by the same criterion: "
                     + (f"**{at['verdict']}**" + (f" (parts: {_parts_text(at['parts'])})" if differs else "")
                        if at.get("verdict") else f"not judged ({md_escape(at.get('reason') or '')})") + ".")
    elif at:
        parts.append(f"At the study's likeliest protocol: {at}.")
    return " ".join(parts)


CRITERION_WORDS = 70     # the main text states a criterion's first sentences up to this many words


def criterion_short(text, words=CRITERION_WORDS):
    """A criterion's opening for the main text: its first sentence, and the sentences after it while
    the whole stays within `words` words, marked with "…" when cut (the full criterion, every branch,
    is in the notebook's appendix)."""
    sentences = re.split(r"(?<=[.;])\s+(?=[A-Z])", text.strip())
    out = sentences[0]
    for s in sentences[1:]:
        if len((out + " " + s).split()) > words:
            return out + " …"
        out += " " + s
    return out


def draw_summary(verdict_rows, figures_dir):
    """Draw the summary figure (`summary.figure`) of `verdict_rows` into figures_dir/summary.png."""
    import matplotlib.pyplot as plt
    plots.theme()
    fig = summary.figure(ordered(verdict_rows)[0], PROTOCOLS)
    path = plots.save(fig, SUMMARY_FIGURE, figures_dir)
    plt.close(fig)
    return path


def readme_summary(verdict_rows, figure=f"figures/{SUMMARY_FIGURE}.png"):
    """The README's headline (markdown), from the paper's verdict rows: the summary figure and one
    line per claim (its verdict at our protocol and at the study's likeliest, what is measured, the
    study's value and ours)."""
    rows, missing = ordered(verdict_rows)
    lines = [f"![Each claim of the study beside our measurement: the study's published effect (diamond) and ours "
             f"with its 95% interval, coloured by verdict]({figure})", ""]
    for r in rows:
        at = (f" (at the study's likeliest protocol: {summary.verdict_at(r, 'at_study_protocol')})"
              if summary.verdict_at(r, "at_study_protocol") else "")
        e = summary.effect(r)
        measure = f"{e['label'][0].upper()}{e['label'][1:]}: " if e else ""
        lines.append(f"- **{r['verdict']}**{at}: {md_escape(r['claim'])}. {measure}study "
                     f"{md_escape(_published_text(r))}, ours {md_escape(ours_short(r))}.")
    lines += [f"- **not judged**: {md_escape(published.claims()[c]['text'])}." for c in missing]
    return "\n".join(lines)
