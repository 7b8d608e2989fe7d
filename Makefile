# Two commands set up a fresh machine: `make run` serves the demo, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed-requirements
# Tests run with DEBUG off, as in production; this key is only for the test run.
# Connections closed after each use, so the test database can be dropped when async tests leave threads behind.
TEST_ENV := SECRET_KEY=test-only-secret-key DEBUG=0 DB_CONN_MAX_AGE=0

.PHONY: run test lint venv system-deps migrate

$(INSTALLED): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(INSTALLED)

venv: $(INSTALLED)

# Debian packages the browser tests and the scale-out test (nginx in front of the site, deploy/) need;
# installed only when missing.
system-deps:
	@{ command -v chromium >/dev/null 2>&1 && test -x /usr/sbin/nginx; } || { \
		SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
		$$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends chromium fonts-dejavu-core nginx; }

migrate: $(INSTALLED)
	DEBUG=1 $(PY) manage.py migrate --noinput

# The media analysis worker runs beside the web server and stops with it. `make run ADDRESS=127.0.0.1:9000`
# serves elsewhere; the demo's printed links follow. The server is `manage.py serve`, Daphne with the
# capture protocol's websocket message limit (runserver keeps Daphne's 1 MiB, which drops large frames);
# Daphne takes the host and the port apart.
ADDRESS ?= 127.0.0.1:8000
PORT_OF_ADDRESS = $(lastword $(subst :, ,$(ADDRESS)))
HOST_OF_ADDRESS = $(patsubst %:$(PORT_OF_ADDRESS),%,$(ADDRESS))
run: migrate
	DEBUG=1 $(PY) manage.py load_demo --base-url http://$(ADDRESS)
	DEBUG=1 $(PY) manage.py media_worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	DEBUG=1 $(PY) manage.py serve -b $(HOST_OF_ADDRESS) -p $(PORT_OF_ADDRESS)

test: $(INSTALLED) system-deps
	$(TEST_ENV) $(PY) manage.py makemigrations --check --dry-run
	$(TEST_ENV) $(PY) manage.py migrate --noinput
	$(TEST_ENV) $(PY) -m pytest

# Style, types (pyproject.toml's [tool.mypy] files) and the layering contracts (.importlinter).
lint: $(INSTALLED)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(VENV)/bin/lint-imports
