"""Helpers the finding notebooks share: parameter checking, quick mode, provenance, tables.

A notebook's `parameters` cell holds type-annotated literals only; its next cell calls
`setup(...)`, which checks them (a clear ValueError naming the valid choices) and derives
everything else. Output paths left at their default ("") are resolved from the repository root
and the mode, never from the working directory: a full run writes build/full/results/<notebook>
and figures/, a quick run build/quick/results/<notebook> and build/quick/figures/ (so a quick run
never touches the committed figures); both share the results store build/cache/.
"""
import base64
import dataclasses
import html
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display
from pandas.io.formats.style import Styler

from . import neurons, outputs, plots, plugins, protocol as protocols
from .provenance import provenance

QUICK_ARCHS = ("vanilla", "singlu", "v10")
ROOT = Path(__file__).resolve().parent.parent     # the repository (an editable install or a checkout)


STUDY = "study"       # the folder suffix of a run at another protocol (the study's likeliest)


def default_paths(notebook, quick, root=ROOT, other_protocol=False):
    """{output_dir, cache_dir, figures_dir} of notebook `notebook` (e.g. "06_ood") in this mode; a
    run at another protocol than ours (`other_protocol`) writes under build/<mode>/results_study and
    figures_study, never over the default protocol's outputs."""
    base = Path(root) / "build" / ("quick" if quick else "full")
    if other_protocol:
        at = other_protocol_paths(base, notebook)
        return {"output_dir": at["output_dir"], "cache_dir": Path(root) / "build" / "cache", "figures_dir": at["figures_dir"]}
    return {"output_dir": base / "results" / notebook, "cache_dir": Path(root) / "build" / "cache",
            "figures_dir": base / "figures" if quick else Path(root) / "figures"}


def other_protocol_paths(base, notebook):
    """Where a run of `notebook` at another protocol than ours writes, under build/<mode> (`base`):
    its outputs, its figures and (in a build) the executed notebook's folder."""
    return {"output_dir": Path(base) / f"results_{STUDY}" / notebook, "figures_dir": Path(base) / f"figures_{STUDY}",
            "notebooks_dir": Path(base) / f"notebooks_{STUDY}"}


def _inside(path, folder):
    return path.resolve().is_relative_to(folder.resolve())


def resolve_paths(notebook, quick, output_dir="", cache_dir="", figures_dir="", root=ROOT, other_protocol=False):
    """The three output folders as absolute paths: "" (or None) takes `default_paths`; an explicit
    path is taken as given (relative to the working directory). A quick run may not write into
    the full run's folders (figures/ or build/full/): ValueError."""
    given = {"output_dir": output_dir, "cache_dir": cache_dir, "figures_dir": figures_dir}
    out = default_paths(notebook, quick, root, other_protocol)
    for name, value in given.items():
        if value is None or value == "":
            continue
        if not isinstance(value, (str, Path)):
            raise ValueError(f"{name} must be a path (str) or \"\" for the default, got {value!r}")
        out[name] = Path(value).expanduser().absolute()
    if quick:
        for name in ("output_dir", "figures_dir"):
            for full in (Path(root) / "figures", Path(root) / "build" / "full"):
                if _inside(out[name], full):
                    raise ValueError(f"{name}={str(out[name])!r}: a quick run must not write into {full} "
                                     f"(the full run's outputs); leave it \"\" for {default_paths(notebook, True, root)[name]}")
    return out


@dataclass
class Setup:
    quick: bool
    seeds: list
    archs: list
    steps: int
    output_dir: Path
    cache_dir: Path
    figures_dir: Path
    data_seeds: list = field(default_factory=lambda: [0])
    point: dict = None               # the protocol point of this run (`protocol.parse_point`); None: ours
    started: float = field(default_factory=time.perf_counter)
    figures: int = 0                 # figures shown so far (their numbers in this notebook)

    def save(self, fig, name, caption=""):
        """Save a figure into figures_dir (the report's figures/, byte-reproducible PNG) and show
        that PNG as a numbered figure with `caption` under it and as its alt text (the paper
        renumbers the figures across the whole paper). `caption`: one or two sentences saying what
        the figure shows (computed numbers welcome); without one, the figure's titles stand in.
        The matplotlib figure is closed, so it is not shown a second time. Returns None, so that a
        cell ending in `cfg.save(...)` prints no file path into the paper."""
        caption = " ".join(str(caption).split()) or _titles(fig)
        path = plots.save(fig, name, self.figures_dir)
        plt.close(fig)
        self.figures += 1
        show_figure(path.read_bytes(), caption, self.figures, name)

    def table(self, df, name, publish=False):
        """Store a table as CSV in output_dir (raw results next to the figures) and return it; None
        (a table of runs not made, e.g. a sweep quick mode leaves out) is returned as is. `publish`:
        a full build also copies the CSV into paper/ (`outputs.publish`)."""
        if df is None:
            return None
        self.output_dir.mkdir(parents=True, exist_ok=True)
        df.to_csv(self.output_dir / f"{name}.csv", index=False)
        if publish:
            outputs.publish(self.output_dir, f"{name}.csv")
        return df

    def at_share(self, share):
        """This setup for the tables of a shorter training length (`share` of the steps): the same
        settings, its tables stored under output_dir/at_<share>/ (the full length's stay as they are)."""
        return dataclasses.replace(self, output_dir=Path(self.output_dir) / f"at_{share:.4g}")

    def at_protocol(self, exps, own_lr=()):
        """The notebook's Experiments (name -> Experiment, list or None) at this run's protocol:
        unchanged at ours, else `protocol.at_point` (the groups in `own_lr` keep the lrs a tuning
        chose)."""
        return protocols.at_point(exps, self.point, own_lr)

    def _repr_markdown_(self):
        where = f"; at another protocol than ours: {self.point['text'] or self.point}" if self.point else ""
        return (f"**Run settings:** {'quick' if self.quick else 'full'} mode, {len(self.seeds)} seeds on each of "
                f"{len(self.data_seeds)} data draws, "
                f"{self.steps} steps, archs: {', '.join(self.archs)}{where}")

    def elapsed(self):
        return time.perf_counter() - self.started

    def require(self, *archs):
        """ValueError unless every arch in `archs` is among this run's archs (a notebook that
        compares, e.g., vanilla with singlu needs both)."""
        missing = [a for a in archs if a not in self.archs]
        if missing:
            raise ValueError(f"this notebook needs the archs {', '.join(archs)} in archs; missing "
                             f"{', '.join(missing)} (got {', '.join(self.archs)})")


