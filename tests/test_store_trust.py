"""The results store trusts nothing unchecked: an entry without its checksum, a FIFO, a device, a
directory or a symbolic link at an entry's path, or an oversized file, is reported as damaged,
never read, and replaced by a recomputed entry; the report reads entries through the same check."""
import json
import os
import threading
import warnings

import pandas as pd
import pytest

import richneuron as rn
from richneuron import report, store

EX = rn.Experiment(archs="singlu", tasks="memorize", seed=[0, 1], steps=10)


@pytest.fixture
def stored(tmp_path):
    """A store holding EX's one cell: (its clean metrics, the JSON path, the weights path)."""
    clean = rn.run(EX, cache_dir=tmp_path, progress=False, workers=1)
    key = EX.typed_cells[0].key
    return clean.metrics.drop(columns="wall_seconds"), tmp_path / f"{key}.json", tmp_path / f"{key}.safetensors"


def _run_in_time(cache_dir, seconds=120):
    """Run EX in a thread: a read that blocks (a FIFO) fails the test instead of hanging it."""
    out, caught = {}, []

    def go():
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            out["res"] = rn.run(EX, cache_dir=cache_dir, progress=False, workers=1)
        caught.extend(w)
    t = threading.Thread(target=go, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), "the run blocked on a store file"
    assert "res" in out, "the run failed"
    return out["res"], [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]


def _repaired(clean, res, path, cache_dir):
    pd.testing.assert_frame_equal(clean, res.metrics.drop(columns="wall_seconds"), check_exact=True)
    assert path.is_file() and not path.is_symlink()
    with warnings.catch_warnings():
        warnings.simplefilter("error")                      # replaced: the next run reads it cleanly
        rn.run(EX, cache_dir=cache_dir, progress=False, workers=1)


def test_an_entry_without_its_checksum_is_damaged_and_its_edit_not_returned(stored):
    clean, j, _ = stored
    doc = json.loads(j.read_text())
    del doc["payload_sha256"]
    doc["metrics"][0]["final_train_loss"] = 123.0
    j.write_text(json.dumps(doc))
    res, warned = _run_in_time(j.parent)
    assert any("damaged" in m and "payload_sha256" in m for m in warned), warned
    assert 123.0 not in res.metrics["final_train_loss"].tolist()
    _repaired(clean, res, j, j.parent)


@pytest.mark.parametrize("which", ["json", "safetensors"])
def test_a_fifo_at_an_entry_path_is_reported_and_replaced_without_blocking(stored, which):
    clean, j, w = stored
    path = j if which == "json" else w
    path.unlink()
    os.mkfifo(path)
    res, warned = _run_in_time(j.parent)
    assert any("damaged" in m and "FIFO" in m for m in warned), warned
    _repaired(clean, res, path, j.parent)


def test_a_symlink_to_dev_zero_is_not_read_and_is_replaced(stored, monkeypatch):
    clean, j, _ = stored
    j.unlink()
    j.symlink_to("/dev/zero")
    opened = []
    real_open = os.open

    def watched(p, *a, **k):
        if os.path.islink(p):
            opened.append(os.fspath(p))
        return real_open(p, *a, **k)
    monkeypatch.setattr(os, "open", watched)
    res, warned = _run_in_time(j.parent)
    assert any("damaged" in m and "symbolic link" in m for m in warned), warned
    assert opened == []                                     # the link was never opened
    monkeypatch.undo()
    _repaired(clean, res, j, j.parent)


def test_a_symlink_to_a_sound_entry_is_damaged_too_and_its_target_left_alone(stored):
    clean, j, _ = stored
    elsewhere = j.parent / "elsewhere"
    elsewhere.mkdir()
    target = elsewhere / j.name
    j.rename(target)
    j.symlink_to(target)
    before = target.read_bytes()
    res, warned = _run_in_time(j.parent)
    assert any("symbolic link" in m for m in warned), warned
    assert target.read_bytes() == before
    _repaired(clean, res, j, j.parent)


@pytest.mark.parametrize("which", ["json", "safetensors"])
def test_a_directory_at_an_entry_path_is_replaced_and_the_run_completes(stored, which):
    clean, j, w = stored
    path = j if which == "json" else w
    path.unlink()
    path.mkdir()
    (path / "inside").write_text("x")
    res, warned = _run_in_time(j.parent)
    assert any("damaged" in m and "directory" in m for m in warned), warned
    _repaired(clean, res, path, j.parent)


def test_a_file_beyond_the_size_limit_is_damaged_and_not_read(stored, monkeypatch):
    clean, j, _ = stored
    monkeypatch.setattr(store, "MAX_FILE_BYTES", j.stat().st_size - 1)
    with pytest.raises(ValueError, match="more than"):
        store.read_file(j)
    monkeypatch.undo()
    assert json.loads(store.read_file(j)) == json.loads(j.read_text())


def test_stored_cells_reads_entries_through_the_check(stored):
    _, j, _ = stored
    key = j.stem
    cells = report.publish.stored_cells({"01_a": [key], "02_b": [key]}, j.parent)
    assert cells == {key: {"notebooks": ["01_a", "02_b"], "doc": json.loads(j.read_text())}}
    doc = json.loads(j.read_text())
    doc["metrics"][0]["final_train_loss"] = 123.0                  # tampered, checksum left as it was
    j.write_text(json.dumps(doc))
    with pytest.warns(RuntimeWarning, match="damaged"):
        cells = report.publish.stored_cells({"01_a": [key]}, j.parent)
    assert cells == {}
    del doc["payload_sha256"]                                       # and without its checksum
    j.write_text(json.dumps(doc))
    with pytest.warns(RuntimeWarning, match="payload_sha256"):
        assert report.publish.stored_cells({"01_a": [key]}, j.parent) == {}
    j.unlink()
    os.mkfifo(j)
    with pytest.warns(RuntimeWarning, match="FIFO"):
        assert report.publish.stored_cells({"01_a": [key]}, j.parent) == {}
