"""The training engine: an `Experiment` grid, trained as stacked ensembles, cached, instrumented.

Protocol (the study's is unpublished, so this one is ours and recorded with every result):
full-batch Adam (default betas, eps 1e-8), constant learning rate, MSE for regression and
cross-entropy for classification, no clipping. A replica is one (arch, task, seed, ω, ...) run.

How it is fast. Replicas that share a shape (the seeds, data draws, ω values, learning rates and
meta-lr scales of one arch, width and task) are trained as one ensemble, a *stack*. The neurons run a stack natively
(`neurons.Linear` becomes a batched matrix product when its weight has a leading replica axis),
so a cell is one ordinary forward and backward pass over parameters stacked along that axis:
no vmap, contiguous gradients. All parameters of a cell live in one flat vector and one Adam
with a per-element learning rate updates it in a few kernels: K independent Adams, each with
its own lr (Adam is elementwise). Cells are independent and run in parallel worker processes
with one torch thread each, through any `concurrent.futures.Executor` (a Dask
`Client().get_executor()` works the same way; $RICHNEURON_SCHEDULER names a Dask scheduler for every
`run` without an executor, see `cluster`). The sine, cosine and tanh come from `ops` (NumPy's
SIMD kernels, several times faster than torch's on the CPU); `Experiment(device="cuda")` trains
on a GPU with torch's kernels.

Equivalence with a plain loop. A replica ends with the final train loss of the same
`build_model(..., seed=seed)` trained alone by `torch.optim.Adam` on the same data: the only
difference is the order of float reductions inside the batched kernels, so the two agree to
~1e-6 relative after a few hundred steps (tested to 1e-4; in float64 to 1e-9). Over thousands of steps these
rounding differences can grow where training is chaotic (large lr, sine neurons at large ω),
to a few percent of the final loss in the worst cases we saw; the metrics of a replica are
still bit-identical from run to run on one machine and thread count.

Nothing twice. A replica is named by what determines its numbers (`experiment.replica_keys`), and
its numbers do not depend on the stack it trains in (`train.train_stack`). `run` asks the store
for every replica of the requested cells, trains the missing ones once (those of one shape as
one stack, split only for memory or to keep every worker busy) and assembles each cell from its
replicas, wherever they were trained.

Divergence. A replica whose loss becomes NaN or inf is stopped: its parameters are frozen at
their last finite values, its metrics are NaN and `diverged` is True; the other replicas of
the stack continue unaffected (their gradients and Adam states never mix with it).
"""
import contextlib
import json
import os
import sys
import time
import warnings
from concurrent.futures import as_completed
from concurrent.futures.process import BrokenProcessPool

from . import observe, pool, validate
from .experiment import Experiment, cell_key, cost
from .results import Results
from .store import assemble, load_cell, load_replicas, replica_index, replica_records, save_cell
from .train import run_cell, train_stack

__all__ = ["Experiment", "Results", "run", "run_cell", "train_stack", "cost", "cell_key"]


