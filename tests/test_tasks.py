"""Tests of richneuron.tasks: shapes, dtypes, determinism, documented formulas, errors.

Targets are recomputed here from each generator's docstring formula, not by calling it.
"""
import math

import pytest
import torch

from richneuron import tasks

TASKS = ["complex4d", "nested2d", "hifreq", "memorize", "spiral", "checkerboard", "ood",
         "freqgen", "mixedfreq"]
CLASSIFICATION = {"spiral", "checkerboard"}
# (in_dim, out_dim) with default options; out_dim = number of classes for classification.
DIMS = {"complex4d": (4, 1), "nested2d": (2, 1), "hifreq": (1, 1), "memorize": (8, 4),
        "spiral": (2, 2), "checkerboard": (2, 2), "ood": (1, 1), "freqgen": (1, 1),
        "mixedfreq": (1, 1)}


@pytest.fixture(scope="module")
def made():
    return {name: tasks.make(name, seed=0) for name in TASKS}


def all_tensors(t):
    out = [t.x_train, t.y_train, t.x_test, t.y_test]
    for k in sorted(t.extra):
        out.extend(t.extra[k])
    return out


def test_available_is_the_nine():
    assert tasks.available() == TASKS


# --------------------------------------------------------------------------- structure

@pytest.mark.parametrize("name", TASKS)
def test_dtypes_shapes_kind_metric(made, name):
    t = made[name]
    in_dim, out_dim = DIMS[name]
    assert t.name == name
    assert t.in_dim == in_dim and t.out_dim == out_dim
    opts = tasks.options_of(name)
    n_train = opts.get("n_train", opts.get("n_points"))
    n_test = opts.get("n_test", opts.get("n_points"))
    assert t.x_train.shape == (n_train, in_dim) and t.x_test.shape == (n_test, in_dim)
    assert t.x_train.dtype == t.x_test.dtype == torch.float32
    if name in CLASSIFICATION:
        assert t.kind == "classification" and t.metric == "accuracy"
        assert t.y_train.dtype == t.y_test.dtype == torch.int64
        assert t.y_train.shape == (n_train,) and t.y_test.shape == (n_test,)
        assert set(t.y_train.tolist()) == set(t.y_test.tolist()) == set(range(out_dim))
    else:
        assert t.kind == "regression" and t.metric == "mse"
        assert t.y_train.dtype == t.y_test.dtype == torch.float32
        assert t.y_train.shape == (n_train, out_dim) and t.y_test.shape == (n_test, out_dim)
    for x, y in t.extra.values():
        assert x.dtype == torch.float32 and x.shape[1] == in_dim and len(x) == len(y)
        assert y.shape[1:] == t.y_test.shape[1:]
    for v in all_tensors(t):
        assert torch.isfinite(v.float()).all()
    # options record the full set used, defaults included
    assert t.options == opts


@pytest.mark.parametrize("name", TASKS)
def test_baselines_recomputed(made, name):
    t = made[name]
    b = t.baselines
    if name in CLASSIFICATION:
        assert set(b) >= {"chance_accuracy"}
        y = t.y_test.tolist()
        majority = max(y.count(c) for c in set(y)) / len(y)
        assert b["chance_accuracy"] == pytest.approx(majority, abs=1e-12)
        assert b["uniform_accuracy"] == pytest.approx(1 / t.out_dim)
    else:
        assert set(b) >= {"predict_zero_mse", "predict_mean_mse"}
        yte, ytr = t.y_test.double(), t.y_train.double()
        zero = (yte ** 2).mean().item()
        mean = ((yte - ytr.mean(0)) ** 2).mean().item()
        assert b["predict_zero_mse"] == pytest.approx(zero, rel=1e-5)
        assert b["predict_mean_mse"] == pytest.approx(mean, rel=1e-5)


@pytest.mark.parametrize("name", TASKS)
def test_same_seed_bit_identical(name):
    a = tasks.make(name, seed=3)
    torch.manual_seed(1)                      # the global RNG must not matter
    b = tasks.make(name, seed=3)
    assert sorted(a.extra) == sorted(b.extra)
    for u, v in zip(all_tensors(a), all_tensors(b)):
        assert u.dtype == v.dtype and torch.equal(u, v)


@pytest.mark.parametrize("name", TASKS)
def test_different_seed_differs(name):
    a, b = tasks.make(name, seed=0), tasks.make(name, seed=1)
    assert not torch.equal(a.x_train, b.x_train)
    assert not torch.equal(a.x_test, b.x_test)


