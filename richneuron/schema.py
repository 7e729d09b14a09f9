"""The results schema: every column of a replica's row in `Results.metrics`, the results store and
the published results file, with its meaning. One definition, read by the store's validator
(`REQUIRED`), `Results` (`Results.columns`), the report's data dictionary (`column_doc`,
`column_order`) and checked against what the writer (`train.run_cell`) writes
(tests/test_schema.py: every written column documented, every documented column written).
"""
import re

# Columns every stored metrics row must hold (the store's validator checks them).
REQUIRED = ("arch", "task", "seed", "replica", "diverged", "final_train_loss", "cell")

# Fixed columns, in the published file's order: the configuration, the replica, its scores and
# baselines, then bookkeeping. `notebooks` is added by the report when it publishes; `learnt_nothing` is
# derived from a row's scores when it is read (`Results`, the published file), never stored.
COLUMNS = {
    "arch": "neuron id (Methods: the neurons' equations)",
    "task": "task id (Methods: the tasks' generators)",
    "width": "hidden width of each layer (matched to `budget` when a budget was given)",
    "params": "exact number of trainable parameters of the model",
    "budget": "parameter budget the width was matched to (empty where the width was set directly)",
    "depth": "hidden layers of the neuron, then a linear head",
    "steps": "full-batch Adam steps",
    "meta_lr_scale": "factor on the learning rate of the meta (modulating) parameters; 1 = the same rate",
    "kernels": "sin/cos/tanh kernels: numpy (the default) or torch (same results up to rounding)",
    "perturb": "robustness check: 0 for a run as initialised; n > 0 when every initial weight was moved by one "
               "ulp in a direction drawn from a generator seeded with the replica's seed and n (protocol.CHECK)",
    "device": "where the replica trained (cpu or cuda)",
    "data_seed": "seed of the task's data draw",
    "seed": "initialisation seed of the model",
    "omega": "ω of this replica (empty: the neuron's default, or a neuron without ω)",
    "lr": "constant Adam learning rate",
    "replica": "index of the replica within its cell (the stacked ensemble it trained in)",
    "final_train_loss": "training loss (MSE or cross-entropy) after the last step; empty if diverged",
    "diverged": "True when training diverged (NaN/inf, or ended worse than its start and 10× the best "
                "constant's loss); its scores are empty",
    "learnt_nothing": "True when the replica did not diverge but its test score is no better than its own "
                      "baseline (test MSE ≥ predict_mean_mse, or test accuracy ≤ chance_accuracy); derived from "
                      "this row's scores when read, not stored; such replicas stay in the statistics",
    "predict_zero_mse": "sanity baseline: MSE of predicting 0 on this draw's test set",
    "predict_mean_mse": "sanity baseline: MSE of predicting the training targets' mean on the test set",
    "chance_accuracy": "sanity baseline: accuracy of predicting the test set's majority class",
    "uniform_accuracy": "sanity baseline: 1 / number of classes",
    "metric": "the task's score: mse (lower is better) or accuracy (higher is better), in the "
              "`test_<metric>` column",
    "wall_seconds": "the training time of the stack that trained this replica divided by its replicas (machine-dependent)",
    "cell": "key of the cell in the results store (build/cache/<cell>.json holds its history and weights)",
    "notebooks": "the notebooks that read this replica (comma-separated)",
    "repeats": "empty for an original replica; for a row that repeats another row's replica (the same "
               "configuration, draw and seed, read again by another cell; it was trained once), that row's "
               "`cell`: count each replica once by keeping the rows where this is empty",
    "stack": "key of the stored training stack that trained this replica (the `cell` itself, or a stack "
             "shared with other cells: each replica is trained once); `wall_seconds` is its share of that "
             "stack's training time",
}
# The columns that identify a replica's configuration (with the task.* and opt.* options): two rows
# that agree on all of them are the same replica trained twice.
REPLICA_KEYS = ("arch", "task", "width", "params", "budget", "depth", "steps", "meta_lr_scale", "kernels", "perturb",
                "device", "data_seed", "seed", "omega", "lr")
PATTERNS = (
    (r"train_(mse|accuracy)", "score on the training set"),
    (r"test_(mse|accuracy)", "score on the test set: fresh draws, the training pairs for memorize, the "
                             "shifted range for ood, freqgen and mixedfreq (the report's score)"),
    (r"in_range_(mse|accuracy)", "score on fresh points of the training range (ood, freqgen, mixedfreq)"),
    (r"moved\.(direct|meta)", "relative weight change of that role's parameters over training, "
                             "‖W_end − W_init‖ / ‖W_init‖ (meta: the modulating weights; empty for a neuron without them)"),
    (r"task\.\w+", "task option set for this run (empty: the generator's default, see Methods)"),
    (r"opt\.\w+", "neuron option set for this run (empty: the neuron's default, see Methods)"),
)


def column_doc(name):
    """What column `name` of the published results means (None: undocumented)."""
    return COLUMNS.get(name) or next((d for p, d in PATTERNS if re.fullmatch(p, name)), None)


def column_order(columns):
    """The configuration, its task and neuron options, the replica, its scores, then the rest."""
    after = {"device": [c for c in columns if c.startswith(("task.", "opt."))],
             "final_train_loss": [c for c in columns if re.match(r"(train|test|in_range)_", c)]}
    out = []
    for c in COLUMNS:
        out += ([c] if c in columns else []) + sorted(after.get(c, []))
    return out + sorted(set(columns) - set(out))
