"""The paper's scorecard pieces: claim order, missing claims, criterion history from git, robustness check."""
import subprocess

from bs4 import BeautifulSoup

from richneuron import published, report, verdicts


def row(claim_id, verdict=verdicts.REPLICATED, **kw):
    c = published.claims()[claim_id]
    return {"finding": c["finding"], "claim_id": claim_id, "claim": c["text"], "published": c.get("value"),
            "ours": "1.0×", "verdict": verdict, "criterion": "crit", **kw}


def _rows(html):
    return [[td.get_text(" ").strip() for td in tr.find_all("td")]
            for tr in BeautifulSoup(html, "html.parser").find("tbody").find_all("tr")]


def test_scorecard_follows_the_study_order_and_lists_unjudged_claims():
    ids = list(published.claims())
    rows = [row(ids[2]), row(ids[0], verdicts.NOT_REPLICATED, reason="magnitude fails",
                             parts={"direction": "holds", "magnitude": "fails"})]
    html = report.scorecard.scorecard(rows)
    cells = _rows(html)
    assert published.claims()[ids[0]]["text"] in cells[0][1] and cells[0][4] == verdicts.NOT_REPLICATED
    assert published.claims()[ids[2]]["text"] in cells[1][1] and cells[1][4] == verdicts.REPLICATED
    assert len(cells) == len(ids) and sum(c[4] == "not judged" for c in cells) == len(ids) - 2
    assert f'href="#claim-{ids[0]}"' in html and "magnitude fails" not in html, "the reasons are in the section"
    assert 'style="background:' in html, "verdict cells are coloured"


def test_abstract_counts_all_four_verdicts_and_the_rounding_flips():
    ids = list(published.claims())
    rows = [row(ids[0]), row(ids[1], verdicts.INCONCLUSIVE, rounding_stable=False)]
    text = report.scorecard.abstract(rows)
    assert f"Of the {len(ids)} claims, 1 replicated, 1 inconclusive, {len(ids) - 2} not judged" in text


def test_the_checks_table_marks_changed_verdicts():
    ids = list(published.claims())
    a = verdicts.rounding_check(row(ids[0]), {"verdict": verdicts.NOT_REPLICATED, "ours": "0.2×"})
    b = verdicts.rounding_check(row(ids[1]), {"verdict": verdicts.REPLICATED, "ours": "1.1×"})
    md = report.scorecard.checks_table([a, b, row(ids[2])])
    assert "**no: inconclusive**" in md and "| yes |" in md and "not checked" in md
    text = report.scorecard.claim_text(a, [])
    assert "With every initial weight moved by one ulp: 0.2×; verdict not replicated (it changed" in text


def test_the_checks_table_names_the_parts_the_check_did_not_need():
    """A row checked part by part (`analysis.robustness`): its parts checked and not needed, with their model-steps."""
    ids = list(published.claims())
    a = {**row(ids[0], verdicts.INCONCLUSIVE), "rounding_stable": None, "verdict_other_kernels": None,
         "check_parts_run": [], "check_parts_skipped": ["direction", "magnitude"], "check_cost_run": [0, 0],
         "check_cost_skipped": [24, 72000]}
    b = {**row(ids[1], verdicts.NOT_REPLICATED), "rounding_stable": True, "verdict_other_kernels": verdicts.NOT_REPLICATED,
         "check_parts_run": ["magnitude"], "check_parts_skipped": ["mechanism"], "check_cost_run": [24, 72000],
         "check_cost_skipped": [96, 288000]}
    lines = report.scorecard.checks_table([a, b]).split("\n")
    assert lines[2].endswith("| inconclusive | not needed | not needed | none | direction, magnitude (72,000 model-steps) |")
    assert lines[3].endswith(f"| {verdicts.NOT_REPLICATED} | {verdicts.NOT_REPLICATED} | yes | magnitude (72,000 model-steps) "
                             "| mechanism (288,000 model-steps) |")
    text = report.scorecard.claim_text(b, [])
    assert ("Robustness check: ran magnitude; mechanism not needed (no outcome could change the verdict); verdict not "
            "replicated (stable).") in text
    assert "Robustness check: direction, magnitude not needed (no outcome could change the verdict)." in report.scorecard.claim_text(a, [])


