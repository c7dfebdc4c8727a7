# Two commands do all set-up (see README.md):
#   make reproduce   the main job: every figure and table at the smoke profile, into figures/
#                    (PROFILE=toy|quick|paper for the others; DEVICE=cuda runs every notebook's models on a GPU)
#   make test        the test suite (pytest + nbval on every notebook)
#   make test-fast   the library tests a contributor runs while working (no notebooks, browsers, Ray, twins, slow tests)
#   make report      the executed notebooks of a profile as HTML pages: figures/<profile>/report/index.html
# Each creates and fills .venv from requirements/*.lock first when it is missing or out of date.

PYTHON ?= python3
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
RUNTIME := $(VENV)/.motionlib-runtime
TESTS := $(VENV)/.motionlib-test
LAB := $(VENV)/.motionlib-lab
RAY := $(VENV)/.motionlib-ray
PROFILE ?= smoke
DEVICE ?=
# Notebook kernels and console scripts must come from the project environment.
export PATH := $(BIN):$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: reproduce report test test-fast env lab clean-env

# The paper profile runs its batch notebooks on Ray (notebooks/params/paper/*.yaml: executor: ray).
reproduce: $(RUNTIME) $(if $(filter paper,$(PROFILE)),$(RAY))
	$(BIN)/motionlib reproduce --profile $(PROFILE) $(if $(DEVICE),--device $(DEVICE))

# After `make reproduce` (same PROFILE): one page per executed notebook and an index (nbconvert).
report: $(RUNTIME)
	$(BIN)/motionlib report --profile $(PROFILE)

# The library tests and the notebooks run side by side, one torch thread each (scripts/test_lanes.py).
test: $(TESTS)
	$(BIN)/python scripts/test_lanes.py

# The markers are in conftest.py (MARKERS); `make test` still runs everything, and CI runs `make test`.
test-fast: $(TESTS)
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest tests -q -m "not (notebook or browser or ray or twin or slow)"

env: $(RUNTIME)

# JupyterLab refuses to start as root (containers, cloud notebooks) unless told: as the Jupyter
# Docker stacks do, pass --allow-root when running as root.
# JupyterLab rooted at the repository (figures/ and docs/ in its file browser), opening in notebooks/, with
# one kernel, "Python 3 (motionlib)", on which every notebook opens (scripts/jupyter_lab_config.json).
lab: $(LAB)
	$(BIN)/python -c 'from motionlib.reproduce import ensure_kernelspec; ensure_kernelspec()'
	$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) --config=scripts/jupyter_lab_config.json \
		--ServerApp.root_dir=$(CURDIR)

# The runtime (requirements/runtime.lock) is all `make reproduce` needs; the test and lab stacks go
# on top of it only for `make test` and `make lab` (scripts/split_lock.py writes the three locks).
$(RUNTIME): requirements/runtime.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "motionlib needs Python >= 3.11; run with PYTHON=python3.11 (or newer)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements/runtime.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	$(BIN)/python -c 'from motionlib.reproduce import ensure_kernelspec; ensure_kernelspec()'
	@touch $@

$(TESTS): $(RUNTIME) $(RAY) requirements/test.lock
	$(BIN)/python -m pip install -q -r requirements/test.lock
	@touch $@

$(RAY): $(RUNTIME) requirements/ray.lock
	$(BIN)/python -m pip install -q -r requirements/ray.lock
	@touch $@

$(LAB): $(RUNTIME) requirements/lab.lock
	$(BIN)/python -m pip install -q -r requirements/lab.lock
	@touch $@

clean-env:
	rm -rf $(VENV)
