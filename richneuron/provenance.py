"""Where a result came from: versions, commit, machine, threads, date."""
import datetime
import os
import platform
import subprocess
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from . import __version__


@lru_cache(maxsize=1)
def git_commit():
    """The checkout's commit (with "+dirty" when files differ), or None outside git."""
    root = Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


@lru_cache(maxsize=1)
def cpu_name():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def provenance(**extra):
    """A JSON-able dict describing this process; `extra` (e.g. wall_seconds) is merged in."""
    return {
        "richneuron": __version__, "git_commit": git_commit(), "torch": torch.__version__,
        "numpy": np.__version__, "python": platform.python_version(),
        "torch_threads": torch.get_num_threads(), "cpu": cpu_name(), "cpu_count": os.cpu_count(),
        "machine": platform.node(), "platform": platform.platform(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        **extra,
    }