def parse_archs(archs, quick=False, group="study"):
    """ "all" or "a,b,c" -> a list of arch ids (ValueError naming the valid ids).

    "all" means every id of `group` ("study", "peers" or "all", see `neurons.available`); quick
    mode keeps its QUICK_ARCHS and the group's archs a plugin registered (`plugins`). Explicit ids
    may come from any group.
    """
    group_ids = neurons.available(group)          # also checks `group`
    if archs == "all":
        return list(QUICK_ARCHS) + [a for a in plugins.archs() if a in group_ids] if quick else group_ids
    items = [a.strip() for a in archs.split(",")] if isinstance(archs, str) else list(archs)
    if not items:
        raise ValueError(f"archs is empty; give 'all' or ids from: {', '.join(neurons.available('all'))}")
    for a in items:
        neurons.get(a)
    return items


def setup(quick, seeds, archs, steps, output_dir, cache_dir, figures_dir, quick_seeds=2, quick_steps=300,
          group="study", notebook=None, data_seeds=1, quick_data_seeds=2, protocol=""):
    """Check a notebook's parameters and derive its run settings.

    quick: small run (few archs, `quick_seeds` seeds, `quick_steps` steps) for tests and smoke checks.
    seeds: number of initialisation seeds (seeds 0..n-1) on each of `data_seeds` data draws (0..n-1).
    archs: "all" (the neurons of `group`: "study", "peers" or "all") or a comma-separated list of
    arch ids. output_dir, cache_dir, figures_dir: "" for the defaults of `notebook` (its file stem,
    e.g. "06_ood") in this mode, see `resolve_paths`.
    protocol: "" (our default protocol) or a protocol point as JSON (`protocol.parse_point`: notebook
    08's best-fitting protocol, which the build passes): the run's steps are the point's length and
    `Setup.at_protocol` moves its Experiments there; its default folders are the study ones.
    """
    if not isinstance(quick, bool):
        raise ValueError(f"quick must be True or False, got {quick!r}")
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"seeds must be a positive integer (the number of seeds), got {seeds!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if isinstance(data_seeds, bool) or not isinstance(data_seeds, int) or data_seeds < 1:
        raise ValueError(f"data_seeds must be a positive integer (the number of data draws), got {data_seeds!r}")
    arch_list = parse_archs(archs, quick, group)
    if quick:
        seeds, steps, data_seeds = min(seeds, quick_seeds), min(steps, quick_steps), min(data_seeds, quick_data_seeds)
    point = protocols.parse_point(protocol)
    if point is not None:
        steps = point["length"]
    if notebook is None and "" in (output_dir, cache_dir, figures_dir):
        raise ValueError("setup(notebook=...) is needed to resolve default (\"\") paths")
    paths = resolve_paths(notebook, quick, output_dir, cache_dir, figures_dir, other_protocol=point is not None)
    out = Setup(quick, list(range(seeds)), arch_list, steps, paths["output_dir"], paths["cache_dir"],
                paths["figures_dir"], list(range(data_seeds)), point)
    out.output_dir.mkdir(parents=True, exist_ok=True)
    plots.theme()
    plain_tables()
    return out


