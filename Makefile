# Saldo: the two commands that matter are `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
SAM_VENV := .venv-sam
PY := $(VENV)/bin/python
SAM := $(SAM_VENV)/bin/sam
PORT ?= 3000
export SAM_CLI_TELEMETRY := 0

.PHONY: install run test lint format pytest template-check build bench fuzz clean

$(VENV)/.installed: pyproject.toml requirements/dev.txt layers/saldo/requirements.txt layers/saldo/requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r layers/saldo/requirements.lock
	$(VENV)/bin/pip install --quiet -r requirements/dev.txt -e .
	touch $@

$(SAM_VENV)/.installed: requirements/sam.txt
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/pip install --quiet -r requirements/sam.txt
	touch $@

# .venv-sam too: the IAM test translates the template with its aws-sam-translator.
install: $(VENV)/.installed $(SAM_VENV)/.installed

## Start the local stack (moto in-process) with the demo organization and ledger on 127.0.0.1:$(PORT).
run: $(VENV)/.installed
	$(PY) -m saldo_tools.localstack serve --port $(PORT)

## Lint, unit + handler + end-to-end tests, template checks.
test: install $(SAM_VENV)/.installed lint pytest template-check

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

pytest: install
	$(VENV)/bin/pytest -q

template-check: install $(SAM_VENV)/.installed
	$(VENV)/bin/cfn-lint template.yaml
	$(SAM) validate --lint --template template.yaml --region eu-north-1

## Build the deployable artefacts without Docker (needs python3.11 on PATH).
build: $(SAM_VENV)/.installed
	$(SAM) build --template template.yaml

## The property-based run over the OpenAPI document, longer than the one in `make test` (docs/API.md).
FUZZ_EXAMPLES ?= 50
FUZZ_PHASES ?= examples,coverage,fuzzing,stateful
fuzz: install
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_PHASES=$(FUZZ_PHASES) FUZZ_TIMEOUT=3600 \
		$(VENV)/bin/pytest -q -p no:cacheprovider tests/test_fuzz.py

## Benchmarks, not part of `make test` (about 15 min; BENCH_QUICK=1: 100k postings only): docs/BENCHMARKS.md.
bench: install
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .pytest_cache .ruff_cache