@pytest.mark.parametrize("name", TASKS)
def test_global_rng_untouched(name):
    torch.manual_seed(5)
    before = torch.get_rng_state().clone()
    tasks.make(name, seed=0)
    assert torch.equal(torch.get_rng_state(), before)


# --------------------------------------------------------------------------- formulas

def in_box(x, lo=-1.0, hi=1.0):
    return bool((x >= lo).all() and (x <= hi).all())


@pytest.mark.parametrize("scale", [1.0, 2.5])
def test_complex4d_formula(scale):
    t = tasks.make("complex4d", seed=0, scale=scale)

    def f(x):
        x = x.double()
        x1, x2, x3, x4 = x[:, 0], x[:, 1], x[:, 2], x[:, 3]
        return (torch.sin(scale * math.pi * x1 * x2) + x3 * torch.cos(scale * math.pi * x4)
                + 0.5 * torch.tanh(2 * (x1 + x3)) * x4)[:, None]

    for x, y in ((t.x_train, t.y_train), (t.x_test, t.y_test)):
        assert in_box(x)
        torch.testing.assert_close(y.double(), f(x), rtol=0, atol=1e-5)


def test_complex4d_noise_only_on_train():
    t = tasks.make("complex4d", seed=0, noise=0.1)
    clean = tasks.make("complex4d", seed=0)
    x = t.x_train.double()
    f = lambda x: (torch.sin(math.pi * x[:, 0] * x[:, 1]) + x[:, 2] * torch.cos(math.pi * x[:, 3])
                   + 0.5 * torch.tanh(2 * (x[:, 0] + x[:, 2])) * x[:, 3])[:, None]
    resid = t.y_train.double() - f(x)
    assert 0.08 < resid.std().item() < 0.12
    torch.testing.assert_close(t.y_test.double(), f(t.x_test.double()), rtol=0, atol=1e-5)
    assert torch.equal(t.x_train, clean.x_train)


@pytest.mark.parametrize("k", [2.0, 5.0])
def test_nested2d_formula(k):
    t = tasks.make("nested2d", seed=0, k=k)
    for x, y in ((t.x_train, t.y_train), (t.x_test, t.y_test)):
        assert in_box(x)
        x = x.double()
        want = torch.sin(k * math.pi * x[:, 0] * x[:, 1]) * torch.cos(math.pi * (x[:, 0] + x[:, 1]))
        torch.testing.assert_close(y.double(), want[:, None], rtol=0, atol=1e-5)


@pytest.mark.parametrize("freqs", [(5.0, 11.0, 17.0), (3.0, 7.0)])
def test_hifreq_is_the_documented_sum_of_sines(freqs):
    """y = Σ 2^{-j} sin(2π f_j x + p_j): fit the sin/cos pairs at f_j by least squares;
    the amplitudes must be 2^{-j} and the residual zero (phases are random, amplitudes not)."""
    t = tasks.make("hifreq", seed=0, freqs=freqs)
    for x, y in ((t.x_train, t.y_train), (t.x_test, t.y_test)):
        assert in_box(x)
        x = x.double()[:, 0]
        cols = []
        for f in freqs:
            cols += [torch.sin(2 * math.pi * f * x), torch.cos(2 * math.pi * f * x)]
        A = torch.stack(cols, 1)
        coef = torch.linalg.lstsq(A, y.double()).solution[:, 0]
        amps = torch.sqrt(coef[0::2] ** 2 + coef[1::2] ** 2)
        torch.testing.assert_close(amps, torch.tensor([2.0 ** -j for j in range(len(freqs))],
                                                      dtype=torch.float64), rtol=0, atol=1e-5)
        assert (A @ coef[:, None] - y.double()).abs().max() < 1e-5
    # train and test share the same phases: one fit explains both sets
    x = torch.cat([t.x_train, t.x_test]).double()[:, 0]
    y = torch.cat([t.y_train, t.y_test]).double()
    A = torch.stack([g(2 * math.pi * f * x) for f in freqs for g in (torch.sin, torch.cos)], 1)
    coef = torch.linalg.lstsq(A, y).solution
    assert (A @ coef - y).abs().max() < 1e-5


def test_hifreq_phases_depend_on_seed():
    def phases(t):          # least-squares phase of each documented component
        x = t.x_test.double()[:, 0]
        A = torch.stack([g(2 * math.pi * f * x) for f in (5.0, 11.0, 17.0)
                         for g in (torch.sin, torch.cos)], 1)
        c = torch.linalg.lstsq(A, t.y_test.double()).solution[:, 0]
        return torch.atan2(c[1::2], c[0::2])

    pa, pb = phases(tasks.make("hifreq", seed=0)), phases(tasks.make("hifreq", seed=1))
    assert not torch.allclose(pa, pb, atol=1e-3)


