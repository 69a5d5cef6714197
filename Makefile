# The two commands a new user needs: `make demo` and `make test`. Both are idempotent.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000

.PHONY: demo test check focus-check install install-test chromium port-free clean

demo: port-free install  ## install into .venv, migrate, load curriculum and demo data, run web+worker+beat
	$(BIN)/python manage.py demo --port $(PORT)

# pytest-xdist workers: one per CPU. Each gets its own test database, broker, media folder
# (config/settings/test.py). `make test PYTEST_WORKERS=0` runs in one process.
PYTEST_WORKERS ?= auto

test: install-test chromium  ## install test dependencies and run the whole suite, in parallel
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist worksteal

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

port-free:  ## fail early, before installing anything, when the demo's port is taken
	@$(PYTHON) -c "import socket,sys; s=socket.socket(); sys.exit(0 if s.connect_ex(('127.0.0.1', $(PORT))) else 'Port $(PORT) on 127.0.0.1 is already in use: stop what listens there, or run: make demo PORT=8001')"

chromium:  ## Debian's chromium for the browser tests (no browser downloads are possible)
	@command -v chromium >/dev/null 2>&1 && command -v pdftoppm >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium (browser tests) and poppler-utils (PDF tests)..."; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium poppler-utils libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0; }

check: install-test  ## lint and types
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy config metrics portal curriculum bot

focus-check: install  ## FOCUS export of every billing sample through the official focus-validator
	bash .ci/checks/focus_validator.sh

clean:
	rm -rf var/test.sqlite3* var/test-broker*.sqlite3 var/test-media*
