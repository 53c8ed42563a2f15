# Two commands for a new user: `make run` (the whole suite) and `make test` (the tests).
# Each installs what it needs into .venv first. Nothing else is assumed but python3 (3.11+).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# The CPU build; on a GPU machine set TORCH_SPEC to the CUDA build you want.
TORCH_SPEC ?= torch==2.13.0
STAMP  := $(VENV)/.installed
BUF    := node_modules/.bin/buf

WEB_NODE := web/node_modules/.installed
WEB_BUILT := web/dist/index.html
WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) web/index.html web/vite.config.ts web/tsconfig.json web/package.json

.PHONY: install run test test-fast protos api-types web lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q "$(TORCH_SPEC)"
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The Ray backend's extra, for the tests marked `ray` (a real cluster in a network namespace).
RAY_STAMP := $(VENV)/.ray-installed
$(RAY_STAMP): $(STAMP)
	$(BIN)/pip install -q -e '.[ray]'
	touch $(RAY_STAMP)

$(BUF): package.json
	npm install --no-audit --no-fund --silent
	touch $(BUF)

third_party/googleapis/google/api/annotations.proto: $(STAMP)
	$(BIN)/python tools/vendor_googleapis.py

# The dashboard: `npm ci` from the committed lock file, then the build, each only when its inputs changed.
$(WEB_NODE): web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $(WEB_NODE)

$(WEB_BUILT): $(WEB_NODE) $(WEB_SOURCES)
	cd web && npm run build --silent

## build the web dashboard into web/dist (the gateway serves it at / on every port)
web: $(WEB_BUILT)

## run every service, the gateway and the dashboard on SQLite and local files under ./data
run: install web
	FINETUNE_CATALOG_BUILD_PRETRAINED=$${FINETUNE_CATALOG_BUILD_PRETRAINED:-1} $(BIN)/python -m services.launcher

## the whole test suite (also what CI runs): the dashboard's unit tests, then pytest (browser tests included)
test: install $(RAY_STAMP) web $(BUF) third_party/googleapis/google/api/annotations.proto
	cd web && npx vitest run
	$(BIN)/python -m pytest

## regenerate web/openapi.json and the dashboard's API types from the gateway's own /openapi.json
api-types: install $(WEB_NODE)
	$(BIN)/python tools/gen_openapi.py

## regenerate the Python stubs from protos/ (then `make api-types` for the dashboard's)
protos: install
	$(BIN)/python tools/gen_protos.py

lint: $(BUF) third_party/googleapis/google/api/annotations.proto
	$(BUF) lint

bench: install
	$(BIN)/pip install -q -e '.[bench]'
	for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) node_modules web/node_modules web/dist third_party build *.egg-info test-output
