"""Another protocol point (the study's likeliest, as notebook 08 fits it): an Experiment moved there
trains the cells an explicit Experiment at those settings would, what a finding sets itself keeps its
values, our default protocol's cells are untouched, and the scorecard takes the verdict of the
finding run there."""
import json

import pytest

from richneuron import Experiment, defaults, notebook as nbk, protocol, tasks
from richneuron.report import execute, scorecard
from richneuron import report

POINT = {"lr": 0.0074, "omega": 0.77, "init": "default", "difficulty": 0, "size": 0.5, "length": 99,
         "text": "point 1: a test point"}


def explicit(arch, task, **kw):
    """The reference: one arch on one task with the point's settings typed out by hand."""
    name, levels = tasks.difficulty(task)
    opts = {name: list(levels[0]) if isinstance(levels[0], tuple) else levels[0]}
    if "n_train" in tasks.options_of(task):
        opts["n_train"] = max(16, round(tasks.options_of(task)["n_train"] * 0.5))
    return Experiment(archs=[arch], tasks=[task], seed=[0, 1], data_seed=[0, 1], steps=99,
                      task_options={**opts, **kw.pop("task_options", {})}, **kw)


def test_a_moved_experiment_trains_the_cells_of_the_settings_typed_by_hand():
    point = protocol.parse_point(json.dumps(POINT))
    e = protocol.main_grid(["vanilla", "singlu", "siren"], ["spiral", "checkerboard", "memorize"], [0, 1], 99,
                           data_seeds=2)
    moved = protocol.at_point({"main": e}, point)["main"]
    by = {(c["arch"], c["task"]): c for c in moved.cells}
    for task in ("spiral", "checkerboard", "memorize"):
        # ω 0.77 for SinGLU (its own default ω is 1); SIREN keeps its ω0 30 and Vanilla has none
        assert by["singlu", task] == explicit("singlu", task, lr=0.0074, omega=0.77).cells[0]
        assert by["siren", task] == explicit("siren", task, lr=0.0074).cells[0]
        assert by["vanilla", task] == explicit("vanilla", task, lr=0.0074).cells[0]


def test_what_a_finding_sets_itself_keeps_its_values():
    point = protocol.parse_point(json.dumps(POINT))
    own = Experiment(archs=["singlu"], tasks=["spiral"], seed=[0], steps=99, lr=[3e-4, 1e-3], omega=3.0,
                     task_options={"turns": 3})
    tuned = Experiment(archs=["singlu"], tasks=["spiral"], seed=[0], steps=99, lr=defaults.LR)
    out = protocol.at_point({"sweep": own, "tuned": tuned, "none": None, "list": [tuned]}, point, own_lr=("tuned",))
    c = out["sweep"].cells[0]
    assert c["lrs"] == [3e-4, 1e-3] and c["omegas"] == [3.0] and c["task_options"]["turns"] == 3
    assert c["task_options"]["n_train"] == explicit("singlu", "spiral").cells[0]["task_options"]["n_train"]
    assert out["tuned"].cells[0]["lrs"] == [defaults.LR]          # a tuning chose it: kept
    assert out["list"][0].cells[0]["lrs"] == [0.0074] and out["none"] is None


def test_our_protocol_leaves_every_experiment_and_key_as_it_was():
    e = protocol.main_grid(["vanilla", "singlu"], ["spiral", "hifreq"], [0, 1], 1000, data_seeds=2)
    assert protocol.at_point({"main": e}, None)["main"] is e
    assert [c.key for c in e.typed_cells] == [c.key for c in Experiment(
        archs=["vanilla", "singlu"], tasks=["spiral", "hifreq"], seed=[0, 1], data_seed=[0, 1], steps=1000,
        protocol=None).typed_cells]


@pytest.mark.parametrize("bad, match", [
    ("{not json", "JSON object"), (json.dumps({"lr": 1e-3}), "lacks omega"),
    (json.dumps({**POINT, "difficulty": 5}), "difficulty must be a level"),
    (json.dumps({**POINT, "size": 1.5}), "at most 1"), (json.dumps({**POINT, "init": "xavier"}), "protocol init"),
    (json.dumps({**POINT, "lr": -1}), "protocol lr")])
