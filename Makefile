# Broadsheet: the two commands a new user needs are `make run` and `make test`.
# Each sets itself up (virtual environment, pinned packages, system packages for the browser tests).

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements-dev.txt requirements-sam.txt layers/*/requirements.txt layers/broadsheet/pyproject.toml dev/pyproject.toml | sha256sum | cut -c1-12)

.PHONY: run test test-full checks burst-tier parallel-tier lint typecheck template unit integration e2e build-site sam-build bench clean

run: $(STAMP)  ## Run Broadsheet locally with the sample content at http://127.0.0.1:3000
	$(BIN)/broadsheet local

# The stages of `make test`, each a name and a command: scripts/timed-stages runs them in order
# and prints how long each took at the end (test-artifacts/stage-times.txt), also when one fails.
TEST_STAGES = \
	"parallel tier + checks" "$(MAKE) --no-print-directory -j 2 parallel-tier checks" \
	"browser tier" "$(BIN)/pytest -n 2 --dist loadscope -m 'browser and not full'" \
	"isolated tier" "$(BIN)/pytest -n 2 --dist loadscope -m 'isolated and not full and not burst'" \
	"alone tier (Lighthouse)" "$(BIN)/pytest -m 'alone and not full'"

test: $(STAMP) system-deps  ## Everything CI runs
	scripts/timed-stages $(TEST_STAGES)

# `make test` and then the tests marked `full`: the every-payload sweep with one page per payload
# in Chromium (about 8-18 minutes on two cores), which `make test` covers with packed pages and
# an HTML5 parser instead (docs/testing.md).
test-full: $(STAMP) system-deps  ## make test, then the one-page-per-payload Chromium sweep
	scripts/timed-stages $(TEST_STAGES) "full tier" "$(BIN)/pytest -m full"

# The static checks run beside the first test tier (which waits on the local stacks as much as it
# computes), one at a time. The browser tier follows on two workers of its own (one module each),
# then the modules that start local stacks of their own, two at a time, and last the page-quality
# module on its own: Lighthouse measures performance, which any other load beside it pulls down.
checks: lint typecheck template burst-tier

# The burst test starts a stack of its own and spends most of its minute and a half waiting out
# the holds it checks: it runs after the static checks, beside the parallel tier.
burst-tier: $(STAMP)
	$(BIN)/pytest -m burst

parallel-tier: $(STAMP)
	$(BIN)/pytest -n 2 --dist loadscope --no-loadscope-reorder -m "not isolated and not browser and not alone and not full"

$(STAMP): requirements-dev.txt requirements-sam.txt $(wildcard layers/*/requirements.txt) layers/broadsheet/pyproject.toml dev/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-sam.txt
	$(BIN)/python -m pip install --quiet --no-deps -e layers/broadsheet -e dev
	rm -f $(VENV)/.installed-* && touch $@

system-deps:
	scripts/ensure-system-deps

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy layers/broadsheet/broadsheet dev/broadsheet_dev tests bench
	for fn in functions/*/app.py; do $(BIN)/mypy "$$fn" || exit 1; done

template: $(STAMP)
	scripts/sam-check --build

unit: $(STAMP)
	$(BIN)/pytest tests/unit

integration: $(STAMP)
	$(BIN)/pytest tests/integration -m "not isolated"
	$(BIN)/pytest tests/integration -m isolated

e2e: $(STAMP) system-deps
	$(BIN)/pytest tests/e2e -m "not browser and not alone"
	$(BIN)/pytest tests/e2e -m "browser and not full"
	$(BIN)/pytest tests/e2e -m alone

build-site: $(STAMP)  ## The offline build of the sample content into ./site
	$(BIN)/broadsheet build events/content site

bench: $(STAMP)  ## Full builds against Hugo and Pelican, publishing, Lambda fitness (bench/.work)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .venv-sam .venv-bench .aws-sam site .local .pytest_cache .mypy_cache .ruff_cache
