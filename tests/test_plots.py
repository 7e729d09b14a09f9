import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

from richneuron import plots


def test_saved_figures_are_byte_for_byte_reproducible(tmp_path):
    plots.theme()
    paths = []
    for i in range(2):
        fig, ax = plt.subplots()
        ax.plot([0, 1, 2], [1, 0, 1])
        paths.append(plots.save(fig, f"f{i}", tmp_path))
        plt.close(fig)
    a, b = (p.read_bytes() for p in paths)
    assert a == b and a[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"Software" not in a and b"Creation" not in a


def test_every_arch_has_its_own_colour_in_every_figure():
    from richneuron import neurons
    archs = neurons.available("all")
    assert set(plots.arch_colors()) == set(archs)
    import itertools
    import numpy as np
    closest = min(np.linalg.norm(np.subtract(plots.color(a), plots.color(b)))
                  for a, b in itertools.combinations(archs, 2))
    assert closest > 0.2                # no two archs look alike (RGB distance; tab10+Dark2 had 0.09)


def test_colours_extend_to_any_number_of_archs():
    """A 21st and later arch gets a colour of its own (the palette used to wrap to Vanilla's blue)."""
    import itertools
    import math
    cols = plots.palette(40)
    assert len(set(cols)) == 40 and cols[:20] == plots.palette(20)
    assert min(math.dist(a, b) for a, b in itertools.combinations(cols, 2)) > 0.1


def test_replicas_figure_draws_every_replica_in_its_arch_colour():
    import pandas as pd
    df = pd.DataFrame({"arch": ["vanilla"] * 3 + ["singlu"] * 2, "score": [1e-3, 2e-3, 3e-3, 1e-6, 2e-6]})
    fig, ax = plt.subplots()
    plots.replicas(df, ax, center={"vanilla": 2e-3, "singlu": 1.4e-6}, baselines={"predict zero": 1.0},
                   published={"vanilla": 0.157, "singlu": None}, floor=1e-6, log=True)
    assert [len(c.get_offsets()) for c in ax.collections[:2]] == [3, 2]     # every replica a dot
    colours = {tuple(c.get_facecolor()[0][:3]) for c in ax.collections[:2]}
    assert colours == {tuple(plots.color("vanilla")), tuple(plots.color("singlu"))}
    labels = ax.get_legend_handles_labels()[1]
    assert {"predict zero", "float32 floor", "study (published)", "centre"} <= set(labels)
    assert ax.get_yscale() == "log"
    plt.close(fig)


def test_setup_require_names_the_missing_arch(tmp_path):
    import pytest
    from richneuron import notebook as nbk
    cfg = nbk.setup(True, 2, "vanilla,v10", 10, str(tmp_path / "o"), str(tmp_path / "c"), str(tmp_path / "f"),
                    notebook="01_memorization")
    cfg.require("vanilla")
    with pytest.raises(ValueError, match="missing singlu"):
        cfg.require("vanilla", "singlu")


def test_a_notebooks_count_and_share_parameters_name_themselves_and_their_value():
    import pytest
    from richneuron import notebook as nbk, validate
    assert validate.integer("sweep_seeds", 3) == 3
    assert validate.integer("sweep_seeds", 2.0) == 2          # a whole number, as everywhere in the package
    for bad in (0, -1, 2.5, True, "4"):
        with pytest.raises(ValueError, match=f"sweep_seeds must be .*, got {bad!r}"):
            validate.integer("sweep_seeds", bad)
    assert validate.fraction("validation", 0.5, 0.5) == 0.5
    for bad in (0.0, 0.6, True, "0.2"):
        with pytest.raises(ValueError, match=r"validation must be a fraction in \(0, 0.5\], got"):
            validate.fraction("validation", bad, 0.5)
    assert nbk.parse_list("budgets", "3000, 8000", int, minimum=100) == [3000, 8000]   # the name first, as validate
    with pytest.raises(ValueError, match="budgets values must be >= 100, got 50"):
        nbk.parse_list("budgets", "50", int, minimum=100)


def test_log_ticks_label_a_short_log_range_at_1_2_5_and_a_long_one_by_decade():
    from matplotlib.ticker import LogFormatterSciNotation
    fig, ax = plt.subplots()
    ax.set_yscale("log")
    ax.set_ylim(0.15, 1.6)                  # under one decade: log_axis would label only 1
    plots.log_ticks(ax)
    locs = [v for v in ax.yaxis.get_majorticklocs() if 0.15 <= v <= 1.6]
    assert [round(v, 6) for v in locs] == [0.2, 0.5, 1.0]
    assert [ax.yaxis.get_major_formatter()(v) for v in locs] == ["0.2", "0.5", "1"]
    ax.set_ylim(1e-7, 1)                    # seven decades: one label per decade at most (log_axis)
    plots.log_ticks(ax)
    assert isinstance(ax.yaxis.get_major_formatter(), LogFormatterSciNotation)
    plt.close(fig)


def test_log_ticks_widen_a_view_too_narrow_for_two_labels():
    fig, ax = plt.subplots()
    ax.set_yscale("log")
    ax.set_ylim(3.1e-6, 4.4e-6)             # no 1-2-5 value inside: matplotlib would crowd linear labels
    plots.log_ticks(ax)
    lo, hi = ax.get_ylim()
    assert (round(lo, 12), round(hi, 12)) == (2e-6, 5e-6)
    assert len([v for v in ax.yaxis.get_majorticklocs() if lo <= v <= hi]) == 2
    plt.close(fig)


def test_the_replica_dots_are_jittered_the_same_in_every_run(tmp_path):
    """seaborn jitters strip dots with NumPy's global random state, which depends on what ran before
    in a kernel: the same figure drawn after different draws is byte-identical, and the global state
    goes on as if no figure had been drawn."""
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd
    scores = pd.DataFrame({"arch": ["vanilla"] * 6 + ["singlu"] * 6, "score": np.linspace(0.1, 1.2, 12)})
    saved = []
    for seed in (1, 2):
        np.random.seed(seed)
        fig, ax = plt.subplots()
        plots.replicas(scores, ax)
        after = np.random.random()
        np.random.seed(seed)
        assert after == np.random.random()                         # the caller's random state is untouched
        saved.append(plots.save(fig, f"strip{seed}", tmp_path).read_bytes())
        plt.close(fig)
    assert saved[0] == saved[1]
