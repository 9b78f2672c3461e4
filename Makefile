# The two commands a newcomer needs (README.md): `make run` and `make test`.
# Both install what they need first (a Python venv and Azurite from npm), so they work on a
# fresh machine with Python 3.11 and Node.js 20.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INFRA_VENV := .venv-infra

.PHONY: setup run test test-fast lint test-infra bench bench-smoke clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(INFRA_VENV)/.installed: requirements-infra.txt
	$(PYTHON) -m venv $(INFRA_VENV)
	$(INFRA_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-infra.txt
	touch $@

setup: $(VENV)/.installed node_modules/.installed

## Start the whole local stack in the foreground: Azurite, the ACS emulator, the function app.
run: setup
	$(PY) -m sandbox.cli

## Lint, type-check and run every test (unit, contract, integration, e2e, infra).
test: setup $(INFRA_VENV)/.installed lint
	$(PY) -m pytest -p no:cacheprovider
	$(INFRA_VENV)/bin/python -m pytest -p no:cacheprovider -c tests/infra/pytest.ini tests/infra

## Unit tests only (no Azurite, no emulator): seconds.
test-fast: setup
	$(PY) -m pytest -p no:cacheprovider tests/unit

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test-infra: $(INFRA_VENV)/.installed
	$(INFRA_VENV)/bin/python -m pytest -p no:cacheprovider -c tests/infra/pytest.ini tests/infra

bench: setup
	$(PY) -m bench

bench-smoke: setup
	$(PY) -m bench --smoke

clean:
	rm -rf $(VENV) $(INFRA_VENV) node_modules .stack