def parse_list(name, text, kind=float, minimum=None, positive=False):
    """A comma-separated parameter ("3000,8000") as a list of `kind`, with a clear ValueError."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        text = str(text)
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{name} must be a comma-separated list of values, e.g. '1,2,3'; got {text!r}")
    out = []
    for item in text.split(","):
        try:
            v = kind(item.strip())
        except ValueError:
            raise ValueError(f"{name}: {item.strip()!r} is not a valid {kind.__name__}") from None
        if minimum is not None and not v >= minimum:
            raise ValueError(f"{name} values must be >= {minimum}, got {v!r}")
        if positive and not (v > 0 and math.isfinite(v)):
            raise ValueError(f"{name} values must be positive and finite, got {v!r}")
        out.append(v)
    return out


def show_provenance(cfg):
    """Show this run's provenance in one line; the full record goes to output_dir/provenance.csv."""
    p = provenance(quick=cfg.quick, seeds=len(cfg.seeds), archs=len(cfg.archs), steps=cfg.steps)
    cfg.table(pd.DataFrame([p]), "provenance")
    return Markdown(f"*Provenance:* richneuron {p['richneuron']}, commit `{p['git_commit']}`, torch {p['torch']}, "
                    f"numpy {p['numpy']}, Python {p['python']}, {p['torch_threads']} torch threads, {p['cpu']} "
                    f"({p['cpu_count']} cores), {p['date']}.")


def say(text):
    """A generated markdown line (numbers in it come from data, never typed)."""
    display(Markdown(text))


def write_answers(rows, output_dir):
    """Store a notebook's answers to its own questions (question, answer, evidence) as JSON: the
    paper's abstract and its "Beyond the study" table are built from them."""
    return outputs.write(output_dir, outputs.ANSWERS, rows)


# Figures and tables as the paper shows them.
FIGURE_KEY = "richneuron_figure"      # output metadata of a figure shown by `show_figure`


def _titles(fig):
    """A figure's own titles (suptitle, then the panels' titles), the caption of last resort."""
    sup = fig._suptitle.get_text() if fig._suptitle else ""
    panels = "; ".join(t for t in dict.fromkeys(ax.get_title() for ax in fig.axes) if t)
    return ". ".join(t for t in (sup, panels) if t) or "(no caption given)"


def figure_html(png_b64, caption, number, name="", width=None):
    """A figure as HTML: the PNG (embedded), the caption as its alt text and, under it,
    "Figure `number`." and the caption."""
    cap = html.escape(caption, quote=True)
    size = f' width="{width}"' if width else ""
    anchor = f' id="fig-{html.escape(name, quote=True)}"' if name else ""
    return (f'<figure class="rn-figure"{anchor}><img src="data:image/png;base64,{png_b64}" alt="{cap}"{size} '
            f'style="max-width: 100%; height: auto">\n<figcaption><b>Figure {number}.</b> {cap}</figcaption></figure>')


def figure_output(png_b64, caption, number, name="", width=None):
    """The display data of one figure (HTML and plain text) and its metadata (name, caption,
    width), which the paper reads to renumber the figure."""
    data = {"text/html": figure_html(png_b64, caption, number, name, width),
            "text/plain": f"Figure {number}. {caption}"}
    return data, {FIGURE_KEY: {"name": name, "caption": caption, "width": width}}


def show_figure(png, caption, number, name=""):
    """Display PNG bytes as figure `number` with its caption (see `figure_html`); shown at the
    size matplotlib would show it inline (figure.dpi), whatever the PNG's resolution. Outside
    IPython (a script) nothing is shown: the figure is in its file."""
    if not _ipython():
        return
    width = round(int.from_bytes(png[16:20], "big") * plt.rcParams["figure.dpi"] / plots.DPI)   # PNG IHDR width
    data, meta = figure_output(base64.b64encode(png).decode(), caption, number, name, width)
    display(data, raw=True, metadata=meta)


def _ipython():
    from IPython.core.interactiveshell import InteractiveShell
    return InteractiveShell.initialized()


def table_html(df):
    """A DataFrame as the paper shows it: no pandas index column (an unnamed integer index, the
    row numbers, is dropped; a meaningful one, named or of labels, becomes ordinary columns),
    column levels joined by " · ", nothing truncated."""
    if any(n is not None for n in df.index.names) or not pd.api.types.is_integer_dtype(df.index):
        df = df.reset_index()
    multi = isinstance(df.columns, pd.MultiIndex)
    df = df.set_axis([" · ".join(str(v) for v in c if str(v) != "") if multi else c for c in df.columns], axis=1)
    return df.to_html(index=False, max_rows=None, max_cols=None, na_rep="–", border=0)


def plain_tables():
    """Every DataFrame a notebook shows renders by `table_html` (no index column, no truncation);
    pandas' text display is not truncated either."""
    pd.set_option("display.max_rows", None)
    pd.set_option("display.max_columns", None)
    pd.set_option("display.max_colwidth", None)
    pd.set_option("display.width", None)
    from IPython import get_ipython
    ip = get_ipython()
    if ip is not None:
        html_ = ip.display_formatter.formatters["text/html"]
        html_.for_type(pd.DataFrame, table_html)
        html_.for_type(Styler, styler_html)


def styler_html(styler):
    """A styled DataFrame as the paper shows it: its row numbers (an unnamed integer index) hidden."""
    index = styler.data.index
    if all(n is None for n in index.names) and pd.api.types.is_integer_dtype(index):
        styler = styler.hide(axis="index")
    return styler.to_html()

