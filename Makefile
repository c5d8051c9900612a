# One command per intent. Everything runs from a local virtual environment (.venv),
# created on first use from the Python on PATH (3.11+).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint format demo bench bench-load clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

## Run the main job: API, dashboard, workers and sweep, on the simulator and a SQLite file.
run: $(STAMP)
	$(BIN)/outreach serve

## Run the whole test suite (SQLite and PostgreSQL, the fake Unipile server, a real browser).
test: $(STAMP)
	scripts/test-prerequisites
	$(BIN)/pytest -q

## Tests without PostgreSQL or the browser.
test-fast: $(STAMP)
	$(BIN)/pytest -q -m "not postgres and not browser"

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

## A 30-prospect campaign, 26 days compressed into about a minute.
demo: $(STAMP)
	$(BIN)/outreach demo

bench: $(STAMP)
	$(BIN)/python bench/launch_10k.py

## serve, two workers and the fake Unipile on PostgreSQL, both cores busy (a few minutes).
bench-load: $(STAMP)
	$(BIN)/python bench/load_pg.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .mypy_cache .ruff_cache
