"""The study's published numbers, read from one data file (richneuron/data/published.json).

Nothing in the notebooks or the paper types these numbers: they come from here.
"""
import json
from functools import lru_cache
from importlib import resources

import pandas as pd


@lru_cache(maxsize=1)
def _data():
    return json.loads(resources.files("richneuron").joinpath("data/published.json").read_text())


def results():
    """Long table: arch, task, metric, published value (means over the study's 3 seeds)."""
    d = _data()
    return pd.DataFrame([{"arch": a, "task": t, "metric": d["metric"][t], "published": v}
                         for a, row in d["results"].items() for t, v in row.items()])


def value(arch, task):
    return _data()["results"].get(arch, {}).get(task)


def claims():
    """The headline claims: id -> {finding, text, value}."""
    return _data()["claims"]


def source():
    return _data()["source"]


def regime_map():
    """The study's task-type → best-architecture map (rows: type, best, why, tasks = our mapping)."""
    return _data()["regime_map"]
