# commune-ioc: `make demo` shows the nation, `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_ARGS ?=
PYTEST_ARGS ?=
TESTS ?=
# Three processes on two cores: many tests wait on a peer (a server starting, a deadline
# running out), so a third keeps the cores busy (SQLite pass 9 → 7 min); tests that time
# deadlines are marked serial and run alone after.
TEST_WORKERS ?= 3
_and_tests = $(if $(TESTS), and ($(TESTS)))
BENCH_ARGS ?=

.PHONY: install demo test lint bench clean windows-bundle

install: $(STAMP)

# The install says what it does on stderr, so that `make demo DEMO_ARGS="--once --json"`
# prints only JSON on stdout, even on the first run.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) >&2
	@echo "installing commune-ioc into $(VENV)" >&2
	@$(BIN)/python -m pip install --quiet --upgrade pip >&2
	@$(BIN)/python -m pip install --quiet -e '.[dev]' >&2
	@touch $(STAMP)

## The national demo on embedded SQLite (Ctrl-C to stop; DEMO_ARGS=--once to exit after the summary;
## DEMO_ARGS="--once --json": the summary as JSON, alone on stdout).
demo: $(STAMP)
	@$(BIN)/ioc-collector demo $(DEMO_ARGS)

## Unit and integration tests. Integration tests need the Debian peers that .ci/run installs;
## with IOC_REQUIRE_INTEGRATION=1 a missing peer fails instead of skipping. Two steps: every
## test on TEST_WORKERS processes (pytest-xdist), then the tests marked `serial` (they need the
## CPU alone) one at a time. TESTS: a marker expression to run only some ("db": the tests on
## the database under test, what the PostgreSQL pass needs). JUNIT: a path prefix for the
## steps' JUnit XML reports. The serial step runs even when the parallel one failed (make test
## fails at the end); pytest's exit 5 (nothing selected) is not a failure here.
test: $(STAMP)
	status=0; \
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadscope -m "not serial$(_and_tests)" \
		$(if $(JUNIT),--junitxml=$(JUNIT).xml) $(PYTEST_ARGS) || test $$? -eq 5 || status=1; \
	$(BIN)/python -m pytest -q -p no:xdist -m "serial$(_and_tests)" \
		$(if $(JUNIT),--junitxml=$(JUNIT)-serial.xml) $(PYTEST_ARGS) || test $$? -eq 5 || status=1; \
	exit $$status

## Lint: ruff's rules (complexity included), the formatter's check, and mypy.
lint: $(STAMP)
	$(BIN)/ruff check agent collector checks dashboards tests bench
	$(BIN)/ruff format --check agent collector checks dashboards tests bench
	$(BIN)/mypy
	$(BIN)/mypy --platform win32 agent checks

## Benchmarks beside their peers, into docs/BENCHMARKS.md (BENCH_ARGS="--only footprint,drain").
bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

## The offline installer of the agent for Windows commune PCs (needs PyPI once): the agent's
## wheels for CPython 3.11 win_amd64, install.ps1 and uninstall.ps1, in dist/ioc-agent-windows
## and dist/ioc-agent-windows.zip (docs/agent.md, "Offline bundle").
windows-bundle: $(STAMP)
	$(BIN)/python ansible/scripts/windows_bundle.py --out dist/ioc-agent-windows

clean:
	rm -rf $(VENV) .demo .pytest_cache .mypy_cache .ruff_cache *.egg-info
