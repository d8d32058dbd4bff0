# Clickstream report. `make help` lists the targets.
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
SHELL := /bin/bash

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUN ?= default
PARAMS ?=
SCENARIO ?=
ONLY ?=
FORCE ?=
DATA ?=
EVENT_LOG ?=
MAPPING ?=
PRESET ?=
SESSION_TABLE ?=
SIZES ?= 1e5 1e6 1e7
EVENTS ?= 1e6 1e7
PYTEST_ARGS ?=
WORKERS ?= 2
# These reach the commands as arguments, not through their environment (nor every kernel's).
unexport RUN PARAMS SCENARIO ONLY FORCE DATA EVENT_LOG MAPPING PRESET SESSION_TABLE SIZES EVENTS PYTEST_ARGS A B WORKERS ALL
A ?=
B ?=
ALL ?=

.PHONY: help
help: ## show this help
	@echo "Clickstream report: make TARGET [RUN=name] [PARAMS=\"k=v ...\"] [SCENARIO=name] [ONLY=03,04]"
	@echo
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  \033[1m%-13s\033[0m %s\n", $$1, $$2}'
	@echo
	@echo "Examples:"
	@echo "  make report                                   # default run: reports/default/index.html"
	@echo "  make report FORCE=1                           # run every notebook again, even those up to date"
	@echo "  make report RUN=big PARAMS=\"n_sessions=1000000 seed=7\""
	@echo "  make report RUN=tm SCENARIO=time_matters"
	@echo "  make report RUN=mine DATA=path/to/raw_tables"
	@echo "  make report RUN=log EVENT_LOG=events.csv MAPPING=mapping.yaml"
	@echo "  make report RUN=shop EVENT_LOG=events.csv PRESET=rees46       # also: retailrocket, ga4"
	@echo "  make report RUN=st SESSION_TABLE=sessions.csv MAPPING=sessions.yaml"
	@echo "  make report RUN=exp EVENT_LOG=log.csv MAPPING=log.yaml PARAMS=\"plan_run=default\"   # read out a test"
	@echo "  make compare A=default B=tm                   # what changed: reports/compare-default-vs-tm/"
	@echo "  make pdf RUN=default ALL=1                    # every page in one file: reports/default/report.pdf"

# The environment comes from requirements.lock (exact versions with hashes, nothing resolved here);
# the project itself is put on the path by a .pth file, so there is nothing to build.
$(STAMP): requirements.lock
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	@echo "installing the locked environment into $(VENV) (first time: a few minutes) ..."
	@set -o pipefail; $(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
	  -r requirements.lock 2>&1 | { grep -v "^WARNING: Location" || true; }
	@$(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' \
	  | xargs -I{} sh -c 'echo "$(CURDIR)" > {}/clickstream-report.pth'
	@# Byte-compile now: pip skips it where PYTHONDONTWRITEBYTECODE is set, and then every kernel and
	@# command would compile pandas, SciPy and the rest again (measured: a cold report 35 s instead of 22 s).
	@$(BIN)/python -m compileall -q -j 0 "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" \
	  helpers >/dev/null 2>&1 || true
	@git config filter.nbstripout.clean >/dev/null 2>&1 || $(BIN)/nbstripout --install 2>/dev/null || true
	@# with the filter installed, let git refresh its index once now, not in every page's footer
	@git status --porcelain --untracked-files=no >/dev/null 2>&1 || true
	@touch $@

.PHONY: venv
venv: $(STAMP) ## create .venv and install the project (done by every target that needs it)

.PHONY: report
report: $(STAMP) ## run the notebooks whose inputs changed (FORCE=1: all) and render HTML into reports/<RUN>/
	$(BIN)/python -m helpers.runner.report --run "$(RUN)" --params "$(PARAMS)" \
	  $(if $(SCENARIO),--scenario "$(SCENARIO)") $(if $(ONLY),--only "$(ONLY)") $(if $(FORCE),--force) \
	  $(if $(DATA),--data "$(DATA)") $(if $(EVENT_LOG),--event-log "$(EVENT_LOG)") \
	  $(if $(MAPPING),--mapping "$(MAPPING)") $(if $(PRESET),--preset "$(PRESET)") \
	  $(if $(SESSION_TABLE),--session-table "$(SESSION_TABLE)")

.PHONY: pdf
pdf: $(STAMP) ## one file to attach: the front page (ALL=1: every page) printed to reports/<RUN>/report.pdf
	$(BIN)/python -m helpers.presentation.pdf "$(RUN)" $(if $(ALL),--all)

.PHONY: compare
compare: $(STAMP) ## what changed between two runs: reports/compare-<A>-vs-<B>/index.html (A=run B=run)
	@test -n "$(A)" && test -n "$(B)" || { echo "error: name both runs: make compare A=<run> B=<run>" >&2; exit 2; }
	$(BIN)/python -m helpers.compare "$(A)" "$(B)"

.PHONY: test
test: $(STAMP) ## the test suite CI runs: units, whole reports at small size, real-data shapes, Spark parity
	$(BIN)/python -m pytest -q -m "not slow" -n $(WORKERS) $(PYTEST_ARGS)

.PHONY: test-fast
test-fast: $(STAMP) ## the edit loop (under a minute): no kernel, no Spark, no simulated world analysed whole
	$(BIN)/python -m pytest -q -m "not slow and not notebook and not spark and not world" -n $(WORKERS) $(PYTEST_ARGS)

.PHONY: test-all
test-all: $(STAMP) ## every test, the slow ones too (more real-data shapes, presets, reruns are identical)
	$(BIN)/python -m pytest -q -n $(WORKERS) $(PYTEST_ARGS)

.PHONY: validate
validate: $(STAMP) ## score the verdicts against the simulator's truth over a grid of worlds: reports/validation/
	$(BIN)/python -m helpers.runner.validate

.PHONY: bench
bench: $(STAMP) ## time and memory by size, gold SQL vs Polars and pandas, then the rerun ratios (SIZES="1e5 1e6 1e7")
	$(BIN)/python -m helpers.runner.bench --sizes $(SIZES)
	$(BIN)/python -m helpers.runner.bench_reruns

.PHONY: bench-reruns
bench-reruns: $(STAMP) ## what a rerun costs against a cold report, and the cold report's CPU against one process
	$(BIN)/python -m helpers.runner.bench_reruns

.PHONY: bench-real
bench-real: $(STAMP) ## REES46-shaped logs (shared sample tiled): import and report s, MB vs DuckDB alone (EVENTS="1e6 1e7")
	$(BIN)/python -m helpers.runner.bench --real --sizes $(EVENTS)

.PHONY: lock
lock: $(STAMP) ## re-resolve requirements.lock from the ranges in pyproject.toml (then: make venv)
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 --generate-hashes \
	  --no-header --quiet -o requirements.lock
	@echo "requirements.lock updated; the next make target reinstalls .venv from it"

.PHONY: lab
lab: $(STAMP) ## open JupyterLab on the notebooks with the project's kernel
	$(BIN)/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root --no-browser)

.PHONY: lint
lint: $(STAMP) ## ruff: lint rules (120-column lines) and formatting, over helpers/, tests/ and the notebooks
	$(BIN)/ruff check helpers tests notebooks
	$(BIN)/ruff format --check helpers tests notebooks

.PHONY: format
format: $(STAMP) ## apply ruff's formatting and safe fixes
	$(BIN)/ruff format helpers tests notebooks
	$(BIN)/ruff check --fix helpers tests notebooks

.PHONY: clean
clean: ## remove generated data and reports (keeps .venv)
	rm -rf data/*/ data/.staging data/.locks reports/*/ reports/.staging
	find . -path ./.venv -prune -o -name __pycache__ -prune -exec rm -rf {} +

.PHONY: distclean
distclean: clean ## also remove .venv
	rm -rf $(VENV)
