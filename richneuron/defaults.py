"""The default protocol's values, in one place: `Experiment`'s defaults, `protocol` (which builds
the notebooks' grids from them), the notebooks' parameters and the bench all read these.

The study published none of these (docs/original-study.md §4.2). LR and STEPS are held to a rule
stated before its data (`analysis.methods.PROTOCOL_RULE`): notebook 00_methods computes the rule's
choice on validation data and says, in the paper's Methods, whether these values are it. The findings
read the values from here, never from notebook 00's output.
"""
BUDGET = 5000        # parameters per model (the study: "~5K" for memorization, 3K–8K overall)
DEPTH = 2            # hidden layers, then a linear head
STEPS = 1000         # full-batch Adam steps: PROTOCOL_RULE's choice (00_methods, first full run: tied with 3,000)
LR = 1e-3            # constant learning rate, Adam default betas
SEEDS = 2            # model-initialisation seeds 0..1 on each data draw (the study: 3 seeds, one draw)
DATA_SEEDS = 6       # data draws 0..5 per task: 12 replicas per (arch, task) in every scorecard comparison, the
                     # same draws for every arch; inference is at the draw level (stats.compare(draws=...)), so
                     # 6 draws give its paired t 5 degrees of freedom (3 draws x 4 seeds gave 2)
DATA_SEED = 0        # the draw shown where one draw is enough (figures of learned functions)
READ_SHARES = (0.1, 1 / 3, 1.0)  # shares of the steps at which logged scores are read: the training lengths the
                                 # protocol space (notebook 08) and the study-protocol verdicts judge
