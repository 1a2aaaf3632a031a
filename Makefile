# Two commands for a new machine with Python 3.11: `make run` and `make test`.
# Both create the virtual environment from the pinned lock file when it is missing or stale.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONFIG ?= feeds.yaml

.PHONY: run test check bench lock clean

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/monitor --config $(CONFIG) run

test: $(STAMP)
	$(BIN)/python -m pytest -q

check: $(STAMP)
	$(BIN)/ruff check monitor tests bench
	$(BIN)/ruff format --check monitor tests bench
	$(BIN)/mypy

# compileall: bytecode for our modules, as an installed package has (and as the peers, installed
# by pip, have); with PYTHONDONTWRITEBYTECODE set, every monitor run would compile them again.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check 'reader>=3.26' 'sgmllib3k>=1.0'
	$(BIN)/python -m compileall -q monitor
	$(BIN)/python bench/run_all.py

# Re-pin every dependency (runtime and development) after changing pyproject.toml.
lock:
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv
	.lockenv/bin/python -m pip install --quiet --upgrade pip setuptools wheel
	.lockenv/bin/python -m pip install --quiet ".[dev]"
	.lockenv/bin/python -m pip freeze --exclude talks-monitor | sort -f > requirements.lock
	.lockenv/bin/python -m pip freeze --all | grep -iE '^(setuptools|wheel)==' >> requirements.lock
	rm -rf .lockenv

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
