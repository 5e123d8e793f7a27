# The quality gate: `make test` (what CI runs), `make lint`, `make demo`, `make bench`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install services test lint format demo bench worker migrate run clean constraints

# constraints.txt pins the versions the suite last passed with, so a fresh install (CI's included) gets those and
# not whatever was released since; pyproject.toml keeps the compatible ranges.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' -c constraints.txt
	touch $(STAMP)

install: $(STAMP)  ## virtual environment with the project and its dev tools

services:  ## start Redis and PostgreSQL if they are not reachable
	@bash scripts/ensure-services.sh

test: install services  ## the test suite against real services
	$(BIN)/pytest

lint: install  ## ruff, formatting, mypy, and the pure-module import contract
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy config coordination tasks beat
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

demo: install  ## the example end to end (embedded Redis when none is reachable)
	-@bash scripts/ensure-services.sh >/dev/null 2>&1
	$(BIN)/coord demo

bench: install services  ## the core benchmark suite; results in bench-results.json
	$(BIN)/coord bench core --json bench-results.json

worker: install services
	$(BIN)/celery -A config.celery_app worker -l info

migrate: install services  ## create or upgrade the archive tables (alembic upgrade head)
	$(BIN)/coord db upgrade

run: migrate  ## worker, beat, Flower and the web view from the Procfile (needs COORD_FLOWER_BASIC_AUTH=user:password)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start

constraints:  ## re-resolve the newest versions pyproject.toml allows into constraints.txt (then: make test)
	rm -rf .constraints-venv
	$(PYTHON) -m venv .constraints-venv
	.constraints-venv/bin/pip install --quiet --upgrade pip
	.constraints-venv/bin/pip install --quiet -e '.[dev]'
	{ sed -n '1,2p' constraints.txt; .constraints-venv/bin/pip freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf .constraints-venv

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis *.egg-info
