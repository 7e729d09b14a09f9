"""Tuned learning rates, shared by notebooks 02, 07 and 09: one trial per rate of one grid (`LRS`)
per (arch, task), seed `TUNING_SEED`, on a validation split of the training data (`VALIDATION`),
the rate with the best validation score chosen (`chosen_lr`), then fresh runs at it (`tuned_grids`).
"""
import numpy as np
import pandas as pd

from .. import protocol, stats

LRS = (3e-4, 1e-3, 3e-3, 1e-2)                        # the tuning grid, the same for every arch
VALIDATION = 0.2                                      # share of the training points held out
TUNING_SEED = 0


def tuning_grid(archs, task_list, steps, lrs=LRS, seed=TUNING_SEED, validation=VALIDATION):
    """One trial per lr per (arch, task), stacked in one cell, on the validation split."""
    return protocol.main_grid(archs, task_list, [seed], steps, lr=[float(v) for v in lrs],
                              task_options={"validation": float(validation)})


def chosen_lr(tuning_metrics):
    """Per (arch, task): the lr with the best validation score (diverged trials score worst;
    exact ties go to the smaller lr). Columns arch, task, lr, val_score, trials."""
    m = tuning_metrics.assign(score=stats.score_column(tuning_metrics))
    rows = []
    for (arch, task), g in m.groupby(["arch", "task"], sort=False):
        lower = stats.LOWER_IS_BETTER[g["metric"].iloc[0]]
        s = g["score"].where(~g["diverged"].astype(bool), np.inf if lower else -np.inf)
        g = g.assign(s=s).sort_values(["s", "lr"], ascending=[lower, True])
        rows.append({"arch": arch, "task": task, "lr": float(g["lr"].iloc[0]), "val_score": g["score"].iloc[0],
                     "trials": len(g)})
    return pd.DataFrame(rows)


def tuned_grids(chosen, seeds, steps, data_seeds=None, **overrides):
    """The final runs: one Experiment per (arch, task) at its chosen lr, `seeds` seeds on each of
    `data_seeds` data draws (None: the one draw DATA_SEED); `overrides` as in `protocol.main_grid`
    (e.g. kernels="torch")."""
    return [protocol.main_grid([r.arch], [r.task], seeds, steps, data_seeds=data_seeds, lr=r.lr, **overrides)
            for r in chosen.itertuples()]