def test_memorize_defaults_and_test_equals_train(made):
    t = made["memorize"]
    assert t.x_train.shape == (200, 8) and t.y_train.shape == (200, 4)
    assert torch.equal(t.x_test, t.x_train) and torch.equal(t.y_test, t.y_train)
    # x ~ N(0, I), y ~ N(0, I), unrelated
    assert abs(t.x_train.mean().item()) < 0.1 and 0.9 < t.x_train.std().item() < 1.1
    assert abs(t.y_train.mean().item()) < 0.15 and 0.85 < t.y_train.std().item() < 1.15


def test_memorize_options():
    t = tasks.make("memorize", seed=0, n_points=50, in_dim=3, out_dim=2)
    assert t.x_train.shape == (50, 3) and t.y_train.shape == (50, 2)
    assert t.in_dim == 3 and t.out_dim == 2
    assert torch.equal(t.x_test, t.x_train)


@pytest.mark.parametrize("turns", [1.0, 2.0, 3.5])
def test_spiral_formula(turns):
    """With noise 0 every point lies on its class's arm: r = t, angle = 2π·turns·r + π·label."""
    t = tasks.make("spiral", seed=0, noise=0.0, turns=turns)
    for x, y in ((t.x_train, t.y_train), (t.x_test, t.y_test)):
        x = x.double()
        r = x.norm(dim=1)
        assert (r <= 1 + 1e-6).all()
        ang = torch.atan2(x[:, 1], x[:, 0])
        want = 2 * math.pi * turns * r + math.pi * y.double()
        d = torch.remainder(ang - want + math.pi, 2 * math.pi) - math.pi
        assert d.abs().max() < 1e-4
        # classes alternate, so they are balanced
        assert torch.equal(y, torch.arange(len(y)) % 2)


def test_spiral_noise_is_jitter():
    clean = tasks.make("spiral", seed=0, noise=0.0)
    noisy = tasks.make("spiral", seed=0)           # default noise 0.02
    assert noisy.options["noise"] == 0.02
    d = noisy.x_train - clean.x_train
    assert not torch.equal(noisy.x_train, clean.x_train)
    assert d.abs().max() < 0.2


@pytest.mark.parametrize("cells", [2, 4, 7])
def test_checkerboard_labels(cells):
    t = tasks.make("checkerboard", seed=0, cells=cells)
    for x, y in ((t.x_train, t.y_train), (t.x_test, t.y_test)):
        assert in_box(x)
        want = [(min(int((a + 1) / 2 * cells), cells - 1) + min(int((b + 1) / 2 * cells), cells - 1)) % 2
                for a, b in x.double().tolist()]
        assert y.tolist() == want


def test_ood_ranges_and_formula(made):
    t = made["ood"]
    f = lambda x: torch.sin(3 * x.double()) + 0.5 * x.double()
    assert in_box(t.x_train)
    assert in_box(t.x_test, 1.0, 2.0)
    assert "in_range" in t.extra
    xin, yin = t.extra["in_range"]
    assert in_box(xin) and xin.shape == t.x_test.shape
    for x, y in ((t.x_train, t.y_train), (t.x_test, t.y_test), (xin, yin)):
        torch.testing.assert_close(y.double(), f(x), rtol=0, atol=1e-5)
    assert not torch.equal(xin, t.x_train[: len(xin)])          # fresh draws


FREQ_TARGETS = {
    "freqgen": lambda t: torch.sin(math.pi * t),
    "mixedfreq": lambda t: 0.5 * (torch.sin(math.pi * t) + torch.sin(3 * math.pi * t)),
}


@pytest.mark.parametrize("name,k_train,k_test", [("freqgen", 2.0, 10.0), ("mixedfreq", 4.0, 20.0),
                                                 ("freqgen", 3.0, 6.0)])
def test_frequency_scaled_mode(name, k_train, k_test):
    t = tasks.make(name, seed=0, k_train=k_train, k_test=k_test)
    assert t.options["mode"] == "scaled"
    target = FREQ_TARGETS[name]
    xin, yin = t.extra["in_range"]
    assert t.x_train.abs().max() <= k_train and xin.abs().max() <= k_train
    assert t.x_test.abs().max() <= k_test
    assert t.x_test.abs().max() > 0.9 * k_test             # the test range really reaches k_test
    assert t.x_train.abs().max() > 0.9 * k_train
    for x, y in ((t.x_train, t.y_train), (t.x_test, t.y_test), (xin, yin)):
        torch.testing.assert_close(y.double(), target(x.double()), rtol=0, atol=2e-5 * k_test)


