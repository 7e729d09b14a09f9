"""The package's import graph, read from the source (ast): data flow one way, so no module imports
itself back through others (imports inside functions included), and no module reaches into another's
private names (`from .x import _y`, or `x._y` on an imported richneuron module)."""
import ast
from pathlib import Path

import richneuron

ROOT = Path(richneuron.__file__).parent


def _modules():
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


MODULES = _modules()


def _target(module, path, node):
    """The absolute module name an ImportFrom names."""
    if not node.level:
        return node.module or ""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module, path):
    """(modules imported, names bound to richneuron modules, private names imported)."""
    edges, bound, private = set(), set(), []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            target = _target(module, path, node)
            for a in node.names:
                full = f"{target}.{a.name}"
                if full in MODULES:
                    edges.add(full)
                    bound.add(a.asname or a.name)
                elif target in MODULES:
                    edges.add(target)
                    if a.name.startswith("_") and not a.name.startswith("__"):
                        private.append(f"from {target} import {a.name}")
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name in MODULES:
                    edges.add(a.name)
                    if a.asname:
                        bound.add(a.asname)
    edges.discard(module)
    return edges, bound, private


def test_the_module_map_is_read():
    assert {"richneuron.engine", "richneuron.pool", "richneuron.analysis.ranking"} <= set(MODULES)
    edges, _, _ = _imports("richneuron.engine", MODULES["richneuron.engine"])
    assert {"richneuron.pool", "richneuron.experiment", "richneuron.store"} <= edges


def test_no_import_circle():
    graph = {m: _imports(m, p)[0] for m, p in MODULES.items()}
    state, circles = {}, []

    def visit(m, stack):
        state[m] = "open"
        for t in sorted(graph[m]):
            if state.get(t) == "open":
                circles.append(" -> ".join(stack[stack.index(t):] + [t]))
            elif t not in state:
                visit(t, stack + [t])
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert circles == []


def test_no_private_name_used_across_modules():
    found = []
    for m, path in MODULES.items():
        _, bound, private = _imports(m, path)
        found += [f"{m}: {p}" for p in private]
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in bound
                    and node.attr.startswith("_") and not node.attr.startswith("__")):
                found.append(f"{m}: {node.value.id}.{node.attr}")
    assert found == []


def test_importing_the_package_leaves_multiprocessing_alone():
    """The spawn patch is installed when a worker pool starts, not on import."""
    import subprocess
    import sys
    code = ("import multiprocessing.spawn as s; f = s.get_preparation_data; import richneuron; "
            "assert s.get_preparation_data is f; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "ok", out.stderr