def test_a_bad_protocol_point_is_refused_naming_the_key(bad, match):
    with pytest.raises(ValueError, match=match):
        protocol.parse_point(bad)


def test_a_notebook_at_another_protocol_trains_its_length_into_its_own_folders(tmp_path):
    cfg = nbk.setup(False, 2, "vanilla,singlu", 1000, "", str(tmp_path / "c"), "", notebook="01_memorization",
                    data_seeds=2, protocol=json.dumps(POINT))
    assert cfg.steps == 99 and cfg.point["lr"] == 0.0074
    assert cfg.output_dir.parent.name == "results_study" and cfg.figures_dir.name == "figures_study"
    ours = nbk.setup(False, 2, "vanilla,singlu", 1000, "", str(tmp_path / "c"), "", notebook="01_memorization")
    assert ours.point is None and ours.steps == 1000 and ours.output_dir.parent.name == "results"


ROW = {"claim_id": "c1", "verdict": "replicated", "parts": {"direction": "holds"}, "ours": "2×", "reason": "",
       "effect": None, "at_lengths": {"0.1": {"verdict": "inconclusive", "parts": {"direction": "inconclusive"},
                                              "ours": "1.1×", "reason": "r", "effect": None}}}


def test_the_scorecard_takes_the_verdict_of_the_finding_run_at_the_study_protocol():
    best = {"text": "point 1", "default": False, "share": 0.1, "settings": POINT}
    there = {**ROW, "verdict": "not replicated", "parts": {"direction": "fails"}, "ours": "0.5×"}
    got = scorecard.study_verdict(ROW, best, {"c1": there})
    assert (got["verdict"], got["parts"], got["ours"]) == ("not replicated", {"direction": "fails"}, "0.5×")
    missing = scorecard.study_verdict(ROW, best, {})
    assert missing["verdict"] is None and "not run at that protocol" in missing["reason"]
    # our default protocol read at 10% of the steps: the row's own logged-history verdict
    assert scorecard.study_verdict(ROW, {**best, "default": True})["verdict"] == "inconclusive"
    rows = scorecard.with_space([ROW], {"claims": {}, "best_protocol": best}, {"c1": there})
    assert "none holds there" in scorecard.study_protocol_text(rows)
    rows = scorecard.with_space([ROW], {"claims": {}, "best_protocol": best}, {"c1": ROW})
    assert "1 replicated" in scorecard.study_protocol_text(rows) and "every finding trained again" in \
        scorecard.study_protocol_text(rows)


def test_the_build_runs_a_finding_notebook_again_at_the_fitted_protocol(tmp_path):
    nb = next(p for p in execute.notebooks() if p.stem.startswith("04"))
    assert "protocol" in execute.parameters(nb)
    space = {"best_protocol": {"default": False, "settings": POINT, "text": POINT["text"]}}
    runtimes, used = {}, {}
    rows = report.study_protocol_pass([nb], space, tmp_path, tmp_path / "cache", True, lambda *a: None,
                                      runtimes=runtimes, used=used)
    assert set(rows) == {"width_penalty"} and "04_width_tradeoff@study" in runtimes
    shown = (tmp_path / "notebooks_study" / nb.name).read_text()
    assert "another protocol than ours" in shown and "99 steps" in shown
    assert not report.study_protocol_pass([nb], {"best_protocol": {"default": True}}, tmp_path, tmp_path, True)


def test_notebook_08_writes_its_best_point_as_the_findings_take_it():
    from richneuron.analysis import space
    points = space.design(4)
    for _, r in points.iterrows():
        row = {**r.to_dict(), "length": 99}
        got = protocol.parse_point(json.dumps(space.point_settings(row)))
        assert (got["lr"], got["omega"], got["init"], got["size"], got["length"]) == \
               (row["lr"], row["omega"], row["init"], row["size"], 99)
        assert got["difficulty"] == (None if r["default"] else int(row["difficulty"]))
        assert got["text"] == space.protocol_text(row)
