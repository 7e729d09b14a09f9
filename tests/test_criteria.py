"""Criteria live one per file (richneuron/criteria/<claim>.md) and git dates each by its words."""
import subprocess
import textwrap

from richneuron import criteria, published, report
from richneuron.analysis import adaptive, frequency, memorization, ood, peers, ranking, width


def test_every_judged_claim_has_its_criterion_file_and_the_modules_read_it():
    judged = {**memorization.CRITERIA, **ranking.CRITERIA, **adaptive.CRITERIA, **width.CRITERIA,
              **frequency.CRITERIA, **ood.CRITERIA, "regime_map": peers.REGIME_CRITERION}
    assert sorted(judged) == criteria.available()
    assert set(judged) <= set(published.claims())
    for claim, text in judged.items():
        assert text == " ".join(criteria.path(claim).read_text().split())
        assert max(len(line) for line in criteria.path(claim).read_text().splitlines()) <= 100
        assert criteria.source(claim) == f"richneuron/criteria/{claim}.md"


def test_unknown_claim_names_the_valid_ones():
    import pytest
    with pytest.raises(ValueError, match="memorization_ratio"):
        criteria.text("no_such_claim")


def _commit(repo, message):
    subprocess.run(["git", "-C", repo, "add", "-A"], check=True)
    subprocess.run(["git", "-C", repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", message], check=True)
    return subprocess.run(["git", "-C", repo, "log", "-1", "--format=%h"], capture_output=True, text=True).stdout.strip()


def test_a_criterion_is_dated_by_the_last_change_of_its_words(tmp_path):
    repo = tmp_path
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    words = "Direction: holds when the ratio is significantly above 1, fails otherwise. " * 3
    words = words.strip()
    (repo / "richneuron" / "analysis").mkdir(parents=True)
    (repo / "richneuron" / "analysis" / "x.py").write_text(f'CRITERIA = {{"c": "{words}"}}\n')
    stated = _commit(str(repo), "state the criterion in a module")
    (repo / "README").write_text("unrelated\n")
    _commit(str(repo), "unrelated")
    src = "richneuron/criteria/c.md"
    (repo / "richneuron" / "criteria").mkdir()
    (repo / src).write_text(textwrap.fill(words, 40) + "\n")
    (repo / "richneuron" / "analysis" / "x.py").write_text('CRITERIA = {"c": read("c")}\n')
    _commit(str(repo), "move it to its file")
    (repo / src).write_text(textwrap.fill(words, 60) + "\n")           # re-wrapped: same words
    _commit(str(repo), "rewrap")
    when = lambda: report.criteria.criterion_commit(words, src, repo).split()[0]
    assert when() == stated
    changed = words.replace("fails otherwise", "fails when significantly below 1")
    (repo / src).write_text(textwrap.fill(changed, 60) + "\n")
    assert report.criteria.criterion_commit(changed, src, repo) == "uncommitted"
    revised = _commit(str(repo), "revise the words")
    assert report.criteria.criterion_commit(changed, src, repo).split()[0] == revised
