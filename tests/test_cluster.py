"""RICHNEURON_SCHEDULER: cells sent to a real Dask scheduler and worker started as separate
processes with the `dask` CLI; the results come back to the client and its store, bit for bit
those of workers=1."""
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import richneuron as rn

pytest.importorskip("distributed")
DASK = shutil.which("dask") or str(Path(sys.executable).with_name("dask"))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(not os.path.exists(DASK), reason="the dask command-line tool is not installed")
def test_scheduler_env_var_sends_cells_to_dask_and_equals_a_local_run(tmp_path, monkeypatch):
    port = _free_port()
    addr = f"tcp://127.0.0.1:{port}"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")]))
    env.pop("RICHNEURON_SCHEDULER", None)
    log = open(tmp_path / "dask.log", "w")
    procs = [subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], env=env, stdout=log, stderr=log)]
    try:
        procs.append(subprocess.Popen([DASK, "worker", addr, "--nthreads", "2", "--nworkers", "1",
                                       "--no-dashboard", "--local-directory", str(tmp_path / "worker")],
                                      env=env, stdout=log, stderr=log, cwd=tmp_path))
        ex = rn.Experiment(archs=["singlu", "v15"], tasks="memorize", seed=[0, 1], data_seed=[0, 1], steps=30)
        assert len(ex.cells) == 2
        local = rn.run(ex, progress=False, workers=1)
        monkeypatch.setenv("RICHNEURON_SCHEDULER", addr)
        from distributed import Client, get_task_stream
        deadline = time.time() + 60
        with Client(addr, timeout="60s") as c:
            while not c.scheduler_info()["workers"] and time.time() < deadline:   # the worker joins
                time.sleep(0.2)
            assert c.scheduler_info()["workers"], "the dask worker did not join"
            cache = tmp_path / "cache"
            with get_task_stream(client=c) as ts:
                remote = rn.run(ex, progress=False, cache_dir=cache)
            heap = set(c.run(lambda dask_worker: "richneuron-heap" in dask_worker.plugins).values())
        pd.testing.assert_frame_equal(local.metrics.drop(columns=["wall_seconds"]),
                                      remote.metrics.drop(columns=["wall_seconds"]), check_exact=True)
        assert len(list(cache.glob("*.json"))) == 2            # stored by the client, not the worker
        assert sum("run_cell" in t["key"] for t in ts.data) == 2, ts.data   # trained on the Dask worker
        assert heap == {True}                                  # with the local pool's heap settings
    finally:
        from richneuron import cluster
        for c in cluster._CLIENTS.values():
            c.close()
        cluster._CLIENTS.clear()
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        log.close()
