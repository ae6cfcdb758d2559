PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA_DIR ?= $(or $(GRIDSYNC_DATA_DIR),./gridsync-data)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: serve test test-pg lint lock install dev sim bench clean browser postgres nginx translations

# Installs come from the lock files (requirements/*.txt, made by `make lock` from
# pyproject.toml): what is deployed and tested is exactly what was locked.
$(BIN)/gridsync: pyproject.toml requirements/server.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements/server.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.dev: $(BIN)/gridsync requirements/dev.txt
	$(BIN)/pip install --quiet -r requirements/dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

install: $(BIN)/gridsync

dev: $(VENV)/.dev

serve: $(BIN)/gridsync
	$(BIN)/gridsync init --data-dir $(DATA_DIR) --if-needed
	$(BIN)/gridsync serve --data-dir $(DATA_DIR) --host $(HOST) --port $(PORT)

test: $(VENV)/.dev browser postgres nginx
	$(BIN)/python -m pytest -q

# The whole suite again with PostgreSQL behind every test (a fresh database each, on
# GRIDSYNC_TEST_DATABASE_URL's server or a throwaway cluster); SQLite-only tests skip.
test-pg: $(VENV)/.dev browser postgres nginx
	GRIDSYNC_TEST_BACKEND=postgresql $(BIN)/python -m pytest -q

# ruff (style, imports, bugbear) and mypy (types; settings in pyproject.toml).
lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/mypy

# Re-lock after changing dependencies in pyproject.toml (keeps current pins where it can;
# `make lock UPGRADE=1` moves every pin to the newest allowed release).
lock: $(VENV)/.dev
	$(BIN)/pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml -q --python-version 3.11 --no-annotate --custom-compile-command "make lock" $(if $(UPGRADE),--upgrade) -o requirements/server.txt
	$(BIN)/uv pip compile pyproject.toml -q --python-version 3.11 --no-annotate --custom-compile-command "make lock" $(if $(UPGRADE),--upgrade) --extra dev -o requirements/dev.txt

# Debian's chromium (plus a CJK font for the screenshots) for the browser tests in
# tests/web/; installed when running as root, otherwise those tests skip and say why.
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && (apt-get update && apt-get install -y chromium fonts-wqy-microhei) || echo "chromium not installed: browser tests will be skipped"; }

# PostgreSQL server binaries for the PostgreSQL half of the suite (tests/pg_support.py starts a
# throwaway cluster with them unless GRIDSYNC_TEST_DATABASE_URL is set); installed when
# running as root, otherwise those tests skip and say why.
postgres:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || command -v pg_ctl >/dev/null || [ -n "$$GRIDSYNC_TEST_DATABASE_URL" ] || { [ "$$(id -u)" = 0 ] && (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql) || echo "PostgreSQL not installed: the PostgreSQL tests will be skipped"; }

# Debian's nginx, for tests/server/test_nginx_deploy.py (runs deploy/*nginx.conf as
# written); installed when running as root (not started: the test runs its own),
# otherwise that test skips and says why.
nginx:
	@command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { [ "$$(id -u)" = 0 ] && (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y nginx-light) || echo "nginx not installed: the nginx config test will be skipped"; }

# Web page strings: extract, merge into the zh_CN catalog, compile (the .mo is committed).
translations: $(VENV)/.dev
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output --project gridsync -o server/translations/messages.pot .
	$(BIN)/pybabel update -i server/translations/messages.pot -d server/translations -D messages -l zh_Hans_CN --no-fuzzy-matching --ignore-obsolete -w 100
	$(BIN)/pybabel compile -d server/translations -D messages --statistics

# Benchmarks (bench/run.py): every figure against its bound, table printed and written to
# bench/results/latest.json. QUICK=1 runs reduced sizes (under 3 minutes).
bench: $(VENV)/.dev
	$(BIN)/python bench/run.py $(if $(filter-out 0,$(QUICK)),--quick)

# Seeded multi-device simulation with a faulty network (tests/sim/driver.py); every
# invariant of docs/design.md checked after the run. SEEDS=n runs seeds SEED..SEED+n-1.
SEED ?= 1
SEEDS ?= 1
STEPS ?= 300
DEVICES ?= 6
sim: $(VENV)/.dev
	$(BIN)/python tests/sim/driver.py --seed $(SEED) --seeds $(SEEDS) --steps $(STEPS) --devices $(DEVICES)

clean:
	rm -rf $(VENV) build *.egg-info
