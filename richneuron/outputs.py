"""What a notebook leaves for the build, in its output_dir: files by role, read by the build
(`report`) for every notebook alike, never by the notebook's name.

- VERDICTS: its verdict rows (`verdicts.write_verdicts`), the paper's scorecard;
- ANSWERS: its answers to its own questions (`notebook.write_answers`), the "Beyond the study" table;
- SPACE: a protocol space (`analysis.space.write_summary`): per claim, the share of sampled
  protocols where it holds, and the study's likeliest protocol, at which the build runs the
  finding notebooks again; at most one notebook of a build writes one;
- PUBLISHED: the names of its files a full build copies into paper/ beside the paper (`publish`).

A notebook's own metadata says which section of the paper it is (`section`): "methods" (shown whole
as the paper's Methods) or, by default, "finding" (a short section with its claims; the rest in
its appendix).
"""
import json
from pathlib import Path

VERDICTS = "verdicts.json"
ANSWERS = "answers.json"
SPACE = "space.json"
PUBLISHED = "published.json"


def write(output_dir, name, doc):
    """Write `doc` as the JSON file `name` (one of the roles above) into `output_dir`; its path."""
    path = Path(output_dir) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1, default=str))
    return path


def publish(output_dir, name):
    """Mark the file `name` of `output_dir` (written already) to be copied into paper/ by a full build."""
    if not (Path(output_dir) / name).is_file():
        raise ValueError(f"publish {name!r}: no such file in {output_dir}; write it first")
    path = Path(output_dir) / PUBLISHED
    names = json.loads(path.read_text()) if path.exists() else []
    if name not in names:
        write(output_dir, PUBLISHED, names + [name])


ROLES = (VERDICTS, ANSWERS, SPACE, PUBLISHED)


def clear(output_dir):
    """Remove what an earlier run left in `output_dir` for the build (every role's file)."""
    for name in ROLES:
        (Path(output_dir) / name).unlink(missing_ok=True)


def read(output_dir):
    """What the notebook that wrote `output_dir` left for the build: {verdicts: rows, answers: rows,
    space: the protocol space or None, published: paths of the files to copy into paper/}."""
    d = Path(output_dir)
    load = lambda name, empty: json.loads((d / name).read_text()) if (d / name).exists() else empty
    return {"verdicts": load(VERDICTS, []), "answers": load(ANSWERS, []), "space": load(SPACE, None),
            "published": [d / n for n in load(PUBLISHED, [])]}


SECTIONS = ("finding", "methods")


def section(nb):
    """The paper section notebook `nb` (a notebook node) declares in its metadata
    ({"richneuron": {"section": ...}}): one of SECTIONS, "finding" when it declares none."""
    got = nb.metadata.get("richneuron", {}).get("section", "finding")
    if got not in SECTIONS:
        raise ValueError(f"a notebook's section must be one of {', '.join(SECTIONS)}, got {got!r}")
    return got


def check_published(paths, reserved):
    """ValueError unless the files notebooks publish (`paths`) have distinct names, none of them
    `reserved` (what the build itself writes into paper/)."""
    names = [Path(p).name for p in paths]
    clash = sorted({n for n in names if names.count(n) > 1} | (set(names) & set(reserved)))
    if clash:
        raise ValueError(f"notebooks publish {', '.join(clash)} more than once or over a file the build writes into "
                         f"paper/ ({', '.join(sorted(reserved))}): give each published file a name of its own")
