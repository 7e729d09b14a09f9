# Two commands do everything: `make report` and `make test`. Both build .venv/ on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: env report quick test lab bench clean

env: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null || { echo "need Python 3.11 (found: $(PYTHON)); run make PYTHON=/path/to/python3.11"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	$(PY) -m ipykernel install --prefix $(VENV) --name richneuron --display-name "Python (richneuron)" >/dev/null
	-git rev-parse --git-dir >/dev/null 2>&1 && $(VENV)/bin/nbstripout --install
	touch $(STAMP)

report: env
	$(PY) -m richneuron.report

quick: env
	$(PY) -m richneuron.report --quick

test: env
	$(PY) -m pytest

# As root (common in containers) Jupyter refuses to start without --allow-root.
lab: env
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks --MultiKernelManager.default_kernel_name=richneuron $(if $(filter 0,$(shell id -u)),--allow-root)

bench: env
	$(PY) -m richneuron.bench

clean:
	rm -rf build