def run(experiment, *, cache_dir=None, progress=True, executor=None, workers=None, on_progress=None, on_cells=None):
    """Run `experiment` (or a list of them, as one pool of cells); returns `Results`.

    cache_dir: finished cells are stored there (atomically) and reused on the next run. A store that
      cannot be written (a read-only mount) is read without writing anything; only a run that would
      train there (a cell or replica it lacks, or holds damaged) is refused, before any training.
    executor: any `concurrent.futures.Executor` (e.g. `distributed.Client().get_executor()`);
      by default the Dask scheduler named by the environment variable RICHNEURON_SCHEDULER
      (tcp://host:port) if it is set, else a process pool with `workers` processes (default:
      the CPU count), or in-process when there is a single stack to train or `workers=1`. Results always
      come back to this process and its `cache_dir`: workers need no shared disk.
    on_progress: called with the run's state (cells_total, cells_done, steps_total, steps_done,
      started) at the start and after every finished cell; on_cells: called at the end with the keys
      of the cells the run returns. Left None, each is the one `make report` sets for its notebooks
      (`observe.from_environment`), or nothing.
    """
    pool.leave_if_bootstrapping()                # a worker importing a module that calls run unguarded
    with warnings.catch_warnings():              # text bars where ipywidgets is missing
        warnings.simplefilter("ignore")
        from tqdm.auto import tqdm
    exps = list(experiment) if isinstance(experiment, (list, tuple)) else [experiment]
    for e in exps:
        if not isinstance(e, Experiment):
            raise TypeError(f"run() takes an Experiment or a list of them, got {type(e).__name__}")
    if not exps:
        raise ValueError("run() got an empty list of experiments")
    cache_dir, workers = validate.cache_path(cache_dir), validate.workers(workers)   # before any training
    read_only = None if cache_dir is None else validate.writable(cache_dir)   # why it cannot be written
    writable = read_only is None
    executor = validate.executor(executor)
    if executor is None and os.environ.get("RICHNEURON_SCHEDULER", "").strip():
        validate.scheduler("RICHNEURON_SCHEDULER", os.environ["RICHNEURON_SCHEDULER"].strip())
    from_env = observe.from_environment()
    on_progress, on_cells = on_progress or from_env[0] or (lambda state: None), on_cells or from_env[1]
    cells = list({c.key: c for e in exps for c in e.typed_cells}.values())   # shared cells once
    done, waiting = {}, []
    for cell in cells:
        hit = load_cell(cache_dir, cell, writable) if cache_dir else None
        if hit:
            done[cell.key] = hit
        else:
            waiting.append(cell)
    need = {}                                  # replica key -> the first waiting cell that asks for it
    for cell in waiting:
        for rk in cell.replica_keys:
            need.setdefault(rk, cell)
    records = load_replicas(cache_dir, need, writable) if cache_dir and need else {}
    if not writable:                           # a read-only store: refused only if something must be trained
        missing = [c for c in waiting if not all(rk in records for rk in c.replica_keys)]
        if missing:
            raise validate.not_writable(cache_dir, read_only, len(missing),
                                        sum(os.path.lexists(cache_dir / f"{c.key}.json") for c in missing))
    workers = workers or os.cpu_count() or 1
    todo = plan_stacks(waiting, [rk for rk in need if rk not in records], 1 if executor is None and workers == 1 else workers)
    stacked = {c.key for c in todo}
    assembled = [c for c in waiting if c.key not in stacked and writable]   # stored again, from their replicas
    validate.disk_space(cache_dir, sum(validate.cell_disk(c.n_replicas, c.config) for c in todo + assembled),
                        len(todo) + len(assembled))   # before training
    total = sum(c.model_steps for c in todo)
    bar = tqdm(total=total, unit="model-step", unit_scale=True, disable=not progress or not todo,
               desc=f"{sum(c.n_replicas for c in todo)} replicas in {len(todo)} stacks to train "
                    f"({len(done)} cells cached, {len(records)} replicas reused)")
    state = {"cells_total": len(cells), "cells_done": len(done), "steps_total": total, "steps_done": 0,
             "started": time.time()}

    def complete():
        """Assemble (and store) every waiting cell whose replicas are all at hand."""
        for cell in list(waiting):
            keys = cell.replica_keys
            if all(rk in records for rk in keys):
                waiting.remove(cell)
                res = assemble(cell, [records[rk] for rk in keys])
                if cache_dir and writable:
                    save_cell(cache_dir, res)
                done[res["key"]] = res
                state["cells_done"] += 1
                on_progress(dict(state))

    def finish(stack, res):
        key = res["key"]
        if cache_dir:
            save_cell(cache_dir, res)
        records.update(replica_records(res, stack))
        if key in {c.key for c in waiting}:          # a stack that is a requested cell
            waiting[:] = [c for c in waiting if c.key != key]
            done[key] = res
            state["cells_done"] += 1
        state["steps_done"] += stack.model_steps
        complete()
        on_progress(dict(state))

    on_progress(dict(state))
    complete()                                 # cells made of stored replicas only

    def in_process(stacks):
        for stack in stacks:
            if not all(rk in records for rk in stack.replica_keys):
                finish(stack, run_cell(stack, progress=bar))

    own_executor = executor is None
    if own_executor and todo and os.environ.get("RICHNEURON_SCHEDULER", "").strip():
        from .cluster import scheduler_executor      # Dask is imported only when asked for
        executor = scheduler_executor()
    try:
        if executor is None and (workers == 1 or len(todo) <= 1):
            in_process(todo)
        else:
            own = (contextlib.nullcontext(executor) if executor is not None
                   else pool.lease(workers, max(e.threads for e in exps)))   # no other thread stops it
            with own as ex:
                # longest stacks first, so that no worker is left with a long one at the end
                todo.sort(key=lambda c: c.model_steps * c.width ** 2 * c.depth, reverse=True)
                futures, finished = {}, 0
                try:
                    futures = {ex.submit(run_cell, stack): stack for stack in todo}
                    for fut in as_completed(futures):
                        finish(futures[fut], fut.result())
                        bar.update(futures[fut].model_steps)
                        finished += 1
                except BrokenProcessPool as err:
                    if executor is not None:
                        raise
                    # The worker processes could not start or died (a start method this Python cannot
                    # use, a killed worker): finish the run here rather than fail it, in one line.
                    for fut in futures:
                        fut.cancel()
                    why = pool.why_broken(ex) or str(err) or type(err).__name__
                    pool.drop_local_pool(ex)
                    what = ("failed", "the remaining stacks") if finished else ("could not start", "")
                    print(f"richneuron: worker processes {what[0]} ({why}); training {what[1]}{' ' * bool(what[1])}"
                          f"in this process instead", file=sys.stderr)
                    in_process(todo)
                except BaseException as err:
                    # Ctrl-C or a failed stack: finished stacks are already stored; stop the rest.
                    for fut in futures:
                        fut.cancel()
                    if executor is None:
                        pool.drop_local_pool(ex)
                    elif isinstance(err, RuntimeError) and "after shutdown" in str(err):   # shut down meanwhile
                        raise ValueError(f"executor {executor!r} was shut down during the run and takes no more "
                                         f"work: give a running executor or None") from None
                    raise
    finally:
        bar.close()
        if cache_dir and writable:
            replica_index(cache_dir)             # the new entries indexed now, not at the next run
    if waiting:
        raise RuntimeError(f"{len(waiting)} cells could not be assembled from their replicas")
    if on_cells:
        on_cells([c.key for c in cells])
    return Results([done[c.key] for c in cells])


