"""The scorecard's criteria: one file per claim (`<claim_id>.md`, wrapped text), read here.

A criterion is written once, before its data, and judges its claim at every protocol the paper
reports. Each lives in a file of its own so that it reads as text and git dates it: the paper's
criteria history (`report.criteria.criterion_commit`) is the file's own log. The text a verdict row stores
is the file's words joined into one paragraph.
"""
from pathlib import Path

FOLDER = Path(__file__).parent
ROOT = FOLDER.parent.parent


def path(claim_id):
    """The criterion file of `claim_id` (a ValueError naming the claims that have one if none)."""
    p = FOLDER / f"{claim_id}.md"
    if not p.exists():
        raise ValueError(f"no criterion for claim {claim_id!r}; claims with one: {', '.join(available())}")
    return p


def available():
    return sorted(p.stem for p in FOLDER.glob("*.md"))


def text(claim_id):
    """The criterion of `claim_id` as one paragraph (the file's words, whitespace collapsed)."""
    return " ".join(path(claim_id).read_text().split())


def source(claim_id):
    """The criterion file's path relative to the repository (what git dates)."""
    return path(claim_id).relative_to(ROOT).as_posix()