def git(cwd, *args):
    subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@t", "HOME": str(cwd), "PATH": "/usr/bin:/bin"})
    return subprocess.run(["git", "-C", str(cwd), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True).stdout.strip()


def test_criterion_commit_is_the_commit_that_last_changed_that_line(tmp_path):
    git(tmp_path, "init", "-q")
    f = tmp_path / "crit.py"
    f.write_text('CRITERIA = {"a": "first text", "b": "other"}\n')
    git(tmp_path, "add", "crit.py")
    c1 = git(tmp_path, "commit", "-qm", "one")
    f.write_text('CRITERIA = {"a": "first text", "b": "edited after the data"}\n')
    git(tmp_path, "add", "crit.py")
    c2 = git(tmp_path, "commit", "-qm", "two")
    assert report.criteria.criterion_commit("first text", "crit.py", tmp_path).startswith(c1)
    assert report.criteria.criterion_commit("edited after the data", "crit.py", tmp_path).startswith(c2)
    f.write_text('CRITERIA = {"a": "changed but not committed"}\n')
    assert report.criteria.criterion_commit("changed but not committed", "crit.py", tmp_path) == "uncommitted"
    assert report.criteria.criterion_commit("x", "missing.py", tmp_path) == "unknown"


def test_a_claims_section_shows_its_own_parts_after_the_standard_ones():
    ids = list(published.claims())
    text = report.scorecard.claim_text(row(ids[0], parts={"absolute OOD error": "fails", "direction": "holds", "magnitude": None}), [])
    assert "Parts: direction: holds; absolute OOD error: fails." in text


def test_the_protocol_space_adds_its_share_and_the_verdict_at_the_studys_protocol():
    ids = list(published.claims())
    rows = [row(ids[0], verdicts.NOT_REPLICATED), row(ids[1])]
    rows[0]["at_lengths"] = {"0.1": {"verdict": verdicts.REPLICATED, "parts": {"direction": verdicts.HOLDS},
                                     "ours": "3.1× [1.2, 8]", "reason": "", "effect": None, "read_share": 0.1}}
    assert report.scorecard.with_space(rows, None) == rows                 # notebook 08 did not run: no new columns
    assert "holds across protocols" not in report.scorecard.scorecard(rows)
    best = {"text": "our default protocol, read at 300 steps", "point": 0, "length": 300, "share": 0.1, "default": True}
    space = {"claims": {ids[0]: {"protocol_share": 0.25, "protocol_region": "holds only at lr < 0.001",
                                 "reduced_at_study_protocol": verdicts.NOT_REPLICATED}}, "best_protocol": best}
    merged = report.scorecard.with_space(rows, space)
    assert merged[0]["protocol_share"] == 0.25 and "protocol_share" not in merged[1]
    # the finding's own criterion at that length, not notebook 08's reduced one
    assert merged[0]["at_study_protocol"]["verdict"] == verdicts.REPLICATED
    assert merged[0]["at_study_protocol"]["ours"] == "3.1× [1.2, 8]"
    assert merged[1]["at_study_protocol"]["verdict"] is None and "no verdict at 10%" in merged[1]["at_study_protocol"]["reason"]
    html = report.scorecard.scorecard(merged)
    assert "holds across protocols" in html and "at the study&#x27;s likeliest protocol" in html.replace("'", "&#x27;")
    cells = _rows(html)
    assert all(len(c) == 7 for c in cells), "every row has the two columns"
    assert cells[0][5:] == [verdicts.REPLICATED, "25%"] and cells[1][5:] == ["not judged", "–"]
    text = report.scorecard.claim_text(merged[0], [])
    # a verdict there other than ours names its parts (its numbers are in verdicts.json); the same verdict is one word
    at_parts = report.scorecard._parts_text(merged[0]["at_study_protocol"]["parts"])
    assert merged[0]["verdict"] != verdicts.REPLICATED and at_parts != "–"
    assert ("At the study's likeliest protocol ([[ref:tab-scorecard]]), by the same criterion: "
            f"**replicated** (parts: {at_parts}).") in text
    same = {**merged[0], "verdict": verdicts.REPLICATED}
    assert "by the same criterion: **replicated**." in report.scorecard.claim_text(same, [])
    assert "our default protocol, read at 300 steps" in report.scorecard.scorecard_caption(merged)
    # at the full length the row is its own verdict there; elsewhere in the space, the finding's row
    # from its notebook run again there, and not judged without one
    full = report.scorecard.with_space(rows, {**space, "best_protocol": {**best, "share": 1.0, "length": 3000}})
    assert full[0]["at_study_protocol"]["verdict"] == verdicts.NOT_REPLICATED
    away = report.scorecard.with_space(rows, {**space, "best_protocol": {**best, "point": 5, "default": False}})
    assert away[0]["at_study_protocol"]["verdict"] is None and "not run at that protocol" in away[0]["at_study_protocol"]["reason"]
    there = {rows[0]["claim_id"]: {**rows[0], "verdict": verdicts.INCONCLUSIVE, "ours": "1.4×"}}
    away = report.scorecard.with_space(rows, {**space, "best_protocol": {**best, "point": 5, "default": False}}, there)
    assert (away[0]["at_study_protocol"]["verdict"], away[0]["at_study_protocol"]["ours"]) == (verdicts.INCONCLUSIVE, "1.4×")
    assert away[1]["at_study_protocol"]["verdict"] is None



def test_scorecard_marks_a_criterion_revised_after_its_results():
    ids = list(published.claims())
    history = {ids[0]: {"renders": [], "revised_after_data": True, "revisions": ["abc1234"], "last_criterion": "crit"},
               ids[1]: {"renders": [], "revised_after_data": False, "revisions": [], "last_criterion": "crit"},
               ids[2]: {"renders": [], "revised_after_data": False, "revisions": [], "last_criterion": "old"}}
    rows = [row(ids[0]), row(ids[1]), row(ids[2]), row(ids[3])]
    marked = [report.scorecard.REVISED_MARK in f"<td>{c}" for c in report.scorecard.scorecard(rows, history=history).split("<tr>")[2:6]]
    assert marked == [True, False, True, False]     # revised in git; unchanged; changed since the last render; new
    assert report.scorecard.REVISED_MARK not in report.scorecard.scorecard(rows)


def test_the_abstracts_one_reason_is_the_commonest_cause_among_the_rows_that_did_not_replicate():
    ids = list(published.claims())
    magnitude = [row(ids[0], verdicts.NOT_REPLICATED, parts={"direction": "holds", "magnitude": "fails"}),
                 row(ids[1], verdicts.NOT_REPLICATED, parts={"direction": "fails", "magnitude": "fails"}),
                 row(ids[2], verdicts.NOT_REPLICATED, parts={"magnitude": "fails", "mechanism": "fails"}),
                 row(ids[3], parts={"direction": "holds"})]
    text = report.scorecard.one_reason(magnitude)                 # magnitude 3, direction 1, mechanism 1 (of 3 rows)
    assert text.startswith(f"The commonest reason: {report.scorecard.FAILURE_KINDS['magnitude']}, in 3 of the 3 ")
    flipped = [row(ids[0], verdicts.INCONCLUSIVE, parts={"direction": "holds"}, rounding_stable=False),
               row(ids[1], verdicts.INCONCLUSIVE, parts={"direction": "holds"}, rounding_stable=False),
               row(ids[2], verdicts.NOT_REPLICATED, parts={"direction": "fails"}),
               row(ids[3], verdicts.INCONCLUSIVE, parts={"direction": "inconclusive"})]
    text = report.scorecard.one_reason(flipped)                   # robustness check 2, direction 1, undecided 1
    assert f"{report.scorecard.FAILURE_KINDS['robustness check']}, in 2 of the 4 claims" in text
    assert text.endswith(f"({' '.join(ids[0].split('_'))}, {' '.join(ids[1].split('_'))}).")
    assert text in report.scorecard.abstract(flipped)
    assert report.scorecard.one_reason([row(ids[0])]) == ""       # everything replicated: no reason to give
