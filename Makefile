# Two commands set everything up on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export GRADIO_ANALYTICS_ENABLED := False
export TOKENIZERS_PARALLELISM := false

.PHONY: install lint test run index eval bench chromium clean devcorpus libreoffice ranker

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Debian's Chromium for the browser tests (Playwright cannot download browsers here).
chromium:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium >/dev/null; }

test: $(STAMP) chromium lint
	$(PY) -m pytest -q -n auto --dist loadfile

# The package layers (.importlinter): web and cli above evaluation, above answer, above store, above ingest.
lint: $(STAMP)
	$(BIN)/lint-imports

index: $(STAMP)
	$(BIN)/assistant index

run: $(STAMP)
	$(BIN)/assistant index
	$(BIN)/assistant serve

eval: $(STAMP)
	$(BIN)/assistant index
	$(BIN)/assistant eval --report evals/report.md
	$(BIN)/assistant eval --report evals/report-dev.md --gold evals/dev.jsonl

# Retrain the quote ranker on the development material (writes assistant/answer/ranker.json; tests/test_ranker.py
# fails when the shipped weights differ from what this produces).
ranker: $(STAMP)
	$(BIN)/assistant train-ranker --ablation

bench: $(STAMP)
	$(BIN)/assistant bench

# Development corpus: render evals/devcorpus_src/src/*.md into evals/devcorpus/ (see evals/devcorpus_src/SPEC.md).
# Office PDFs go through LibreOffice, as offices make them.
libreoffice:
	@command -v soffice >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq libreoffice-writer-nogui >/dev/null; }

devcorpus: $(STAMP) libreoffice
	$(PY) evals/devcorpus_src/make_devcorpus.py

clean:
	rm -rf $(VENV) index/* .pytest_cache
