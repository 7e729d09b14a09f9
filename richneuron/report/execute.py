"""Run the notebooks: each with papermill in this environment's python3 kernel, with a progress line
while it runs (`execute`), and render a notebook to self-contained HTML with the project's nbconvert
template (`render`)."""
import json
import os
import sys
import time
from pathlib import Path

import nbformat

from .files import ROOT

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


def notebooks(root=ROOT):
    return sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def parameters(nb_path):
    """The names of a notebook's papermill parameters (its cell tagged "parameters")."""
    import papermill as pm
    return set(pm.inspect_notebook(str(nb_path)))


def _fmt_time(seconds):
    seconds = max(0, int(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def _status(nb_path, out_path, progress_file, t0, label, expected, after=None):
    """One progress line: the notebook, its code cells done (from the notebook papermill saves
    after every cell), the engine's cells and model-steps done (from the file the engine writes,
    see `observe.progress_file`) and an estimate of the time left."""
    elapsed = time.perf_counter() - t0
    parts = [f"{label} {nb_path.stem}"]
    try:
        nb = nbformat.read(out_path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        ran = sum(c.get("metadata", {}).get("papermill", {}).get("status") == "completed" for c in code)
        parts.append(f"code cell {min(ran + 1, len(code))}/{len(code)}")
    except Exception:  # noqa: BLE001 - not written yet
        pass
    left = None if expected is None else expected - elapsed
    try:
        st = json.loads(Path(progress_file).read_text())
        if st["steps_total"]:
            parts.append(f"training: {st['cells_done']}/{st['cells_total']} cells, "
                         f"{st['steps_done'] / 1e6:.2f}/{st['steps_total'] / 1e6:.2f} M model-steps")
            run_elapsed = time.time() - st["started"]
            if st["steps_done"]:
                run_left = run_elapsed * (st["steps_total"] - st["steps_done"]) / st["steps_done"]
                left = run_left if left is None else max(left, run_left)
    except Exception:  # noqa: BLE001 - no experiment has started yet
        pass
    parts.append(f"{_fmt_time(elapsed)} elapsed" + ("" if left is None else f", ~{_fmt_time(left)} left")
                 + ("" if left is None or not after else f" (report: ~{_fmt_time(left + after)})"))
    return " · ".join(parts)


def execute(nb_path, out_path, parameters, log=print, label="", expected=None, after=None, every=15.0,
            cells_file=None):
    """Run one notebook with papermill (python3 kernel of this environment), printing a progress
    line every `every` seconds (`expected`: its runtime in the last full run, for the estimate;
    `after`: the last full run's time for the notebooks still to come). `cells_file`: the keys of
    the cells the notebook's runs return are written there (see `observe.cells_file`).

    The kernel logs errors only: ipykernel's "running over TCP without encryption" warning
    concerns a kernel on a shared network, not one started here for one notebook."""
    import threading

    import papermill as pm
    t0 = time.perf_counter()
    progress_file = out_path.with_name(f".{out_path.stem}.progress.json")
    progress_file.unlink(missing_ok=True)
    stop = threading.Event()

    def report():
        while not stop.wait(every):
            log("  " + _status(nb_path, out_path, progress_file, t0, label, expected, after))
            sys.stdout.flush()

    env = {"RICHNEURON_PROGRESS_FILE": str(progress_file), "RICHNEURON_CELLS_FILE": str(cells_file or "")}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)                                            # the kernel inherits them
    if cells_file:
        Path(cells_file).unlink(missing_ok=True)
    watcher = threading.Thread(target=report, daemon=True)
    watcher.start()
    try:
        pm.execute_notebook(str(nb_path), str(out_path), parameters=parameters, kernel_name="python3",
                            cwd=str(nb_path.parent), progress_bar=False, log_output=False,
                            request_save_on_cell_execute=True,
                            extra_arguments=["--IPKernelApp.log_level=ERROR"])
    finally:
        stop.set()
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        progress_file.unlink(missing_ok=True)
    dt = time.perf_counter() - t0
    log(f"  {label} {nb_path.name}: {dt:.1f} s")
    return dt


def _exporter(exclude_input):
    from nbconvert import HTMLExporter
    ex = HTMLExporter(template_name="richneuron", extra_template_basedirs=[str(TEMPLATES)])
    ex.exclude_input = exclude_input
    ex.exclude_input_prompt = ex.exclude_output_prompt = exclude_input
    ex.embed_images = True
    return ex


def render(nb, out_html, exclude_input):
    body, _ = _exporter(exclude_input).from_notebook_node(nb)
    Path(out_html).write_text(body, encoding="utf-8")
    return out_html
