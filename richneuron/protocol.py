"""The report's default protocol: one place for the settings every finding notebook shares.

The values live in `defaults` (which `Experiment` reads too); notebook 00_methods checks LR and
STEPS against the rule that chooses them (`analysis.methods.PROTOCOL_RULE`). Notebooks build their main grid with `main_grid(...)`, so the
same cells are computed once and shared through the results store.
"""
import dataclasses
import json

from . import validate
from .defaults import BUDGET, DATA_SEED, DATA_SEEDS, DEPTH, LR, SEEDS, STEPS  # noqa: F401  (the values)
from .experiment import POINT_KEYS, Experiment, check_point

# The robustness check reruns the scorecard comparisons (as far as they can change a verdict:
# analysis.robustness) with every initial weight moved by one ulp
# in a direction drawn from a separate seed (`models.perturb_`): a run as different as another CPU's
# rounding makes it, for every arch, ReLU included (torch's sin/cos/tanh in place of NumPy's, the
# check before, left a network without sines bit-identical). CHECK: the Experiment settings of the
# check runs; CHECK_LABEL: how tables name them.
CHECK = {"perturb": 1}
CHECK_LABEL = "one-ulp perturbation"


def main_grid(archs, tasks, seeds, steps=STEPS, data_seeds=None, **overrides):
    """The default-protocol Experiment for `archs` × `tasks` × `seeds` (a list of ints) on
    `data_seeds` data draws (a count: draws 0..n-1, or a list; None: the one draw DATA_SEED).
    The notebooks pass their `data_seeds` parameter (default DATA_SEEDS)."""
    data_seeds = [DATA_SEED] if data_seeds is None else data_seeds
    draws = list(range(data_seeds)) if isinstance(data_seeds, int) else list(data_seeds)
    kw = dict(budget=BUDGET, depth=DEPTH, lr=LR, data_seed=draws)
    kw.update(overrides)
    return Experiment(archs=list(archs), tasks=list(tasks), seed=list(seeds), steps=steps, **kw)


# ----------------------------------------------------------------------------- another protocol

# The settings a protocol point fixes (notebook 08's space: `analysis.space.design`).
POINT_FIELDS = ("lr", "omega", "init", "difficulty", "size", "length")


def parse_point(text):
    """A protocol point from its JSON text (the `protocol` parameter of the finding notebooks, as
    notebook 08 writes its best-fitting protocol: keys POINT_FIELDS and `text`), checked; "" or None
    is our default protocol (None returned). ValueError naming the bad key and what is allowed."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    try:
        point = json.loads(text) if isinstance(text, str) else dict(text)
    except (ValueError, TypeError):
        raise ValueError(f"protocol must be \"\" (our default protocol) or a JSON object with the keys "
                         f"{', '.join(POINT_FIELDS)} (as notebook 08 writes its best-fitting protocol), got {text!r}") from None
    missing = [k for k in POINT_FIELDS if k not in point]
    if missing:
        raise ValueError(f"protocol lacks {', '.join(missing)}; a protocol point has the keys {', '.join(POINT_FIELDS)}")
    validate.positive("protocol lr", point["lr"])
    validate.integer("protocol length", point["length"])
    check_point({k: point[k] for k in POINT_KEYS})
    return {**point, "text": str(point.get("text", ""))}


def at_point(exps, point, own_lr=()):
    """`exps` (name -> Experiment, list of them or None) at protocol `point` (`parse_point`): every
    setting an Experiment leaves at our default takes the point's value, and what a finding varies
    itself keeps its values. A single lr equal to our LR becomes the point's lr (except in the groups
    named in `own_lr`, whose lrs a tuning chose); ω, init, difficulty and training-set share go to
    each Experiment's `protocol` (see `Experiment`: per cell, what the cell leaves at its default).
    The steps are the notebook's (`Setup.steps`, the point's length). None: `exps` as is."""
    if point is None:
        return exps
    fields = {k: point[k] for k in POINT_KEYS}

    def moved(e, lr):
        kw = {"protocol": fields}
        if lr and not isinstance(e.lr, list) and e.lr == LR:
            kw["lr"] = point["lr"]
        return dataclasses.replace(e, **kw)
    return {name: None if v is None else [moved(e, name not in own_lr) for e in v] if isinstance(v, list)
            else moved(v, name not in own_lr) for name, v in exps.items()}
