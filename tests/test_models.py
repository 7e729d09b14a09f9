"""Tests of richneuron.models: build_model's contract, budget search, seeding, errors."""
import re

import pytest
import torch

from richneuron import build_model, count_params, neurons, width_for_budget

ARCHS = neurons.available("all")


def state_equal(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


# --------------------------------------------------------------------------- determinism

@pytest.mark.parametrize("arch", ARCHS)
def test_same_seed_bit_identical(arch):
    a = build_model(arch, 3, 2, budget=2000, depth=2, seed=7)
    torch.manual_seed(123)                  # the global RNG must not matter
    torch.rand(10)
    b = build_model(arch, 3, 2, budget=2000, depth=2, seed=7)
    assert state_equal(a, b)
    x = torch.randn(5, 3)
    assert torch.equal(a(x), b(x))


@pytest.mark.parametrize("arch", ARCHS)
def test_different_seed_differs(arch):
    a = build_model(arch, 3, 2, budget=2000, depth=2, seed=0)
    b = build_model(arch, 3, 2, budget=2000, depth=2, seed=1)
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    # every randomly initialised weight matrix differs
    differ = [k for k in sa if k.endswith("weight") and sa[k].dim() == 2 and not torch.equal(sa[k], sb[k])]
    assert differ == [k for k in sa if k.endswith("weight") and sa[k].dim() == 2]


@pytest.mark.parametrize("kw", [dict(budget=3000), dict(width=10)], ids=["budget", "width"])
def test_seeded_build_leaves_global_rng_untouched(kw):
    torch.manual_seed(99)
    before = torch.get_rng_state().clone()
    build_model("v9", 2, 1, depth=2, seed=5, **kw)
    assert torch.equal(torch.get_rng_state(), before)
    # the check can fail: an unseeded build does draw from the global RNG
    build_model("v9", 2, 1, depth=2, **kw)
    assert not torch.equal(torch.get_rng_state(), before)


def test_budget_search_does_not_draw_from_global_rng():
    torch.manual_seed(0)
    before = torch.get_rng_state().clone()
    width_for_budget("v4-shared", 4, 1, 5000, 2)
    assert torch.equal(torch.get_rng_state(), before)


def test_seeded_build_equals_manual_seed_then_build():
    a = build_model("singlu", 2, 1, width=8, depth=1, seed=3)
    torch.manual_seed(3)
    b = build_model("singlu", 2, 1, width=8, depth=1)
    assert state_equal(a, b)


# --------------------------------------------------------------------------- arguments

@pytest.mark.parametrize("kw", [dict(), dict(width=10, budget=3000)], ids=["neither", "both"])
def test_exactly_one_of_width_or_budget(kw):
    with pytest.raises(ValueError, match="width"):
        build_model("vanilla", 2, 1, **kw)


def test_unknown_arch_lists_all_ids():
    for call in (lambda: build_model("relu9", 2, 1, width=4),
                 lambda: width_for_budget("relu9", 2, 1, 3000)):
        with pytest.raises(ValueError) as e:
            call()
        msg = str(e.value)
        assert "relu9" in msg
        for a in ARCHS:
            assert re.search(rf"(^|[\s,'\"]){re.escape(a)}($|[\s,'\"])", msg), (a, msg)


@pytest.mark.parametrize("bad", [
    dict(in_dim=0), dict(in_dim=-2), dict(out_dim=0), dict(out_dim=-1),
    dict(depth=0), dict(depth=-1), dict(budget=0), dict(budget=-100),
    dict(width=0), dict(width=-3),
], ids=lambda d: "%s=%s" % next(iter(d.items())))
def test_non_positive_sizes_raise(bad):
    kw = dict(in_dim=2, out_dim=1, depth=2)
    kw.update(bad)
    if "width" not in bad and "budget" not in bad:
        kw["budget"] = 3000
    with pytest.raises(ValueError, match=next(iter(bad))):
        build_model("singlu", kw.pop("in_dim"), kw.pop("out_dim"), **kw)


@pytest.mark.parametrize("bad", [dict(width=2.5), dict(in_dim=2.5), dict(depth=True), dict(in_dim="2")],
                         ids=["width-float", "in_dim-float", "depth-bool", "in_dim-str"])
def test_non_integer_sizes_raise(bad):
    kw = dict(in_dim=2, out_dim=1, depth=2, width=4)
    kw.update(bad)
    with pytest.raises(ValueError, match=f"{next(iter(bad))} must be a whole number"):
        build_model("vanilla", kw.pop("in_dim"), kw.pop("out_dim"), **kw)


def test_whole_floats_and_numpy_integers_are_taken_as_the_numbers_they_are():
    import numpy as np
    ref = build_model("vanilla", 2, 1, width=4, seed=0).state_dict()
    got = build_model("vanilla", 2.0, np.int64(1), width=4.0, depth=np.int32(2), seed=np.int64(0)).state_dict()
    assert all(torch.equal(ref[k], got[k]) for k in ref)


@pytest.mark.parametrize("arch", ARCHS)
def test_unknown_option_lists_valid_options(arch):
    with pytest.raises(ValueError) as e:
        build_model(arch, 2, 1, width=4, frequency=3.0)
    msg = str(e.value)
    assert "frequency" in msg
    valid = neurons.get(arch).OPTIONS
    for opt in valid:
        assert opt in msg
    if not valid:
        assert "none" in msg
    with pytest.raises(ValueError, match="frequency"):
        build_model(arch, 2, 1, budget=3000, frequency=3.0)


def test_options_reach_every_layer():
    m = build_model("v9", 2, 1, width=6, depth=3, seed=0, omega=4.0, omega_range=0.25)
    assert len(m.layers) == 3
    for layer in m.layers:
        assert float(layer.omega) == 4.0 and layer.omega_range == 0.25


def test_layer_shapes():
    m = build_model("v10", 5, 3, width=12, depth=3, seed=0)
    assert [(l.in_features, l.width) for l in m.layers] == [(5, 12), (12, 12), (12, 12)]
    assert (m.head.in_features, m.head.out_features) == (12, 3) and m.head.bias is not None


# --------------------------------------------------------------------------- budgets

def width1_count(arch, in_dim, out_dim, depth):
    return count_params(build_model(arch, in_dim, out_dim, width=1, depth=depth, seed=0))


@pytest.mark.parametrize("arch,i,o,depth", [("v9", 8, 4, 2), ("vanilla", 2, 1, 2),
                                            ("v1", 4, 1, 1), ("v15", 1, 1, 2)])
def test_infeasible_budget_names_smallest_feasible(arch, i, o, depth):
    with pytest.raises(ValueError) as e:
        build_model(arch, i, o, budget=10 if arch != "vanilla" else 3, depth=depth)
    msg = str(e.value)
    assert "smallest feasible budget" in msg
    m = re.search(r"smallest feasible budget is (\d+)", msg)
    assert m, msg
    smallest = int(m.group(1))
    # independently: width 1 has the fewest parameters c; budget B is feasible iff |c−B| ≤ 5%·B
    c = width1_count(arch, i, o, depth)
    assert smallest == min(B for B in range(1, 2 * c) if 20 * abs(c - B) <= B)   # exact 5%
    model = build_model(arch, i, o, budget=smallest, depth=depth, seed=0)
    assert model.width == 1
    with pytest.raises(ValueError, match="smallest feasible budget"):
        build_model(arch, i, o, budget=smallest - 1, depth=depth)


def test_v9_8_to_4_budget_10_message():
    with pytest.raises(ValueError, match="smallest feasible budget") as e:
        build_model("v9", 8, 4, budget=10)
    # width 1: 5·1·(8+1) + 5·1·(1+1) + (1·4 + 4) = 63 parameters; ⌈63/1.05⌉ = 60
    assert "smallest feasible budget is 60" in str(e.value)
    assert "63" in str(e.value)


def test_budget_in_gap_between_widths_raises():
    # v9 8->4 depth 2: width 1 has 63 params (feasible budgets 60..66), width 2 has 132 (126..138)
    assert width1_count("v9", 8, 4, 2) == 63
    assert count_params(build_model("v9", 8, 4, width=2)) == 5 * 2 * 9 + 5 * 2 * 3 + 2 * 4 + 4 == 132
    for b in (60, 66, 126, 138):
        build_model("v9", 8, 4, budget=b)
    for b in (67, 100, 125):
        with pytest.raises(ValueError, match="within 5%") as e:
            build_model("v9", 8, 4, budget=b)
        assert "60-66 (width 1)" in str(e.value) and "126-138 (width 2)" in str(e.value)


CLOSEST_CASES = [("vanilla", 2, 1, 5000, 2), ("singlu", 2, 1, 3000, 2), ("v1", 8, 4, 5000, 2),
                 ("v4-lowrank", 4, 1, 8000, 2), ("v4-shared", 1, 1, 3000, 1), ("v6", 8, 4, 5000, 1),
                 ("v9", 2, 1, 5000, 2), ("v10", 4, 1, 8000, 2), ("v15", 2, 1, 5000, 2),
                 ("vanilla", 2, 1, 4965, 2), ("vanilla", 2, 1, 4966, 2)]


@pytest.mark.parametrize("arch,i,o,b,depth", CLOSEST_CASES,
                         ids=["%s-%d-%d-%d-d%d" % c for c in CLOSEST_CASES])
def test_chosen_width_is_closest(arch, i, o, b, depth):
    model = build_model(arch, i, o, budget=b, depth=depth, seed=0)
    w, n = model.width, count_params(model)
    assert width_for_budget(arch, i, o, b, depth) == (w, n)
    assert abs(n - b) <= 0.05 * b
    for nb in (w - 1, w + 1):
        if nb < 1:
            continue
        other = count_params(build_model(arch, i, o, width=nb, depth=depth, seed=0))
        assert abs(other - b) >= abs(n - b), (w, n, nb, other)
        if abs(other - b) == abs(n - b):     # ties go to the smaller width
            assert w < nb


def test_vanilla_budget_exact_width():
    # 2->1 depth 2: width 68 has exactly 4965 parameters
    assert build_model("vanilla", 2, 1, budget=4965, seed=0).width == 68


def test_budget_respects_options():
    # the layernorm option changes the count, so the width search must take it into account
    a = build_model("v1", 2, 1, budget=5000, seed=0)
    b = build_model("v1", 2, 1, budget=5000, seed=0, layernorm=False)
    assert abs(count_params(a) - 5000) <= 250 and abs(count_params(b) - 5000) <= 250
    w, n = width_for_budget("v4-lowrank", 8, 4, 5000, 2, rank=2)
    m = build_model("v4-lowrank", 8, 4, width=w, seed=0, rank=2)
    assert count_params(m) == n and all(l.rank == 2 for l in m.layers)


# --------------------------------------------------------------------------- forward

@pytest.mark.parametrize("arch", ARCHS)
def test_return_terms(arch):
    model = build_model(arch, 3, 2, width=6, depth=3, seed=0)
    x = torch.randn(4, 3)
    y, terms = model(x, return_terms=True)
    assert isinstance(terms, list) and len(terms) == 3
    assert all(isinstance(t, dict) and t["out"].shape == (4, 6) for t in terms)
    assert torch.equal(y, model(x))
    h = x
    for layer, t in zip(model.layers, terms):
        h = layer(h)
        torch.testing.assert_close(t["out"], h)
    torch.testing.assert_close(y, h @ model.head.weight.T + model.head.bias)


def test_return_terms_exposes_adaptive_quantities():
    model = build_model("v9", 2, 1, width=5, depth=2, seed=0)
    _, terms = model(torch.randn(3, 2), return_terms=True)
    for t in terms:
        assert {"out", "g", "omega", "phase", "alpha"} <= set(t)
        assert t["alpha"].shape == (3, 5)


def test_repr_shows_arch_width_params():
    m = build_model("v10", 2, 1, width=9, depth=2, seed=0)
    r = repr(m)
    assert "arch='v10'" in r and "width=9" in r and "depth=2" in r
    assert f"params={3 * 9 * 3 + 3 * 9 * 10 + 9 + 1}" in r


def test_perturbation_moves_every_weight_by_at_most_one_ulp_and_is_reproducible():
    """perturb=n moves each initial weight by exactly one ulp (toward ±inf, about half each way),
    from a seed of its own: the same arguments give the same model, another check number another."""
    base = build_model("vanilla", 2, 2, width=16, seed=3)
    moved = build_model("vanilla", 2, 2, width=16, seed=3, perturb=1)
    again = build_model("vanilla", 2, 2, width=16, seed=3, perturb=1)
    other = build_model("vanilla", 2, 2, width=16, seed=3, perturb=2)
    ups = total = 0
    for (name, p0), p1, p2, p3 in zip(base.named_parameters(), moved.parameters(), again.parameters(),
                                      other.parameters()):
        up, down = torch.nextafter(p0, torch.tensor(float("inf"))), torch.nextafter(p0, torch.tensor(-float("inf")))
        assert bool(((p1 == up) | (p1 == down)).all()) and not bool((p1 == p0).any()), name
        assert torch.equal(p1, p2)
        ups, total = ups + int((p1 == up).sum()), total + p1.numel()
    assert 0.4 < ups / total < 0.6
    assert any(not torch.equal(a, b) for a, b in zip(moved.parameters(), other.parameters()))
    with pytest.raises(ValueError, match="perturb"):
        build_model("vanilla", 2, 2, width=16, seed=3, perturb=-1)