def test_frequency_scaled_defaults(made):
    assert made["freqgen"].options["k_train"] == 2.0 and made["freqgen"].options["k_test"] == 10.0
    assert made["mixedfreq"].options["k_train"] == 4.0 and made["mixedfreq"].options["k_test"] == 20.0
    assert made["freqgen"].x_test.abs().max() > 9.0
    assert made["mixedfreq"].x_test.abs().max() > 18.0


@pytest.mark.parametrize("name", ["freqgen", "mixedfreq"])
def test_frequency_direct_mode(name):
    t = tasks.make(name, seed=0, mode="direct")
    kt, ke = t.options["k_train"], t.options["k_test"]
    target = FREQ_TARGETS[name]
    xin, yin = t.extra["in_range"]
    for x, y, k in ((t.x_train, t.y_train, kt), (t.x_test, t.y_test, ke), (xin, yin, kt)):
        assert in_box(x)
        torch.testing.assert_close(y.double(), target(k * x.double()), rtol=0, atol=1e-4)


# --------------------------------------------------------------------------- difficulty options

def test_spiral_turns_change_data():
    a, b = tasks.make("spiral", seed=0, turns=2.0), tasks.make("spiral", seed=0, turns=3.0)
    assert not torch.equal(a.x_train, b.x_train)
    assert a.options["turns"] == 2.0 and b.options["turns"] == 3.0


def test_checkerboard_cells_change_labels():
    a, b = tasks.make("checkerboard", seed=0, cells=4), tasks.make("checkerboard", seed=0, cells=8)
    assert torch.equal(a.x_train, b.x_train)         # same draws, different board
    assert not torch.equal(a.y_train, b.y_train)


def test_memorize_n_points_changes_size():
    assert tasks.make("memorize", seed=0, n_points=37).x_train.shape == (37, 8)


@pytest.mark.parametrize("name", ["complex4d", "nested2d", "hifreq", "spiral", "checkerboard",
                                  "ood", "freqgen", "mixedfreq"])
def test_sizes_options(name):
    t = tasks.make(name, seed=0, n_train=33, n_test=17)
    assert len(t.x_train) == len(t.y_train) == 33 and len(t.x_test) == len(t.y_test) == 17


# --------------------------------------------------------------------------- errors

def test_unknown_task_lists_choices():
    with pytest.raises(ValueError) as e:
        tasks.make("mnist")
    for name in TASKS:
        assert name in str(e.value)
    with pytest.raises(ValueError):
        tasks.options_of("mnist")


@pytest.mark.parametrize("name", TASKS)
def test_unknown_option_lists_valid(name):
    with pytest.raises(ValueError) as e:
        tasks.make(name, seed=0, difficulty=3)
    msg = str(e.value)
    assert "difficulty" in msg
    for opt in tasks.options_of(name):
        assert opt in msg


@pytest.mark.parametrize("name,opt", [("complex4d", "n_train"), ("spiral", "n_test"),
                                      ("memorize", "n_points"), ("ood", "n_train"),
                                      ("freqgen", "n_test")])
@pytest.mark.parametrize("value", [0, -5, 2.5, True])
def test_bad_sizes_raise(name, opt, value):
    with pytest.raises(ValueError, match=opt):
        tasks.make(name, seed=0, **{opt: value})


def test_unknown_mode_lists_choices():
    with pytest.raises(ValueError) as e:
        tasks.make("freqgen", seed=0, mode="warped")
    assert "scaled" in str(e.value) and "direct" in str(e.value)


@pytest.mark.parametrize("name", [t for t in tasks.available() if t != "memorize"])
def test_validation_split_holds_out_training_points_only(name):
    """Tuning data: the held-out share comes from the training set; no test point is returned."""
    full, val = tasks.make(name, seed=3), tasks.make(name, seed=3, validation=0.25)
    n_val = round(0.25 * len(full.x_train))
    assert torch.equal(val.x_train, full.x_train[:-n_val]) and torch.equal(val.x_test, full.x_train[-n_val:])
    assert torch.equal(val.y_test, full.y_train[-n_val:]) and val.extra == {}
    assert not any(torch.equal(val.x_test, x) for x in (full.x_test, *(e[0] for e in full.extra.values())))


def test_validation_is_checked_and_memorize_keeps_its_pairs():
    m = tasks.make("memorize", validation=0.2)
    assert torch.equal(m.x_test, m.x_train)
    for bad in (-0.1, 0.6, True, "0.2"):
        with pytest.raises(ValueError, match="validation must be a fraction"):
            tasks.make("spiral", validation=bad)
