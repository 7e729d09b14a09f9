"""The report's default protocol: one place for the settings every finding notebook shares.

The study published none of these (original-study.md §4.2); notebook 00_methods shows the
calibration sweep behind them. Notebooks build their main grid with `main_grid(...)`, so the
same cells are computed once and shared through the results store.
"""
from .engine import Experiment

BUDGET = 5000        # parameters per model (the study: "~5K" for memorization, 3K–8K overall)
DEPTH = 2            # hidden layers, then a linear head
STEPS = 3000         # full-batch Adam steps
LR = 1e-3            # constant learning rate, Adam default betas
SEEDS = 5            # model-initialisation seeds 0..4 (the study: 3)
DATA_SEED = 0        # one data set per task, shared by the seeds


def main_grid(archs, tasks, seeds, steps=STEPS, **overrides):
    """The default-protocol Experiment for `archs` × `tasks` × `seeds` (a list of ints)."""
    kw = dict(budget=BUDGET, depth=DEPTH, lr=LR, data_seed=DATA_SEED)
    kw.update(overrides)
    return Experiment(archs=list(archs), tasks=list(tasks), seeds=list(seeds), steps=steps, **kw)
