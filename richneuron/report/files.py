"""Where the report works and what it publishes: the repository's root and the names of the files a
render writes next to the paper."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS_FILE, DICTIONARY_FILE = "results.csv.gz", "results_dictionary.md"
HISTORY_FILE = "history_read.csv.gz"     # the logged scores at the steps the verdicts read
SUMMARY_FIGURE = "summary"          # figures/summary.png: the paper's Figure 1, also the README's
