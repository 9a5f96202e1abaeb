# Two commands on a fresh machine:
#   make demo   installs shopdesk and runs it on its built-in defaults (http://127.0.0.1:8000)
#   make test   installs what the tests need (dev packages, Debian's chromium) and runs them all

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test install install-dev chromium bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

chromium:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

demo: install
	$(BIN)/shopdesk serve

test: install chromium
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python bench/widget_weight.py
	$(BIN)/python bench/understanding_speed.py
	$(BIN)/python bench/many_shoppers.py
	$(BIN)/python bench/idle_connections.py

clean:
	rm -rf $(VENV) data
