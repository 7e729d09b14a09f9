"""The paper's scorecard pieces: claim order, missing claims, criterion history from git, rounding table."""
import subprocess

from richneuron import published, report, stats


def row(claim_id, verdict=stats.REPLICATED, **kw):
    c = published.claims()[claim_id]
    return {"finding": c["finding"], "claim_id": claim_id, "claim": c["text"], "published": c.get("value"),
            "ours": "1.0×", "verdict": verdict, "criterion": "crit", **kw}


def test_scorecard_follows_the_study_order_and_lists_unjudged_claims():
    ids = list(published.claims())
    rows = [row(ids[2]), row(ids[0], stats.NOT_REPLICATED, reason="magnitude fails",
                             parts={"direction": "holds", "magnitude": "fails"})]
    md = report.scorecard(rows)
    lines = md.splitlines()[2:]
    assert ids[0] in str(rows[1]) and published.claims()[ids[0]]["text"] in lines[0]
    assert "direction: holds; magnitude: fails" in lines[0] and "magnitude fails" in lines[0]
    assert published.claims()[ids[2]]["text"] in lines[1]
    assert len(lines) == len(ids) and sum("not judged" in ln for ln in lines) == len(ids) - 2


def test_abstract_counts_all_four_verdicts_and_the_rounding_flips():
    ids = list(published.claims())
    rows = [row(ids[0]), row(ids[1], stats.INCONCLUSIVE, rounding_stable=False)]
    text = report.abstract(rows, quick=False)
    assert f"Of its {len(ids)} headline claims" in text
    assert "1 replicated" in text and "1 inconclusive" in text and f"{len(ids) - 2} not judged" in text
    assert "1 changed" in text


def test_rounding_table_marks_changed_verdicts():
    ids = list(published.claims())
    a = stats.rounding_check(row(ids[0]), {"verdict": stats.NOT_REPLICATED, "ours": "0.2×"})
    b = stats.rounding_check(row(ids[1]), {"verdict": stats.REPLICATED, "ours": "1.1×"})
    md = report.rounding_table([a, b, row(ids[2])])
    assert "**no: inconclusive**" in md and "| yes |" in md and "not checked" in md


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
    assert report.criterion_commit("first text", "crit.py", tmp_path).startswith(c1)
    assert report.criterion_commit("edited after the data", "crit.py", tmp_path).startswith(c2)
    f.write_text('CRITERIA = {"a": "changed but not committed"}\n')
    assert report.criterion_commit("changed but not committed", "crit.py", tmp_path) == "uncommitted"
    assert report.criterion_commit("x", "missing.py", tmp_path) == "unknown"


def test_scorecard_shows_a_claims_own_parts_after_the_standard_ones():
    ids = list(published.claims())
    md = report.scorecard([row(ids[0], parts={"absolute OOD error": "fails", "direction": "holds", "magnitude": None})])
    assert "direction: holds; absolute OOD error: fails" in md.splitlines()[2]


def test_the_protocol_space_adds_its_share_and_the_verdict_at_the_studys_protocol():
    ids = list(published.claims())
    rows = [row(ids[0], stats.NOT_REPLICATED), row(ids[1])]
    assert report.with_space(rows, None) == rows                 # notebook 08 did not run: no new columns
    assert "holds across protocols" not in report.scorecard(rows)
    space = {"claims": {ids[0]: {"protocol_share": 0.25, "protocol_region": "holds only at lr < 0.001",
                                 "at_study_protocol": stats.REPLICATED}}}
    merged = report.with_space(rows, space)
    assert merged[0]["protocol_share"] == 0.25 and "protocol_share" not in merged[1]
    lines = report.scorecard(merged).splitlines()
    assert "holds across protocols" in lines[0] and lines[0].count("|") == lines[1].count("|")
    first = next(ln for ln in lines[2:] if published.claims()[ids[0]]["text"] in ln)
    assert "25%" in first and "holds only at lr \\< 0.001" in first and first.rstrip().endswith(f"{stats.REPLICATED} |")
    assert all(ln.count("|") == lines[0].count("|") for ln in lines[2:]), "every row has the two columns"
    text = report.headlines(merged)
    assert "Holds at 25% of the sampled protocols; at the study's likeliest protocol: replicated." in text
