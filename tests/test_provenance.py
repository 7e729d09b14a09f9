"""Tests of richneuron.provenance.git_commit on a throwaway git repository."""
import subprocess

from richneuron.provenance import git_commit


def _git(root, *args):
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True).stdout.strip()


def test_git_commit_flags_source_changes_but_not_report_outputs(tmp_path):
    assert git_commit(tmp_path) is None                                  # not a repository
    _git(tmp_path, "init", "-q")
    (tmp_path / "src.py").write_text("a = 1\n")
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "f.png").write_bytes(b"1")
    (tmp_path / "README.md").write_text("r\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    sha = _git(tmp_path, "rev-parse", "HEAD")
    (tmp_path / "figures" / "f.png").write_bytes(b"2")                  # a report run rewrites these
    (tmp_path / "README.md").write_text("table\n")
    git_commit.cache_clear()
    assert git_commit(tmp_path) == sha
    (tmp_path / "src.py").write_text("a = 2\n")
    git_commit.cache_clear()
    assert git_commit(tmp_path) == sha + "+dirty"
