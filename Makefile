# The two Quickstart commands: `make demo` and `make test`. Everything else is a step of those.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: demo test install install-test system-packages lint bench production

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

## Install, create the demo shop (idempotent), print the demo logins, and serve it on http://$(HOST):$(PORT)
# The demo's modules send to the embedded sandboxes on this very server, so both steps must know its address
# (the server allows that one loopback host:port for delivery).
demo: export FLASK_PIXELPLUS_DEMO_GRAPH_URL = http://$(HOST):$(PORT)/sandbox/graph
demo: install
	$(FLASK) shop init-demo
	@echo "Back office: http://$(HOST):$(PORT)/admin   Storefront: http://$(HOST):$(PORT)/   Sandboxes: http://$(HOST):$(PORT)/sandbox/"
	$(FLASK) run --host $(HOST) --port $(PORT)

## Chromium for the browser tests and PostgreSQL for the second delivery pass (needs root and apt-get)
system-packages:
	@bash scripts/system-packages.sh

## Install everything and run the whole suite (lint first)
test: install-test system-packages
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install-test
	$(BIN)/python -m tests.bench

## The production topology: PostgreSQL, gunicorn (2 web workers), 2 delivery workers (scripts/production.sh)
production: install
	$(BIN)/python -m pip install -q -e '.[postgres]'
	bash scripts/production.sh
