"""A store that cannot be written (a read-only mount): a run whose cells are all in it reads them and
writes nothing; a run that would train (a cell it lacks or holds damaged) is refused before any
training, naming cache_dir and how many cells are missing. Tests run as root here, which can write
anywhere, so the writability probe (`validate.writable`) is replaced; one variant uses real file
modes and is skipped under root."""
import json
import os
import stat
import threading

import pandas as pd
import pytest

import richneuron as rn
from richneuron import engine, store, validate

VOLATILE = ["wall_seconds"]
EXP = dict(archs=["vanilla"], tasks=["spiral"], steps=5)
ROOT = getattr(os, "geteuid", lambda: 1)() == 0


def _run(cache_dir, seeds=(0,)):
    return rn.run(rn.Experiment(**EXP, seed=list(seeds)), cache_dir=cache_dir, progress=False, workers=1)


def _same(got, want):
    pd.testing.assert_frame_equal(got.metrics.drop(columns=VOLATILE).reset_index(drop=True),
                                  want.metrics.drop(columns=VOLATILE).reset_index(drop=True), check_exact=True)


def _listing(folder):
    """{relative path: (mode, size, mtime_ns)} of everything under `folder`, the folder included."""
    out = {".": (os.lstat(folder).st_mode, 0, os.lstat(folder).st_mtime_ns)}
    for p in sorted(folder.rglob("*")):
        st = os.lstat(p)
        out[str(p.relative_to(folder))] = (st.st_mode, 0 if p.is_dir() else st.st_size, st.st_mtime_ns)
    return out


@pytest.fixture
def read_only(monkeypatch):
    """The store cannot be written (as the probe of a read-only mount says), no training happens
    and no store file is written: any attempt fails the test."""
    monkeypatch.setattr(validate, "writable", lambda p: "Read-only file system")
    monkeypatch.setattr(engine, "run_cell", lambda *a, **k: pytest.fail("a cell was trained"))
    monkeypatch.setattr(store, "_write_atomic", lambda *a, **k: pytest.fail("the store was written"))


@pytest.fixture
def filled(tmp_path):
    """A store holding the cell of seed 0 (and the results of the run that filled it)."""
    cache = tmp_path / "store"
    return cache, _run(cache)


def test_a_complete_read_only_store_is_read_and_nothing_written(filled, read_only):
    cache, first = filled
    before = _listing(cache)
    _same(_run(cache), first)
    assert _listing(cache) == before


def test_a_read_only_store_with_a_miss_is_refused_before_training(filled, read_only):
    cache, _ = filled
    before = _listing(cache)
    with pytest.raises(ValueError, match=rf"cache_dir '{cache}' cannot be written \(Read-only file system\); "
                                         rf"1 cell is not in it and would have to be trained: give a writable folder"):
        _run(cache, seeds=[0, 1])
    with pytest.raises(ValueError, match="2 cells are not in it"):
        rn.run([rn.Experiment(**EXP, seed=[1]), rn.Experiment(**EXP, seed=[2])], cache_dir=cache, progress=False)
    assert _listing(cache) == before


def test_a_cell_made_of_stored_replicas_is_read_and_not_stored(tmp_path, monkeypatch):
    cache = tmp_path / "store"
    both = _run(cache, seeds=[0, 1])
    monkeypatch.setattr(validate, "writable", lambda p: "Read-only file system")
    monkeypatch.setattr(engine, "run_cell", lambda *a, **k: pytest.fail("a cell was trained"))
    monkeypatch.setattr(store, "_write_atomic", lambda *a, **k: pytest.fail("the store was written"))
    before = _listing(cache)
    got = _run(cache, seeds=[1])                       # no entry of its own: assembled from replica 1
    assert _listing(cache) == before
    cols = ["seed", "diverged", "final_train_loss"]
    want = both.metrics[both.metrics.seed == 1][cols].reset_index(drop=True)
    pd.testing.assert_frame_equal(got.metrics[cols].reset_index(drop=True), want, check_exact=True)


def test_a_damaged_entry_in_a_read_only_store_is_a_miss_and_left_as_it_is(filled, read_only):
    cache, _ = filled
    (jpath,) = [p for p in cache.glob("*.json")]
    doc = json.loads(jpath.read_text())
    doc["metrics"][0]["final_train_loss"] = 0.0       # an edit the payload checksum sees
    jpath.write_text(json.dumps(doc))
    wpath = jpath.with_suffix(".safetensors")
    wpath.unlink()
    wpath.mkdir()                                      # not a regular file: a writable store removes it
    before = _listing(cache)
    with pytest.warns(RuntimeWarning, match=r"is damaged .*; not used \(the store cannot be written"), \
            pytest.raises(ValueError, match=r"1 cell is not in it \(1 of them with a damaged entry, see the warnings "
                                            r"above\) and would have to be trained"):
        _run(cache)
    assert _listing(cache) == before and wpath.is_dir()


def test_a_missing_cache_dir_that_cannot_be_created_is_refused_naming_the_misses(tmp_path, monkeypatch):
    monkeypatch.setattr(engine, "run_cell", lambda *a, **k: pytest.fail("a cell was trained"))
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(ValueError, match=r"cache_dir '.*afile/sub' cannot be written \(.*\); 1 cell is not in it"):
        _run(afile / "sub")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_threads_reading_one_read_only_store_all_get_its_results(filled, read_only):
    cache, first = filled
    before = _listing(cache)
    out, errors = [None] * 4, []
    start = threading.Barrier(4)

    def go(i):
        start.wait()
        try:
            out[i] = _run(cache)
        except BaseException as e:   # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=go, args=(i,), daemon=True) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors and not any(t.is_alive() for t in threads)
    for got in out:
        _same(got, first)
    assert _listing(cache) == before


def test_validate_cache_dir_still_refuses_a_folder_it_cannot_write(tmp_path, monkeypatch):
    monkeypatch.setattr(validate, "writable", lambda p: "Read-only file system")
    with pytest.raises(ValueError, match=r"cache_dir '.*' cannot be written \(Read-only file system\); give a writable"):
        validate.cache_dir(tmp_path)
    assert validate.cache_path(tmp_path / "new") == tmp_path / "new" and not (tmp_path / "new").exists()


@pytest.mark.skipif(ROOT, reason="root can write anywhere")
def test_a_store_with_read_only_file_modes_is_read_and_a_miss_refused(filled, monkeypatch):
    cache, first = filled
    monkeypatch.setattr(engine, "run_cell", lambda *a, **k: pytest.fail("a cell was trained"))
    paths = sorted(cache.rglob("*"), reverse=True) + [cache]
    for p in paths:
        p.chmod(0o555 if p.is_dir() else 0o444)
    try:
        before = _listing(cache)
        _same(_run(cache), first)
        with pytest.raises(ValueError, match=rf"cache_dir '{cache}' cannot be written \(Permission denied\); "
                                             rf"1 cell is not in it"):
            _run(cache, seeds=[0, 1])
        assert _listing(cache) == before
    finally:
        for p in paths[::-1]:
            p.chmod(stat.S_IRWXU if p.is_dir() else 0o644)