def plan_stacks(cells, missing, workers=1):
    """The training stacks (`Cell`s) for the `missing` replica keys of `cells` (`Cell`s): the replicas
    of one shape (`Cell.shape`) in one stack, in the order the cells ask for them. A stack that holds
    exactly one cell's replicas is that cell (stored under its key); a stack too large for this
    machine's memory is split, and the largest stacks are halved (to no fewer than two replicas)
    while there are fewer stacks than `workers` and than the cells that ask for training (so that
    merging cells never trains with less parallel work than one stack per cell would)."""
    missing = set(missing)
    groups, asking = {}, 0
    for cell in cells:
        keys = cell.replica_keys
        asking += any(rk in missing for rk in keys)
        for rk, r in zip(keys, cell.replicas):
            if rk in missing:
                missing.discard(rk)
                groups.setdefault(json.dumps(cell.shape, sort_keys=True, default=str), (cell, []))[1].append(r)
    pieces = []
    have = validate.physical_memory()
    for cell, reps in groups.values():
        size = len(reps)
        while size > 1 and have and cell.memory(size) > have:
            size = (size + 1) // 2
        pieces += [(cell, reps[i:i + size]) for i in range(0, len(reps), size)]
    while len(pieces) < min(workers, asking):
        big = max(range(len(pieces)), key=lambda i: len(pieces[i][1]), default=None)
        if big is None or len(pieces[big][1]) < 4:
            break
        shape, p = pieces.pop(big)
        pieces += [(shape, p[:len(p) // 2]), (shape, p[len(p) // 2:])]
    out = []
    for cell, reps in pieces:
        own = next((c for c in cells if list(c.replicas) == reps and c.shape == cell.shape), None)
        out.append(own if own is not None else cell.stack_of(reps))
    return out
