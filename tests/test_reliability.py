"""Reliability: identical numbers under every executor, concurrent model builds that cannot take
each other's draws."""
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest
import torch

import richneuron as rn
from richneuron import neurons

VOLATILE = ["wall_seconds"]


def _reference_build(arch, seed, **kw):
    """The pre-generator implementation: global RNG seeded inside fork_rng."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return rn.models.RichMLP(arch, 3, 2, **kw)


@pytest.mark.parametrize("arch", neurons.available("all"))
def test_seeded_build_draws_the_weights_torch_manual_seed_gives(arch):
    """A generator per call gives the same initial weights as seeding the global RNG (so results
    did not move), and leaves the global RNG alone."""
    opts = {"init": "siren", "omega": 3.0} if arch in ("singlu", "v1", "v4-shared", "v4-lowrank", "v9") else {}
    torch.manual_seed(99)
    before = torch.random.get_rng_state()
    got = rn.build_model(arch, 3, 2, width=12, depth=3, seed=5, **opts).state_dict()
    assert torch.equal(torch.random.get_rng_state(), before)
    ref = _reference_build(arch, 5, width=12, depth=3, **opts).state_dict()
    assert got.keys() == ref.keys()
    for k in ref:
        assert torch.equal(got[k], ref[k]), (arch, k)


def test_concurrent_builds_in_threads_get_their_own_weights():
    archs = ["vanilla", "singlu", "v4-shared", "siren", "v15", "fan"]
    want = {(a, s): rn.build_model(a, 4, 2, width=16, seed=s).state_dict() for a in archs for s in range(4)}
    jobs = [(a, s) for a in archs for s in range(4)] * 5

    def build(job):
        torch.rand(50)                                  # other threads use the global RNG meanwhile
        return job, rn.build_model(job[0], 4, 2, width=16, seed=job[1]).state_dict()

    with ThreadPoolExecutor(8) as ex:
        results = list(ex.map(build, jobs))
    wrong = [job for job, sd in results if any(not torch.equal(sd[k], want[job][k]) for k in sd)]
    assert not wrong, f"{len(wrong)} of {len(results)} threaded builds differ"


GRID = rn.Experiment(archs=["vanilla", "singlu", "v10", "siren"], tasks=["memorize", "spiral"], seeds=[0, 1, 2],
                     steps=30)


@pytest.fixture(scope="module")
def serial():
    return rn.run(GRID, progress=False, workers=1).metrics.drop(columns=VOLATILE)


def test_thread_pool_run_equals_serial_run_bit_for_bit(serial):
    with ThreadPoolExecutor(4) as ex:
        threaded = rn.run(GRID, progress=False, executor=ex).metrics.drop(columns=VOLATILE)
    pd.testing.assert_frame_equal(serial, threaded, check_exact=True)


def test_two_thread_dask_worker_equals_serial_run_bit_for_bit(serial):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None) as cl, \
            distributed.Client(cl) as client:
        remote = rn.run(GRID, progress=False, executor=client.get_executor()).metrics.drop(columns=VOLATILE)
    pd.testing.assert_frame_equal(serial, remote, check_exact=True)
