"""The project's setup files agree with each other: pyproject.toml (the one dependency list),
environment.yml (its conda mirror), .ci/run and the README."""
import os
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# PyPI name -> conda-forge name, where they differ.
CONDA_NAME = {"torch": "pytorch"}
# Entries of environment.yml that are not Python-package dependencies of pyproject.toml.
CONDA_ONLY = {"python", "pip"}

REQ = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:(==|>=|<=|~=|!=|>|<|=)\s*([^\s,;#]+))?\s*$")


def parse_req(text):
    m = REQ.match(text)
    assert m, f"cannot parse requirement {text!r}"
    name, op, ver = m.groups()
    return name.lower().replace("_", "-"), op, ver


def pyproject():
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def parse_env_simply(text):
    """Fallback reader for environment.yml's simple shape (top-level keys, `- item` lists,
    one nested `- pip:` list), for when PyYAML is missing."""
    env, key, pip, pip_indent = {}, None, None, None
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        body = line.strip()
        if indent == 0:
            key, _, value = body.partition(":")
            env[key] = value.strip() or []
            pip = None
        elif body.startswith("- "):
            item = body[2:].strip()
            if pip is not None and indent > pip_indent:
                pip["pip"].append(item)
            elif item == "pip:":
                pip, pip_indent = {"pip": []}, indent
                env[key].append(pip)
            else:
                pip = None
                env[key].append(item)
    return env


def environment():
    text = (ROOT / "environment.yml").read_text()
    try:
        import yaml
    except ImportError:          # pragma: no cover - PyYAML comes with jupyter
        return parse_env_simply(text)
    return yaml.safe_load(text)


def test_fallback_parser_agrees_with_yaml():
    yaml = pytest.importorskip("yaml")
    text = (ROOT / "environment.yml").read_text()
    assert parse_env_simply(text) == yaml.safe_load(text)


def conda_specs(env):
    specs, pip = {}, []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip.extend(dep.get("pip", []))
            continue
        name, op, ver = parse_req(str(dep))
        assert name not in specs, f"{name} listed twice in environment.yml"
        specs[name] = (op, ver)
    return specs, pip


def same_spec(py_op, py_ver, conda_op, conda_ver):
    if py_op is None:
        return conda_op is None
    if py_op == "==":                        # exact pin: conda writes `=X` or `==X`
        return conda_op in ("=", "==") and conda_ver == py_ver
    return conda_op == py_op and conda_ver == py_ver


def test_pyproject_dependencies_parse():
    deps = pyproject()["project"]["dependencies"]
    assert deps, "pyproject.toml lists no dependencies"
    for d in deps:
        parse_req(d)


def test_environment_channels_and_pip_section():
    env = environment()
    assert env["channels"] == ["conda-forge", "nodefaults"]
    specs, pip = conda_specs(env)
    assert "-e ." in [p.strip() for p in pip]
    assert "pip" in specs


def test_environment_python_matches_requires_python():
    specs, _ = conda_specs(environment())
    op, ver = specs["python"]
    assert op in ("=", "==")
    req = pyproject()["project"]["requires-python"]
    lo = re.search(r">=\s*([\d.]+)", req).group(1)
    hi = re.search(r"<\s*([\d.]+)", req).group(1)
    as_tuple = lambda v: tuple(int(p) for p in v.split("."))
    assert as_tuple(lo) <= as_tuple(ver) < as_tuple(hi), (ver, req)


def test_every_pyproject_dependency_in_environment_with_same_spec():
    specs, _ = conda_specs(environment())
    for dep in pyproject()["project"]["dependencies"]:
        name, op, ver = parse_req(dep)
        conda = CONDA_NAME.get(name, name)
        assert conda in specs, f"{dep!r} (conda-forge {conda!r}) missing from environment.yml"
        c_op, c_ver = specs[conda]
        assert same_spec(op, ver, c_op, c_ver), \
            f"{dep!r} vs environment.yml {conda}{c_op or ''}{c_ver or ''}"


def test_environment_has_nothing_pyproject_lacks():
    specs, _ = conda_specs(environment())
    py_names = {CONDA_NAME.get(n, n) for n, _, _ in map(parse_req, pyproject()["project"]["dependencies"])}
    extra = set(specs) - py_names - CONDA_ONLY
    assert not extra, f"environment.yml lists {sorted(extra)}, which pyproject.toml does not"


def test_torch_is_pinned_in_both():
    specs, _ = conda_specs(environment())
    torch_dep = [d for d in pyproject()["project"]["dependencies"] if parse_req(d)[0] == "torch"]
    assert len(torch_dep) == 1 and parse_req(torch_dep[0])[1] == "=="
    assert specs["pytorch"][0] in ("=", "==")


def test_spec_comparison_can_fail():
    assert same_spec("==", "2.13.0", "=", "2.13.0")
    assert not same_spec("==", "2.13.0", ">=", "2.13.0")
    assert not same_spec(">=", "1.26", ">=", "1.25")
    assert not same_spec(">=", "1.26", None, None)


def test_ci_run_calls_make_test():
    run = ROOT / ".ci" / "run"
    assert run.is_file()
    assert os.access(run, os.X_OK), ".ci/run is not executable"
    text = run.read_text()
    assert text.startswith("#!") and "bash" in text.splitlines()[0]
    assert "set -euo pipefail" in text
    code = [l.split("#", 1)[0] for l in text.splitlines()]
    assert any(re.search(r"(^|\s)make\s+test(\s|$)", l) for l in code), ".ci/run never runs `make test`"


def test_makefile_has_report_and_test_targets():
    text = (ROOT / "Makefile").read_text()
    assert re.search(r"^report\s*:", text, re.M) and re.search(r"^test\s*:", text, re.M)


def test_readme_names_the_two_commands():
    readme = ROOT / "README.md"
    if not readme.exists() or not readme.read_text().strip():
        pytest.skip("README.md is empty")
    text = readme.read_text()
    assert "make report" in text and "make test" in text
