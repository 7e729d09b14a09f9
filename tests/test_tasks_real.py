"""Tests of the real-data tasks (camera, diabetes, digits): the numbers are recomputed here from
the packages' raw data with NumPy, independently of richneuron.tasks."""
import numpy as np
import pytest
import torch

from richneuron import tasks

REAL = ["camera", "diabetes", "digits"]


def test_groups():
    assert tasks.available("real") == REAL
    assert tasks.available("all") == tasks.available() + REAL
    assert not set(REAL) & set(tasks.available())          # the study's nine stay the nine
    with pytest.raises(ValueError, match="valid choices: study, real, all"):
        tasks.available("toy")


@pytest.mark.parametrize("name", REAL)
def test_deterministic_per_seed_and_split_differs_between_seeds(name):
    a, b, c = tasks.make(name, seed=3), tasks.make(name, seed=3), tasks.make(name, seed=4)
    for u, v in zip((a.x_train, a.y_train, a.x_test, a.y_test), (b.x_train, b.y_train, b.x_test, b.y_test)):
        assert torch.equal(u, v)
    assert not torch.equal(a.x_train, c.x_train)


def test_camera_is_the_block_mean_image_at_pixel_centres_split_in_halves():
    from skimage import data
    img = data.camera().astype(np.float64)
    small = img.reshape(64, 8, 64, 8).mean(axis=(1, 3))           # exact 8x8 block means
    t = tasks.make("camera", seed=1)
    assert (t.in_dim, t.out_dim, t.kind, len(t.x_train), len(t.x_test)) == (2, 1, "regression", 2048, 2048)
    x = torch.cat([t.x_train, t.x_test]).double().numpy()
    y = torch.cat([t.y_train, t.y_test])[:, 0].double().numpy()
    col = np.rint((x[:, 0] + 1) / 2 * 63).astype(int)
    row = np.rint((x[:, 1] + 1) / 2 * 63).astype(int)
    assert len(set(zip(row, col))) == 64 * 64                      # every pixel exactly once
    np.testing.assert_allclose(x[:, 0], -1 + 2 * col / 63, atol=1e-6)
    np.testing.assert_allclose(y, 2 * small[row, col] / 255 - 1, atol=1e-6)
    assert y.min() >= -1 and y.max() <= 1


def test_camera_options_are_checked():
    with pytest.raises(ValueError, match="size must divide 512; valid choices: 2, 4, 8"):
        tasks.make("camera", size=100)
    with pytest.raises(ValueError, match="train_share"):
        tasks.make("camera", train_share=1.5)
    assert len(tasks.make("camera", size=32, train_share=0.25).x_train) == 256


@pytest.mark.parametrize("name,n,d,test", [("diabetes", 442, 10, 110), ("digits", 1797, 64, 449)])
def test_tabular_split_and_standardisation_from_the_training_split(name, n, d, test):
    from sklearn import datasets
    x_raw, y_raw = getattr(datasets, f"load_{name}")(return_X_y=True)
    t = tasks.make(name, seed=2)
    assert (len(t.x_train), len(t.x_test), t.in_dim) == (n - test, test, d)
    xs = np.concatenate([t.x_train.double().numpy(), t.x_test.double().numpy()])
    ys = np.concatenate([t.y_train.double().numpy().reshape(-1), t.y_test.double().numpy().reshape(-1)])
    # Standardising is an increasing affine map per column, so sorting the rows lexicographically
    # pairs each of our rows with its raw row (identical raw rows are interchangeable).
    raw_of_ours = np.empty(n, dtype=int)
    raw_of_ours[np.lexsort(xs.T[::-1])] = np.lexsort(x_raw.T[::-1])
    assert sorted(raw_of_ours) == list(range(n))                     # every raw row used once
    train = x_raw[raw_of_ours[: n - test]]
    mu, sd = train.mean(0), train.std(0, ddof=1)
    sd[sd == 0] = 1.0                                                 # a constant pixel keeps std 1
    np.testing.assert_allclose(xs, (x_raw[raw_of_ours] - mu) / sd, atol=2e-5)
    if name == "digits":
        assert t.kind == "classification" and t.out_dim == 10 and t.metric == "accuracy"
        np.testing.assert_array_equal(np.bincount(ys.astype(int), minlength=10), np.bincount(y_raw, minlength=10))
    else:
        assert t.kind == "regression" and t.out_dim == 1
        yt = y_raw[raw_of_ours[: n - test]]
        np.testing.assert_allclose(ys, (y_raw[raw_of_ours] - yt.mean()) / yt.std(ddof=1), atol=2e-5)
        assert t.baselines["predict_mean_mse"] == pytest.approx(np.mean(ys[n - test:] ** 2), rel=1e-4)


@pytest.mark.parametrize("name", REAL)
def test_validation_split_holds_out_the_last_training_rows(name):
    full, val = tasks.make(name, seed=0), tasks.make(name, seed=0, validation=0.2)
    k = round(0.2 * len(full.x_train))
    assert torch.equal(val.x_test, full.x_train[-k:]) and torch.equal(val.x_train, full.x_train[:-k])


def test_the_methods_width_table_covers_every_task_shape():
    # Every task's in→out shape (the real ones: 2→1, 10→1, 64→10) has a column in the Methods width
    # table, and its widths are width_for_budget's at the protocol budget.
    from richneuron import models, protocol
    from richneuron.analysis import methods
    shapes = methods.task_shapes()
    assert {shapes["camera"], shapes["diabetes"], shapes["digits"]} == {(2, 1), (10, 1), (64, 10)}
    assert set(shapes.values()) <= set(methods.SHAPES.values())
    t = methods.width_table([protocol.BUDGET])
    for label, (i, o) in methods.SHAPES.items():
        for arch in ("vanilla", "singlu"):
            row = t[(t["arch"] == arch) & (t["shape"] == label)].iloc[0]
            assert (row["width"], row["params"]) == models.width_for_budget(arch, i, o, protocol.BUDGET, protocol.DEPTH)
    assert list(methods.width_pivot(t).columns) == list(methods.SHAPES)
