# Two commands for a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: run test lint typecheck pytest clean hardening

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools
	$(BIN)/pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

$(VENV): $(STAMP)

run: $(STAMP)
	$(BIN)/myoivig run

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -q

test: lint typecheck pytest

# Bounded hardening scripts (docs/reliability.md): audit chain verify and backup/restore round
# trips on SQLite and PostgreSQL (127.0.0.1:5432, or MYOIVIG_TEST_POSTGRES_URL), printing their
# figures, then the API fuzzing (schemathesis, fixed example counts). Load and fault scripts are
# not written yet.
hardening: $(STAMP)
	$(BIN)/python benchmarks/hardening.py
	$(BIN)/pytest -q tests/web/test_web_api_fuzz.py
	$(BIN)/python benchmarks/fault_pg_restart.py

clean:
	rm -rf $(VENV) myoivig.db
