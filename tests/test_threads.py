"""`run` from several threads of one process: threads that share a cache folder and the local worker
pool all finish, with the numbers of a run alone."""
import threading

import pandas as pd

import richneuron as rn
from richneuron import store, validate

VOLATILE = ["wall_seconds"]
TIMEOUT = 120                  # seconds: a thread still running by then is taken as hung


def _in_threads(calls):
    """Run each `calls[i]()` in its own thread at once; [(result, error)] in order, and the calls
    that did not finish within TIMEOUT (the test fails instead of blocking)."""
    out = [(None, None)] * len(calls)
    start = threading.Barrier(len(calls))

    def go(i):
        start.wait()
        try:
            out[i] = (calls[i](), None)
        except BaseException as e:   # noqa: BLE001 - reported by the test
            out[i] = (None, e)

    threads = [threading.Thread(target=go, args=(i,), daemon=True) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    hung = [i for i, t in enumerate(threads) if t.is_alive()]
    return out, hung


def _same(got, want):
    pd.testing.assert_frame_equal(got.metrics.drop(columns=VOLATILE).reset_index(drop=True),
                                  want.metrics.drop(columns=VOLATILE).reset_index(drop=True), check_exact=True)


def test_atomic_writes_and_write_probes_from_threads_do_not_collide(tmp_path):
    def write(i):
        for j in range(50):
            store._write_atomic(tmp_path / "same.json", f"{i} {j}".encode())
            validate.cache_dir(tmp_path)
    out, hung = _in_threads([lambda i=i: write(i) for i in range(8)])
    assert not hung
    assert [e for _, e in out if e is not None] == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["same.json"]     # no temporary file left


def test_threads_sharing_a_cache_dir_all_finish_with_the_numbers_of_a_run_alone(tmp_path):
    ex = rn.Experiment(archs=["vanilla", "singlu"], tasks="memorize", seed=[0, 1], steps=10)
    want = rn.run(ex, progress=False, workers=1)
    out, hung = _in_threads([lambda: rn.run(ex, progress=False, workers=1, cache_dir=tmp_path / "c")] * 4)
    assert not hung, "threads still running"
    assert [e for _, e in out if e is not None] == []
    for got, _ in out:
        _same(got, want)
    _same(rn.run(ex, progress=False, workers=1, cache_dir=tmp_path / "c"), want)   # the stored entries


def test_threads_with_different_worker_counts_both_finish(tmp_path):
    exs = [rn.Experiment(archs=["vanilla", "singlu"], tasks=["memorize", "spiral", "checkerboard"], seed=[s],
                         steps=100) for s in (0, 1)]     # six stacks each: some wait in their pool's queue
    wants = [rn.run(ex, progress=False, workers=1) for ex in exs]
    out, hung = _in_threads([lambda: rn.run(exs[0], progress=False, workers=2),
                             lambda: rn.run(exs[1], progress=False, workers=3)])
    assert not hung, f"runs {hung} hang"
    assert [e for _, e in out if e is not None] == []
    for (got, _), want in zip(out, wants):
        _same(got, want)
