# partnerscore: `make run` and `make test` are all a new user needs.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
export UV_PROJECT_ENVIRONMENT := $(VENV)
export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export DAGSTER_DISABLE_TELEMETRY := 1
export DO_NOT_TRACK := 1

.DEFAULT_GOAL := help
.PHONY: help install run dev test lint format bench clean-data

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.synced: pyproject.toml uv.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	@$(BIN)/uv sync --frozen --inexact --quiet
	@touch $@

install: $(VENV)/.synced ## Create .venv from the lock file (uv.lock)

run: install ## Generate demo extracts if none, then ingest, check, build and publish
	@$(BIN)/partnerscore run

dev: install ## Start the Dagster UI (dagster dev) on http://127.0.0.1:3000
	@$(BIN)/partnerscore dev

test: install lint ## Lint, then run the whole test suite
	@$(BIN)/pytest -n 2

DATA_DIR := $(or $(PARTNERSCORE_DATA_DIR),data)

lint: install ## ruff, and sqlfluff (dbt templater) on the dbt project
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@# sqlfluff's dbt templater opens the warehouse to answer is_incremental(): give it an
	@# empty one of its own, so the result does not depend on (or lock) the real warehouse.
	@mkdir -p $(DATA_DIR)/lint
	@PARTNERSCORE_DATA_DIR=$(abspath $(DATA_DIR))/lint DBT_TARGET_PATH=$(DATA_DIR)/dbt/lint-target \
		DBT_LOG_PATH=$(DATA_DIR)/dbt/logs $(BIN)/sqlfluff lint models macros snapshots --processes 2

format: install ## Apply ruff formatting and fixes
	@$(BIN)/ruff check --fix .
	@$(BIN)/ruff format .

bench: install ## Benchmark scale S against raw DuckDB (SCALE=M or L for more)
	@$(BIN)/partnerscore bench --scale $${SCALE:-S}
