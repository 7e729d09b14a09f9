"""Where a result came from: versions, commit, machine, threads, date."""
import datetime
import os
import platform
import subprocess
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from .version import __version__


# What `make report` itself rewrites: a run in progress must not call its own checkout dirty.
OUTPUTS = ("figures", "paper", "README.md")


@lru_cache(maxsize=1)
def git_commit(root=None):
    """The commit of the checkout at `root` (default: this package's), with "+dirty" when a source file (anything but OUTPUTS) differs from
    it and "+unknown" when that could not be checked in time; None outside git."""
    root = root or Path(__file__).resolve().parent.parent
    git = ["git", "-C", str(root)]
    try:
        sha = subprocess.run(git + ["rev-parse", "HEAD"], capture_output=True, text=True, timeout=10,
                             check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    try:
        dirty = subprocess.run(git + ["status", "--porcelain", "--untracked-files=no", "--", "."]
                               + [f":!{p}" for p in OUTPUTS], capture_output=True, text=True,
                               timeout=60, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return sha + "+unknown"
    return sha + ("+dirty" if dirty else "")


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
