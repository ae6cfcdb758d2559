PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA_DIR ?= $(or $(GRIDSYNC_DATA_DIR),./gridsync-data)

.PHONY: serve test install dev sim bench clean

$(BIN)/gridsync: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev: $(BIN)/gridsync
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/gridsync

dev: $(VENV)/.dev

serve: $(BIN)/gridsync
	$(BIN)/gridsync init --data-dir $(DATA_DIR) --if-needed
	$(BIN)/gridsync serve --data-dir $(DATA_DIR) --host 127.0.0.1 --port 8000

test: $(VENV)/.dev
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) build *.egg-info
