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

# Bounded hardening scripts (docs/reliability.md), each printing its figures: audit chain verify
# and backup/restore round trips on SQLite and PostgreSQL (127.0.0.1:5432, or
# MYOIVIG_TEST_POSTGRES_URL); 50 users reading and writing through the API for 120 s against
# `myoivig serve` on a scratch PostgreSQL database (no error, no lost update, chain verifies,
# nothing secret or identifying in the server log; about 2.5 minutes); then the API fuzzing
# (schemathesis, fixed example counts) and the fault tests (killed server and import, full
# disk, database refusing connections); and a private PostgreSQL cluster stopped and crashed
# under load, then restarted (503s, recovery without restarting the server, nothing lost).
hardening: $(STAMP)
	$(BIN)/python benchmarks/hardening.py
	$(BIN)/python benchmarks/web_load_writes.py --users 50 --seconds 120
	$(BIN)/python benchmarks/fault_pg_restart.py
	$(BIN)/pytest -q tests/web/test_web_api_fuzz.py tests/store/test_faults.py

clean:
	rm -rf $(VENV) myoivig.db
