# qauipsiz — the two set-up commands are `make run` and `make test`.
SHELL   := /bin/bash
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
DEMO    ?= data/demo/astana
OUT     ?= out
STAMP   := $(VENV)/.installed

.PHONY: run test bench lint demo pipeline clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

$(DEMO)/metadata.json: | $(STAMP)
	$(BIN)/qauipsiz demo --out $(DEMO)

demo: $(STAMP) $(DEMO)/metadata.json

KEYFILE ?= var/demo-admin.key

## run: install, build the demo city if missing, run the analysis pipeline, then serve the dashboard
run: demo
	$(BIN)/qauipsiz pipeline --city astana --demo $(DEMO) --out $(OUT)
	test -s $(KEYFILE) || $(BIN)/qauipsiz keys create admin --label "make run (local demo)" --save $(KEYFILE) >/dev/null
	@echo "Dashboard sign-in key (admin, local demo): $$(cat $(KEYFILE))  — stored in $(KEYFILE)"
	$(BIN)/qauipsiz serve --city astana --host 127.0.0.1 --port 8000 --workers 2

## pipeline: the analysis job alone (what `make run` does before serving)
pipeline: demo
	$(BIN)/qauipsiz pipeline --city astana --demo $(DEMO) --out $(OUT)

## test: install and run the whole test suite
test: $(STAMP)
	$(BIN)/python -m pytest -q tests

## bench: every benchmark against its peer, then bench/README.md regenerated from their output
BENCH_ARGS ?=
bench: demo
	mkdir -p bench/out
	set -o pipefail; failed=; for b in bench/[a-z]*.py; do n=$$(basename $$b .py); [ $$n = report ] && continue; \
	  echo "== $$b"; $(BIN)/python -u $$b $(BENCH_ARGS) 2>&1 | tee bench/out/$$n.txt || failed="$$failed $$n"; done; \
	$(BIN)/python bench/report.py; \
	if [ -n "$$failed" ]; then echo "bench: failed or missed a target:$$failed"; exit 1; fi

## lint: ruff, then mypy (hotspot, cpted) and import-linter over the installed layout (tools/lint_farm.py)
lint: $(STAMP)
	$(BIN)/ruff check qauipsiz hotspot cpted maps api tests bench tools
	$(BIN)/python tools/lint_farm.py mypy imports

clean:
	rm -rf $(OUT) .pytest_cache
