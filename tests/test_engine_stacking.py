"""Larger stacks and where cells run: data draws stacked in one cell (against plain loops on each
draw), the device argument, and `run` from every way of starting Python."""
import os
import subprocess
import sys
import textwrap
import threading

import pandas as pd
import pytest
import torch

import richneuron as rn
from richneuron.engine import train_stack

VOLATILE = ["wall_seconds"]


def plain_loop(arch, task, seed, steps, lr=1e-3, dtype=torch.float32, budget=5000):
    """The reference: build_model + torch.optim.Adam on one data set, full batch; final train loss."""
    m = rn.build_model(arch, task.in_dim, task.out_dim, budget=budget, depth=2, seed=seed).to(dtype)
    x = task.x_train.to(dtype)
    loss = torch.nn.functional.mse_loss if task.kind == "regression" else torch.nn.functional.cross_entropy
    y = task.y_train.to(dtype) if task.kind == "regression" else task.y_train
    opt = torch.optim.Adam(m.parameters(), lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        loss(m(x), y).backward()
        opt.step()
    with torch.no_grad():
        return loss(m(x), y).item()


@pytest.mark.parametrize("task_name", ["memorize", "spiral"])
def test_data_draws_train_in_one_stacked_cell_like_plain_loops(task_name):
    ex = rn.Experiment(archs="singlu", tasks=task_name, seed=[0, 1], data_seed=[0, 1, 2], steps=100)
    assert len(ex.cells) == 1 and ex.n_replicas == 6
    res = rn.run(ex, progress=False)
    m = res.metrics
    assert sorted(zip(m["data_seed"], m["seed"])) == [(d, s) for d in (0, 1, 2) for s in (0, 1)]
    for d in (0, 1, 2):
        task = rn.tasks.make(task_name, seed=d)
        for s in (0, 1):
            got = m.query("data_seed == @d and seed == @s")["final_train_loss"].item()
            ref = plain_loop("singlu", task, s, 100)
            assert abs(got - ref) / ref <= 1e-4, (d, s, got, ref)
        # each row's baselines are its own draw's
        row = m.query("data_seed == @d and seed == 0").iloc[0]
        for k, v in task.baselines.items():
            assert row[k] == v
    assert set(res.history["data_seed"]) == {0, 1, 2}
    # a replica comes back with its own draw's test score
    net = res.model("singlu", task_name, 1, data_seed=2)
    task = rn.tasks.make(task_name, seed=2)
    with torch.no_grad():
        out = net(task.x_test)
    if task.kind == "regression":
        score, col = ((out - task.y_test) ** 2).mean().item(), "test_mse"
    else:
        score, col = (out.argmax(1) == task.y_test).float().mean().item(), "test_accuracy"
    assert score == pytest.approx(m.query("data_seed == 2 and seed == 1")[col].item(), rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("arch", ["singlu", "v15", "vanilla"])
def test_stacked_data_draws_equal_plain_loops_in_float64(arch):
    """Same algorithm on stacked inputs (K, N, d): float64 agrees with a plain loop per draw to 1e-9."""
    draws = [rn.tasks.make("spiral", seed=d, n_train=128) for d in (0, 1)]
    for t in draws:
        t.x_train, t.x_test = t.x_train.double(), t.x_test.double()
    build = lambda s: rn.build_model(arch, 2, 2, budget=3000, seed=s).double()
    _, summary, _ = train_stack([build(0), build(1), build(0)], [draws[0], draws[0], draws[1]], 150, 1e-3)
    for r, (d, s) in enumerate([(0, 0), (0, 1), (1, 0)]):
        ref = plain_loop(arch, draws[d], s, 150, dtype=torch.float64, budget=3000)
        assert abs(summary["final_train_loss"][r] - ref) / ref <= 1e-9, (r, summary["final_train_loss"][r], ref)


def test_data_draws_of_different_shapes_are_refused():
    a, b = rn.tasks.make("spiral", n_train=64), rn.tasks.make("spiral", n_train=32)
    build = lambda s: rn.build_model("vanilla", 2, 2, width=8, seed=s)
    with pytest.raises(ValueError, match="one shape"):
        train_stack([build(0), build(1)], [a, b], 2, 1e-3)


def test_a_device_the_machine_lacks_is_refused_before_any_work():
    missing = "cuda" if not torch.cuda.is_available() else f"cuda:{torch.cuda.device_count()}"
    with pytest.raises(ValueError, match=f"device '{missing}'"):
        rn.Experiment(archs="singlu", tasks="memorize", device=missing)
    with pytest.raises(ValueError, match="device"):
        rn.Experiment(archs="singlu", tasks="memorize", device="toaster")
    assert rn.Experiment(archs="singlu", tasks="memorize").device == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (torch.cuda.is_available() is False)")
def test_cuda_run_matches_cpu_run():
    ex = lambda dev: rn.Experiment(archs=["singlu", "v15"], tasks="memorize", seed=[0, 1], steps=100, device=dev)
    cpu = rn.run(ex("cpu"), progress=False, workers=1).metrics
    gpu = rn.run(ex("cuda"), progress=False, workers=1).metrics
    assert (gpu["device"] == "cuda").all()
    rel = ((gpu["final_train_loss"] - cpu["final_train_loss"]).abs() / cpu["final_train_loss"]).max()
    assert rel <= 1e-3, rel


def test_pool_survives_the_thread_that_created_it():
    ex = rn.Experiment(archs=["vanilla", "singlu"], tasks="memorize", seed=[0], steps=20)
    out = {}
    th = threading.Thread(target=lambda: out.setdefault("a", rn.run(ex, progress=False, workers=2)))
    th.start()
    th.join()
    again = rn.run(ex, progress=False, workers=2)             # a later run from the main thread
    pd.testing.assert_frame_equal(out["a"].metrics.drop(columns=VOLATILE),
                                  again.metrics.drop(columns=VOLATILE), check_exact=True)


SCRIPT = textwrap.dedent("""
    import richneuron as rn
    ex = rn.Experiment(archs=["vanilla", "singlu"], tasks="memorize", seed=[0, 1], steps=20)
    res = rn.run(ex, progress=False, workers=2)
    print("OK", sorted(res.metrics["final_train_loss"].round(12).tolist()))
""")


def _expected():
    ex = rn.Experiment(archs=["vanilla", "singlu"], tasks="memorize", seed=[0, 1], steps=20)
    return f"OK {sorted(rn.run(ex, progress=False, workers=1).metrics['final_train_loss'].round(12).tolist())}"


@pytest.mark.parametrize("how", ["stdin", "no_guard", "dash_c"])
def test_run_works_from_any_way_of_starting_python(tmp_path, how):
    """A script on stdin, a script without a main guard, python -c: several cells, no crash, the
    same numbers as workers=1."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")]))
    env.pop("RICHNEURON_SCHEDULER", None)
    if how == "stdin":
        cmd, inp = [sys.executable, "-"], SCRIPT
    elif how == "no_guard":
        (tmp_path / "script.py").write_text(SCRIPT)
        cmd, inp = [sys.executable, str(tmp_path / "script.py")], None
    else:
        cmd, inp = [sys.executable, "-c", SCRIPT], None
    p = subprocess.run(cmd, input=inp, capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    assert p.stdout.strip().splitlines()[-1] == _expected()
    assert "BrokenProcessPool" not in p.stderr and "Traceback" not in p.stderr


def test_workers_that_cannot_start_leave_the_cells_to_this_process(monkeypatch, capsys):
    """Where worker processes fail (here: each one exits as it starts), the run finishes in-process
    after one line saying why, with the numbers of a workers=1 run."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from richneuron import pool
    dying = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"), initializer=os._exit, initargs=(1,))
    monkeypatch.setattr(pool, "local_pool", lambda workers, threads: dying)
    ex = rn.Experiment(archs=["vanilla", "singlu"], tasks="memorize", seed=[0], steps=10)
    try:
        got = rn.run(ex, progress=False, workers=2)
    finally:
        dying.shutdown(wait=False, cancel_futures=True)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("richneuron: worker processes could not start ("), err
    assert err[0].endswith("training in this process instead"), err
    want = rn.run(ex, progress=False, workers=1)
    pd.testing.assert_frame_equal(got.metrics.drop(columns=VOLATILE), want.metrics.drop(columns=VOLATILE),
                                  check_exact=True)
