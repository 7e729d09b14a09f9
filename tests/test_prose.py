"""The paper's fixed prose lives in templates (richneuron/templates/prose/, `report.prose.render`): each
template names exactly the values its code passes, a missing one is an error (StrictUndefined), the
computed values appear in the text as the code formats them, and the templates ship with the package."""
import fnmatch
import tomllib
from pathlib import Path

import jinja2
import jinja2.meta
import pandas as pd
import pytest

from richneuron import protocol, published, stats, verdicts
from richneuron.report import paper, prose, scorecard

ROOT = Path(__file__).resolve().parents[1]

# Every template's values, as its code passes them (realistic types: the filters and loops need them).
VALUES = {
    "abstract": dict(claims=12, citation="a citation", neurons=14, tasks=9, data_seeds=6,
                     found="1 replicated, 10 not replicated", not_judged=1),
    "abstract_outside": dict(outside=["nested ratio", "checkerboard pp"], with_interval=6),
    "abstract_space": dict(median_share=0.2222),
    "appendix_head": dict(paper="index.html", anchor="sec-03", label="A3", stem="03_adaptive_mechanisms",
                          shown="It shows Figure A3.1."),
    "checks_caption": {},
    "claim_heading": dict(anchor="claim-x", claim="a claim", criterion="a criterion", shortened=True,
                          label="A3", appendix="appendix/03_adaptive_mechanisms.html"),
    "history_caption": {},
    "history_intro": {},
    "limitations": dict(lr=0.003, sine_omega=1.0, siren_omega=30.0, difficulty="spiral turns = 3", seeds=3,
                        data_seeds=6, dof=5, eps=1.1920929e-07, band=1.5, equivalence_log=1.1,
                        equivalence_pp=1.0, magnitude_band=3.1623, budget=5000),
    "methods_heading": dict(anchor="sec-00", heading="## Methods", label="A0",
                            appendix="appendix/00_methods.html"),
    "provenance": dict(results_file="results.csv.gz", dictionary_file="results_dictionary.md",
                       history_file="history_read.csv.gz", replicas="Of its 3 replicas, …"),
    "quick_notice": {},
    "render_caption": {},
    "replicas": dict(replicas=1012, diverged=0, learnt_nothing=21, most_on=[("checkerboard", 13), ("diabetes", 5)]),
    "scorecard_caption": dict(study_protocol="point 1: lr 0.0074"),
    "scorecard_intro": {},
    "section_intro": dict(anchor="sec-01", title="Memorization", intro="The question.", label="A1",
                          appendix="appendix/01_memorization.html"),
}


def test_every_template_is_listed_with_exactly_the_values_it_names():
    assert prose.names() == sorted(VALUES), "a template was added or removed: list its values in VALUES"
    env = prose.environment()
    for name, values in VALUES.items():
        source = env.loader.get_source(env, name + prose.SUFFIX)[0]
        assert jinja2.meta.find_undeclared_variables(env.parse(source)) == set(values), name


@pytest.mark.parametrize("name", sorted(VALUES))
def test_each_template_renders_and_fails_on_a_missing_value(name):
    text = prose.render(name, **VALUES[name])
    assert text.strip() and "{{" not in text and "{%" not in text and not text.endswith("\n")
    for key in VALUES[name]:
        with pytest.raises(jinja2.UndefinedError):
            prose.render(name, **{k: v for k, v in VALUES[name].items() if k != key})


def test_the_limitations_state_the_protocol_values_as_the_code_formats_them():
    text = paper.limitations()
    assert text.startswith('<a id="limitations"></a>\n\n## Limitations\n\n- ') and text.endswith("large models.\n")
    assert f"one constant learning rate, {protocol.LR:g} (Adam), chosen" in text
    assert f"{protocol.SEEDS} seeds on each of {protocol.DATA_SEEDS} draws" in text
    assert f"({protocol.DATA_SEEDS - 1} degrees of freedom)" in text
    assert f"{protocol.BUDGET:,} parameters per model" in text
    assert f"(×{stats.EQUIVALENCE['log']:g} for errors, {100 * stats.EQUIVALENCE['linear']:g} pp" in text
    assert f"(a factor {verdicts.BAND:.2g})" in text


def test_the_optional_clauses_follow_the_values():
    assert prose.render("replicas", **VALUES["replicas"]).startswith(
        "Of its 1,012 replicas, 0 diverged (left out of the statistics and counted) and 21 learnt nothing "
        "(most on checkerboard 13, diabetes 5): a score")
    assert "learnt nothing: a score" in prose.render("replicas", **{**VALUES["replicas"], "most_on": []})
    assert prose.render("claim_heading", **{**VALUES["claim_heading"], "shortened": False}).endswith(
        "**Criterion.** a criterion")
    row = {"claim_id": "x", "verdict": verdicts.REPLICATED, "at_study_protocol": {"protocol": "point 2: lr 0.01"}}
    assert scorecard.scorecard_caption([row]).endswith(
        "(Provenance: criteria history). The study's likeliest protocol: point 2: lr 0.01.")
    assert scorecard.scorecard_caption([]).endswith("(Provenance: criteria history).")
    n = len(published.claims())
    assert f"Of the {n} claims, none judged, {n} not judged (Figure 1, Table 1)." in scorecard.abstract([])


def test_replicas_text_counts_with_thousands_separators():
    results = pd.DataFrame({"task": ["spiral"] * 1200, "diverged": [False] * 1200,
                            "learnt_nothing": [True] * 1001 + [False] * 199, "repeats": [""] * 1200})
    assert paper.replicas_text(results).startswith(
        "Of its 1,200 replicas, 0 diverged (left out of the statistics and counted) and 1,001 learnt nothing "
        "(most on spiral 1,001): ")


def test_the_templates_ship_with_the_package():
    with open(ROOT / "pyproject.toml", "rb") as f:
        globs = tomllib.load(f)["tool"]["setuptools"]["package-data"]["richneuron"]
    package = ROOT / "richneuron"
    for path in prose.PROSE.glob("*"):
        rel = path.relative_to(package).as_posix()
        assert any(fnmatch.fnmatch(rel, g) for g in globs), f"{rel} is not in pyproject's package-data"
    deps = tomllib.load(open(ROOT / "pyproject.toml", "rb"))["project"]["dependencies"]
    assert any(d.lower().startswith("jinja2") for d in deps), "jinja2 is imported directly: a declared dependency"
