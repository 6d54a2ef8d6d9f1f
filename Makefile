# careledger: the two commands a newcomer needs are `make demo` and `make test`.
# Both create (or reuse) the virtualenv in .venv from pylock.toml, the lock file (PEP 751:
# every package at one version with the sha256 of each file; re-pin with `make lock`).

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.careledger-installed

.PHONY: demo test lint dev dashboard install lock exposures clean help

help:
	@echo "make demo       set up, then simulate -> warehouse -> marts -> ERP files -> dashboard data"
	@echo "make test       set up, lint, then run the whole test suite"
	@echo "make lint       ruff (check + format), sqlfluff on the dbt models, and check-models"
	@echo "make check-models  the dbt rules only: layers, names, docs and keys, PHI lineage, portability, contracts"
	@echo "make dev        Dagster UI (webserver + daemon) on http://127.0.0.1:3000"
	@echo "make dashboard  executive dashboard on http://127.0.0.1:8050"
	@echo "make lock       re-pin pylock.toml from pyproject.toml"
	@echo "make exposures  regenerate the bi_serving_snapshot exposure from the access: public marts"

$(STAMP): pyproject.toml pylock.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv>=0.13,<0.14"
	# --compile-bytecode: every dbt, Dagster and CLI process then starts from .pyc files instead of
	# compiling its imports (halves dbt's start-up where PYTHONDONTWRITEBYTECODE is set)
	$(BIN)/uv pip install --quiet --python $(BIN)/python --compile-bytecode -r pylock.toml
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/careledger demo

test: lint
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	# .sqlfluff: DuckDB dialect, dbt templater on profiles.yml's in-memory `lint` target (no build needed)
	$(BIN)/sqlfluff lint dbt_project/models dbt_project/tests dbt_project/analyses
	$(MAKE) --no-print-directory check-models

# the dbt project's rules on a fresh `dbt compile` (no data, no build; docs/how_to_add_a_model.md)
check-models: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/unit/dbt/test_manifest_rules.py tests/unit/dbt/test_portable_sql.py tests/unit/dbt/test_contracts.py

dev: $(STAMP)
	$(BIN)/careledger ui

dashboard: $(STAMP)
	$(BIN)/careledger dashboard

lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --all-extras -o pylock.toml --python-version 3.11 --custom-compile-command "make lock" --quiet

# the serving snapshot's dbt exposure lists every `access: public` mart; it is generated, not edited
exposures: $(STAMP)
	$(BIN)/python -m careledger.publish.exposures

clean:
	rm -rf .careledger dbt_project/target dbt_project/logs test-artifacts
