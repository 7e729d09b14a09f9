"""Figures: one theme, deterministic PNG files, and the report's recurring plot types."""
import functools
import math
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import torch

from . import tasks

DPI = 150
COL, ROW = 3.0, 2.6          # inches per panel


def theme():
    """The report's look (call once per notebook)."""
    sns.set_theme(context="paper", style="whitegrid", palette="colorblind", font_scale=1.0)
    matplotlib.rcParams.update({"figure.dpi": 100, "savefig.dpi": DPI, "axes.titlesize": 9,
                                "axes.labelsize": 8, "legend.fontsize": 7, "xtick.labelsize": 7,
                                "ytick.labelsize": 7, "svg.hashsalt": "richneuron"})


def save(fig, name, figures_dir):
    """Save `fig` as figures_dir/name.png (150 dpi, no timestamp or software metadata)."""
    path = Path(figures_dir) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    return path


def grid(n, ncols=None, sharex=False, sharey=False):
    ncols = ncols or min(n, 5)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(COL * ncols, ROW * nrows), squeeze=False,
                             sharex=sharex, sharey=sharey)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat[:n]


def draw_task(task, ax):
    """Scatter / line of a task's training data (and test data when it lies elsewhere)."""
    x, y = task.x_train, task.y_train
    if task.kind == "classification":
        ax.scatter(x[:, 0], x[:, 1], c=y, s=3, cmap="coolwarm", linewidths=0)
        ax.set_aspect("equal")
    elif task.in_dim == 1:
        o = x[:, 0].argsort()
        ax.plot(x[o, 0], y[o, 0], lw=0.8, label="train")
        if task.name in tasks.available("shifted"):     # its test range lies elsewhere
            o = task.x_test[:, 0].argsort()
            ax.plot(task.x_test[o, 0], task.y_test[o, 0], lw=0.5, alpha=0.7, label="test")
            ax.legend(loc="upper right")
    elif task.in_dim == 2:
        ax.scatter(x[:, 0], x[:, 1], c=y[:, 0], s=3, cmap="viridis", linewidths=0)
        ax.set_aspect("equal")
    else:
        ax.hist(y.flatten().numpy(), bins=40)
        ax.set_xlabel("target value")
    ax.set_title(f"{task.name} ({task.in_dim}→{task.out_dim}, {len(x)} train)")


def decision_boundary(model, task, ax, title=None, resolution=200):
    """The model's predicted class over [−1.2, 1.2]², training points on top, errors as black x."""
    lim = 1.2 if task.name != "spiral" else float(task.x_train.abs().max()) * 1.05
    g = torch.linspace(-lim, lim, resolution)
    xx, yy = torch.meshgrid(g, g, indexing="xy")
    with torch.no_grad():
        pred = model(torch.stack([xx.flatten(), yy.flatten()], 1)).argmax(1).view(resolution, resolution)
        wrong = model(task.x_train).argmax(1) != task.y_train
    ax.imshow(pred.numpy(), extent=(-lim, lim, -lim, lim), origin="lower", cmap="coolwarm", alpha=0.35,
              interpolation="nearest", vmin=0, vmax=max(1, task.out_dim - 1))
    ax.scatter(task.x_train[:, 0], task.x_train[:, 1], c=task.y_train, s=2, cmap="coolwarm", linewidths=0)
    if wrong.any():
        ax.scatter(task.x_train[wrong, 0], task.x_train[wrong, 1], marker="x", c="k", s=8, linewidths=0.6)
    ax.set(xticks=[], yticks=[], title=title or "")


def learned_function(model, x, ax, **kw):
    """Plot a 1-D model's output over the points `x` (N, 1)."""
    with torch.no_grad():
        y = model(x)
    o = x[:, 0].argsort()
    ax.plot(x[o, 0], y[o, 0], **kw)


def curves(history, quantity, ax, hue="arch", layer="all", logy=True, title=None):
    """Mean ± std over seeds of a history quantity against step, one line per `hue` value."""
    h = history[(history["quantity"] == quantity) & (history["layer"] == layer)]
    sns.lineplot(h, x="step", y="value", hue=hue, errorbar="sd", ax=ax, lw=1)
    if logy:
        ax.set_yscale("log")
    ax.set(title=title or quantity, ylabel=quantity)


# One colour per arch across the whole report: the study's 14 in its order, then the 6 peers, then
# any arch registered later. The first 20 were picked greedily (largest smallest RGB distance, none
# too light to read on white) from tab10, Dark2, Set1 and Kelly's colours of maximum contrast:
# vanilla blue, singlu red. Beyond them each arch gets, by the same greedy rule, the colour of a
# fixed grid of hues farthest from every colour already given.
KELLY = ("#1f77b4", "#d62728", "#000000", "#f781bf", "#66a61e", "#F6A600", "#4B0082", "#FF1493", "#984ea3",
         "#008856", "#654522", "#00CED1", "#C2B280", "#a6761d", "#666666", "#bcbd22", "#F99379", "#d95f02",
         "#B3446C", "#2ca02c")


