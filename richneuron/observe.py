"""Watching `run`: the callbacks it takes for its progress and for the cells it returns, and the
pair `make report` installs in its notebooks' kernels through two environment variables (the one
way into a kernel papermill starts): $RICHNEURON_PROGRESS_FILE and $RICHNEURON_CELLS_FILE."""
import json
import os
import threading

PROGRESS_ENV = "RICHNEURON_PROGRESS_FILE"
CELLS_ENV = "RICHNEURON_CELLS_FILE"


def progress_file(path):
    """A progress callback writing the engine's state as JSON to `path` (atomically: the report's
    progress line reads it while the run goes on); a failed write is skipped."""
    def write(state):
        try:
            tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"   # one per writing thread
            with open(tmp, "w") as f:
                json.dump(state, f)
            os.replace(tmp, path)
        except OSError:
            pass
    return write


def cells_file(path):
    """A cells callback appending the keys of the cells a run returned, one per line, to `path`, so
    the paper publishes exactly the results its notebooks read."""
    def record(keys):
        with open(path, "a") as f:
            f.write("".join(f"{k}\n" for k in keys))
    return record


def from_environment():
    """(progress callback, cells callback) named by the environment (None where a variable is unset)."""
    progress, cells = os.environ.get(PROGRESS_ENV), os.environ.get(CELLS_ENV)
    return (progress_file(progress) if progress else None), (cells_file(cells) if cells else None)
