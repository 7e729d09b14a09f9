"""The paper's fixed prose: one markdown template per piece under richneuron/templates/prose/
(`<name>.md.j2`), the values the code computes passed in (`render`). The templates hold the words
and the optional clauses; the numbers, lists and the escaping of values stay with the code that
computes them. Jinja2 with StrictUndefined (a value the template names and the code did not pass is
an error, not an empty string), trim_blocks/lstrip_blocks, no autoescape (markdown, not HTML), and a
`fmt` filter that is Python's `format` (`{{ lr | fmt("g") }}` is f"{lr:g}")."""
from functools import lru_cache
from pathlib import Path

import jinja2

PROSE = Path(__file__).resolve().parents[1] / "templates" / "prose"
SUFFIX = ".md.j2"


@lru_cache(maxsize=1)
def environment():
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(PROSE), undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, autoescape=False)
    env.filters["fmt"] = _format
    return env


def _format(value, spec=""):
    """Python's `format`; a value the code did not pass raises StrictUndefined's error (not format's
    TypeError on the undefined object)."""
    if isinstance(value, jinja2.Undefined):
        value._fail_with_undefined_error()
    return format(value, spec)


def names():
    """The prose templates' names (`render`'s first argument)."""
    return sorted(p.name.removesuffix(SUFFIX) for p in PROSE.glob(f"*{SUFFIX}"))


def render(name, **values):
    """The template `name` (templates/prose/<name>.md.j2) with `values`; its file's final newline is
    not part of the text."""
    return environment().get_template(name + SUFFIX).render(**values)
