# Two commands for a new user: `make run` (the whole suite) and `make test` (the tests).
# Each installs what it needs into .venv first. Nothing else is assumed but python3 (3.11+).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# The CPU build; on a GPU machine set TORCH_SPEC to the CUDA build you want.
TORCH_SPEC ?= torch==2.13.0
STAMP  := $(VENV)/.installed
BUF    := node_modules/.bin/buf

.PHONY: install run test test-fast protos lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q "$(TORCH_SPEC)"
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

$(BUF): package.json
	npm install --no-audit --no-fund --silent
	touch $(BUF)

third_party/googleapis/google/api/annotations.proto: $(STAMP)
	$(BIN)/python tools/vendor_googleapis.py

## run every service and the gateway on SQLite and local files under ./data
run: install
	$(BIN)/python -m services.launcher

## the whole test suite (also what CI runs)
test: install $(BUF) third_party/googleapis/google/api/annotations.proto
	$(BIN)/python -m pytest

## regenerate the Python stubs from protos/
protos: install
	$(BIN)/python tools/gen_protos.py

lint: $(BUF) third_party/googleapis/google/api/annotations.proto
	$(BUF) lint

bench: install
	for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) node_modules third_party build *.egg-info
