"""The report's default protocol: one place for the settings every finding notebook shares.

The values live in `defaults` (which `Experiment` reads too); notebook 00_methods checks LR and
STEPS against the rule that chooses them (`analysis.methods.PROTOCOL_RULE`). Notebooks build their main grid with `main_grid(...)`, so the
same cells are computed once and shared through the results store.
"""
from .defaults import BUDGET, DATA_SEED, DATA_SEEDS, DEPTH, LR, SEEDS, STEPS  # noqa: F401  (the values)
from .experiment import Experiment

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
    return Experiment(archs=list(archs), tasks=list(tasks), seeds=list(seeds), steps=steps, **kw)