@functools.lru_cache(maxsize=None)
def palette(n):
    """`n` distinct RGB colours: `KELLY`'s, then greedy picks from a grid of hues, lightness and saturation."""
    import colorsys
    out = [matplotlib.colors.to_rgb(c) for c in KELLY[:n]]
    grid = [colorsys.hls_to_rgb(h / 48, l, s) for h in range(48) for l in (0.3, 0.45, 0.6) for s in (0.55, 0.95)]
    while len(out) < n:
        out.append(max(grid, key=lambda c: min(math.dist(c, o) for o in out)))
    return tuple(out)


def arch_colors():
    """arch -> its colour, for every registered arch (registration order)."""
    from .neurons import available
    archs = available("all")
    return dict(zip(archs, palette(len(archs))))


def color(arch):
    """The report's colour for `arch` (the same in every figure)."""
    return arch_colors().get(arch, (0.4, 0.4, 0.4))


def log_axis(ax, axis="y"):
    """Readable log ticks: at most one label per decade, plain 1e-3 style, no minor labels."""
    from matplotlib.ticker import LogFormatterSciNotation, LogLocator, NullFormatter
    a = ax.yaxis if axis == "y" else ax.xaxis
    a.set_major_locator(LogLocator(base=10, numticks=6))
    a.set_major_formatter(LogFormatterSciNotation())
    a.set_minor_formatter(NullFormatter())


def strip(data, **kw):
    """seaborn's stripplot with the same jitter in every run: seaborn draws it from NumPy's global
    random state, which depends on whatever ran before in the kernel; here it is drawn from a state
    seeded by JITTER_SEED, and the global state is put back afterwards."""
    state = np.random.get_state()
    np.random.seed(JITTER_SEED)
    try:
        return sns.stripplot(data, **kw)
    finally:
        np.random.set_state(state)


JITTER_SEED = 0


def replicas(scores, ax, value="score", order=None, center=None, baselines=None, published=None,
             floor=None, log=False, title=None, ylabel=None):
    """The report's recurring figure: every replica as a dot (one colour per arch), its centre as a
    bar (`center`: arch -> value, e.g. a geometric mean), sanity baselines as dashed lines
    (`baselines`: label -> value), the study's published value as a red star (`published`:
    arch -> value) and the float32 floor as a dotted line."""
    order = list(order if order is not None else dict.fromkeys(scores["arch"]))
    strip(scores, x="arch", y=value, order=order, hue="arch", hue_order=order,
          palette=[color(a) for a in order], legend=False, ax=ax, size=3, jitter=0.15)
    if center:
        xs = [i for i, a in enumerate(order) if a in center]
        ax.scatter(xs, [center[order[i]] for i in xs], marker="_", s=300, c="k", lw=1.2, zorder=4,
                   label="centre")
    for i, (lab, v) in enumerate((baselines or {}).items()):
        ax.axhline(v, ls="--", c=str(0.35 + 0.2 * i), lw=0.8, label=lab)
    if floor is not None:
        ax.axhline(floor, ls=":", c="k", lw=0.8, label="float32 floor")
    if published:
        xs = [i for i, a in enumerate(order) if published.get(a) is not None]
        ax.scatter(xs, [published[order[i]] for i in xs], marker="*", c="red", s=60, zorder=5,
                   label="study (published)")
    if log:
        ax.set_yscale("log")
        log_axis(ax)
    ax.set(xlabel="", ylabel=ylabel or value, title=title or "")
    ax.tick_params(axis="x", rotation=60)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=6)
    return ax


def log_ticks(ax, axis="y"):
    """`log_axis` for any range: an axis spanning less than two decades (where `log_axis` labels one
    power of ten or none) is labelled at 1, 2 and 5 × 10^k as plain numbers (0.02, 0.05, 0.1; 20,
    50, 100); a view holding fewer than two such values (within a factor ~2.5, where matplotlib
    falls back to crowded linear labels) is first widened to the nearest ones around it. Call it
    after plotting: it reads the axis limits."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
    get, set_ = (ax.get_ylim, ax.set_ylim) if axis == "y" else (ax.get_xlim, ax.set_xlim)
    lo, hi = get()
    if lo > 0:
        k = range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1)
        nice = [m * 10.0 ** e for e in k for m in (1, 2, 5)]
        if sum(lo <= v <= hi for v in nice) < 2:
            lo, hi = max(v for v in nice if v <= lo), min(v for v in nice if v >= hi)
            set_(lo, hi)
    if lo > 0 and hi / lo >= 100:
        return log_axis(ax, axis)
    a = ax.yaxis if axis == "y" else ax.xaxis
    a.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    a.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    a.set_minor_formatter(NullFormatter())
