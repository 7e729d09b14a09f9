"""When each claim's criterion was written, from git: the commit that last changed its words
(`criterion_commit`, `with_commits`), and every committed render of the scorecard with whether a
criterion was revised after a render had shown its verdict (`criteria_history`, `history_table`)."""
import json
import subprocess

from .files import ROOT

def criterion_commit(text, source, root=ROOT):
    """The commit (short hash and date) that last changed a criterion line of `source`, by
    `git log -S` (the newest commit that added or removed that exact text); "uncommitted" when
    the line is not in HEAD's version of the file, "unknown" without git."""
    if not text or not source:
        return "unknown"
    if source.startswith(CRITERIA_FOLDER):
        return _file_commit(text, source, root)
    try:
        head = subprocess.run(["git", "-C", str(root), "show", f"HEAD:{source}"], capture_output=True,
                              text=True, timeout=30)
        if head.returncode != 0:
            return "unknown"
        if text not in head.stdout:
            return "uncommitted"
        log = subprocess.run(["git", "-C", str(root), "log", "-1", "--format=%h %cs", "-S", text, "--", source],
                             capture_output=True, text=True, timeout=60)
        return log.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


CRITERIA_FOLDER = "richneuron/criteria/"


def _git(root, *args):
    r = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=60)
    return r.stdout if r.returncode == 0 else None


def _file_commit(text, source, root=ROOT):
    """`criterion_commit` of a criterion file (`criteria`): the newest commit that changed its words;
    for the words the file was created with, the commit that last changed them where they lived
    before (a line of an analysis module)."""
    words = lambda t: None if t is None else " ".join(t.split())
    try:
        if words(_git(root, "show", f"HEAD:{source}")) != text:
            return "uncommitted" if _git(root, "rev-parse", "HEAD") else "unknown"
        for line in (_git(root, "log", "--format=%H %h %cs", "--", source) or "").splitlines():
            sha, stamp = line.split(" ", 1)
            before = words(_git(root, "show", f"{sha}^:{source}"))
            if before == text:
                continue                       # the words did not change in this commit
            if before is None:                 # created here: where did these words last change?
                old = _git(root, "log", "-1", "--format=%h %cs", "-S", text, f"{sha}^", "--", "richneuron/analysis")
                return (old or "").strip() or stamp
            return stamp
        return "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def with_commits(verdict_rows, root=ROOT):
    """Each row gains `criterion_commit` (see `criterion_commit`)."""
    return [{**r, "criterion_commit": criterion_commit(r.get("criterion"), r.get("criterion_source"), root)}
            for r in verdict_rows]


def criteria_history(root=ROOT, path="paper/verdicts.json"):
    """Every committed render of the scorecard (`path` in git, oldest first) per claim: {claim_id:
    {"renders": [{"commit", "date", "verdict", "criterion_changed"}], "revised_after_data": bool,
    "revisions": [commit, ...]}}. A render's criterion_changed is True when the criterion text it
    stored differs from the previous render's for that claim; the criterion was revised after the
    data when it changed in a render that followed one showing the claim's verdict (every render
    after the first). Without git or renders: {}."""
    git = ["git", "-C", str(root)]
    try:
        log = subprocess.run(git + ["log", "--reverse", "--format=%H %cI", "--", path], capture_output=True,
                             text=True, timeout=60, check=True).stdout.split("\n")
    except (OSError, subprocess.SubprocessError):
        return {}
    out = {}
    for line in filter(None, log):
        sha, date = line.split(" ", 1)
        shown = subprocess.run(git + ["show", f"{sha}:{path}"], capture_output=True, text=True, timeout=60)
        if shown.returncode != 0:          # the commit deleted the file
            continue
        try:
            rows = json.loads(shown.stdout)
        except ValueError:
            continue
        for r in rows if isinstance(rows, list) else []:
            h = out.setdefault(r.get("claim_id"), {"renders": [], "revised_after_data": False, "revisions": []})
            before = h["renders"][-1]["criterion"] if h["renders"] else None
            changed = before is not None and r.get("criterion") != before
            h["renders"].append({"commit": sha[:7], "date": date[:10], "verdict": r.get("verdict"),
                                 "criterion": r.get("criterion"), "criterion_changed": changed})
            if changed:
                h["revised_after_data"] = True
                h["revisions"].append(sha[:7])
    out.pop(None, None)
    for h in out.values():
        h["last_criterion"] = h["renders"][-1]["criterion"]
        for x in h["renders"]:
            x.pop("criterion")
    return out


def revised_after_data(row, history):
    """Whether `row`'s criterion was revised after a committed render had shown the claim's verdict:
    in the render history (`criteria_history`), or now (its text differs from the last committed render's)."""
    h = history.get(row.get("claim_id"))
    return bool(h) and (h["revised_after_data"] or row.get("criterion") != h["last_criterion"])


def history_table(history):
    """`criteria_history` as a markdown table: per claim, its committed renders' verdicts in order
    (runs of the same verdict joined, with their dates and count; * where the criterion had changed
    since the previous render) and whether its criterion was stated before the data (never changed
    after a render showed it)."""
    lines = ["| claim | verdicts of the committed renders, oldest first (* criterion changed since the previous render) | "
             "criterion stated before the data? |", "|---|---|---|"]
    for claim, h in history.items():
        runs = []
        for x in h["renders"]:
            if runs and runs[-1]["verdict"] == x["verdict"] and not x["criterion_changed"]:
                runs[-1]["n"], runs[-1]["last"] = runs[-1]["n"] + 1, x["date"]
            else:
                runs.append({"verdict": x["verdict"], "n": 1, "first": x["date"], "last": x["date"],
                             "changed": x["criterion_changed"]})
        text = " → ".join(f"{'*' if r['changed'] else ''}{r['verdict']} ({r['first']}"
                          + (f" – {r['last']}, {r['n']} renders)" if r["n"] > 1 else ")") for r in runs)
        stated = ("no: revised after results in " + ", ".join(h["revisions"])) if h["revised_after_data"] else "yes"
        lines.append(f"| {claim} | {text} | {stated} |")
    return "\n".join(lines)
