"""The paper's summary: each claim's published effect beside ours, on the claim's own scale.

Read from verdict rows (a notebook's verdicts.json, or the paper's): each row carries its headline
effect as `effect` (`verdicts.effect`: label, scale, unit, estimate with its interval, the study's value
on the same scale and the value of no effect), computed by its finding module from the comparison
it judged. A claim whose verdict rests on several tests with no one number has `effect` None (or
no `effect`) and is drawn as its verdict only; no number is read from a row's text.
"""
import math

import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from . import verdicts

# Verdict colours: the scorecard's cells and the summary figure's points (colour-blind safe).
VERDICT_COLORS = {verdicts.REPLICATED: "#1b9e77", verdicts.CONDITIONAL: "#7fc97f",
                  verdicts.NOT_REPLICATED: "#d95f02", verdicts.INCONCLUSIVE: "#9e9e9e", "not judged": "#ffffff"}
VERDICT_SHORT = {verdicts.REPLICATED: "replicated", verdicts.CONDITIONAL: "under conditions",
                 verdicts.NOT_REPLICATED: "not replicated", verdicts.INCONCLUSIVE: "inconclusive",
                 "not judged": "not judged"}


def verdict_at(row, key):
    """The verdict of `row` at the protocol stored under `key` ("verdict": ours; "at_study_protocol":
    an object with its own verdict, or a plain verdict in rows written before it was one)."""
    v = row.get(key)
    return v.get("verdict") if isinstance(v, dict) else v


def effect(row):
    """The row's headline effect (`verdicts.effect`'s dict: "label", "scale", "unit", "estimate", "low",
    "high", "published", "null"), or None when the claim has no single number."""
    e = row.get("effect")
    if not isinstance(e, dict) or e.get("estimate") is None:
        return None
    if e["scale"] == "log" and not all(v is None or v > 0 for v in (e["estimate"], e["low"], e["high"])):
        return None
    return dict(e)


def short_claim(row):
    """A claim's short name for the figure and the scorecard: its id in words."""
    return row["claim_id"].replace("_", " ")


def figure(rows, protocols=None):
    """The summary figure: one row per claim (in the order given), each on its own axis and scale:
    the study's published effect (black diamond), ours at our protocol (a dot with its 95% interval,
    coloured by the verdict), the line of no effect (dashed), and at the right the verdict at each
    protocol the scorecard reports (coloured boxes). Returns the figure."""
    protocols = protocols or [("ours", "verdict")]
    n = len(rows)
    fig, axes = plt.subplots(n, 1, figsize=(8.6, 0.62 * n + 0.7), squeeze=False)
    fig.subplots_adjust(left=0.30, right=0.70, hspace=1.25, top=1 - 0.5 / (0.62 * n + 0.7), bottom=0.02)
    for ax, row in zip(axes[:, 0], rows):
        e = effect(row)
        verdict = row.get("verdict", "not judged")
        colour = VERDICT_COLORS.get(verdict, "#ffffff")
        ax.set_yticks([])
        for s in ("left", "right", "top"):
            ax.spines[s].set_visible(False)
        ax.grid(False, axis="y")
        ax.text(-0.03, 0.5, short_claim(row), transform=ax.transAxes, ha="right", va="center", fontsize=7.5,
                fontweight="bold")
        for k, (title, key) in enumerate(protocols):
            v = verdict_at(row, key) or "not judged"
            ax.text(1.04 + 0.36 * k, 0.5, VERDICT_SHORT.get(v, v), transform=ax.transAxes, ha="left", va="center",
                    fontsize=6.5, bbox={"boxstyle": "round,pad=0.25", "fc": VERDICT_COLORS.get(v, "#ffffff"),
                                        "ec": "0.4", "lw": 0.5})
        if e is None:
            ax.set_xticks([])
            ax.spines["bottom"].set_visible(False)
            ax.text(0.5, 0.5, "no single effect: see its section", transform=ax.transAxes, ha="center",
                    va="center", fontsize=6.5, color="0.35", style="italic")
            continue
        values = [v for v in (e["estimate"], e["low"], e["high"], e["published"], e["null"]) if v is not None]
        lo, hi = min(values), max(values)
        if e["scale"] == "log":
            ax.set_xscale("log")
            ax.set_xlim(min(lo / 3, 10 ** math.floor(math.log10(lo))), max(hi * 3, 10 ** math.ceil(math.log10(hi))))
            narrow = math.log10(ax.get_xlim()[1] / ax.get_xlim()[0]) <= 2.5
            ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0) if narrow else (1.0,), numticks=12))
            if narrow:
                ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.xaxis.set_minor_formatter(NullFormatter())
        else:
            lo, hi = (min(lo, 0), max(hi, 0)) if e["null"] is None else (lo, hi)     # counts start at 0
            pad = 0.08 * (hi - lo) or 1.0
            ax.set_xlim(lo - pad, hi + pad)
        if e["null"] is not None:
            ax.axvline(e["null"], color="0.55", lw=0.7, ls="--")
        if e["low"] is not None:
            ax.plot([e["low"], e["high"]], [0, 0], color=colour, lw=2.2, solid_capstyle="butt")
        ax.plot([e["estimate"]], [0], "o", ms=6, mfc=colour, mec="black", mew=0.6)
        for title, key in protocols:                   # ours at another protocol: a hollow point below
            other = row.get(key) if key != "verdict" else None
            o = effect(other) if isinstance(other, dict) and other.get("effect") else None
            if o and o["scale"] == e["scale"]:
                c = VERDICT_COLORS.get(other.get("verdict"), "0.5")
                if o["low"] is not None:
                    ax.plot([o["low"], o["high"]], [-0.55, -0.55], color=c, lw=1.2, solid_capstyle="butt")
                ax.plot([o["estimate"]], [-0.55], "o", ms=4.5, mfc="white", mec=c, mew=1.2)
        if e["published"] is not None:
            ax.plot([e["published"]], [0], "D", ms=5.5, mfc="black", mec="black")
        ax.set_ylim(-1, 1)
        ax.tick_params(axis="x", labelsize=6, pad=1, length=2)
        ax.set_title(e["label"], fontsize=6.5, pad=2, loc="left", color="0.25")
    top = axes[0, 0]
    for k, (title, _) in enumerate(protocols):
        top.text(1.04 + 0.36 * k, 1.9, title, transform=top.transAxes, ha="left", va="bottom", fontsize=6.5,
                 fontweight="bold")
    others = [t for t, k in protocols if k != "verdict" and any(
        isinstance(r.get(k), dict) and r[k].get("effect") and effect(r[k]) for r in rows)]   # a hollow point was drawn
    top.text(0.0, 2.6, "◆ the study's published effect    ● ours with its 95% interval, coloured by verdict    "
             + (f"○ ours at {others[0]}    " if others else "") + "┆ no effect",
             transform=top.transAxes, ha="left", va="bottom", fontsize=6.5)
    return fig


def caption(rows, protocols):
    """The summary figure's caption (computed from the rows)."""
    drawn = sum(effect(r) is not None for r in rows)
    where = ", ".join(t for t, _ in protocols)
    return (f"Every claim of the study against our measurement, in the study's order: the study's published "
            f"effect (black diamond) and ours at our default protocol (dot, with its 95% interval where it has one; "
            f"coloured by verdict), each on the claim's own scale (log for ratios, percentage points for accuracy "
            f"gaps, counts for claims about how many tasks or archs); the dashed line is no effect. {drawn} of "
            f"{len(rows)} claims have one headline number; the others are verdicts over several tests (see their "
            f"sections). Right: the verdict at each protocol the scorecard reports ({where}).")
