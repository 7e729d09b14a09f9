# Two commands do everything: `make report` and `make test`. Both build .venv/ on first use.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export OMP_NUM_THREADS := 1
export MKL_NUM_THREADS := 1

.PHONY: env report test lab bench clean

env: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found: install Python 3.11 (or run make PYTHON=/path/to/python3.11)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	$(PY) -m ipykernel install --prefix $(VENV) --name richneuron --display-name "Python (richneuron)" >/dev/null
	touch $(STAMP)

report: env
	$(PY) -m richneuron.report

test: env
	$(PY) -m pytest

lab: env
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks

bench: env
	$(PY) -m richneuron.bench

clean:
	rm -rf build
