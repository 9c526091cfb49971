# Tally: `make run` starts everything on embedded defaults; `make test` runs lint + tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint format bench audit clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Tally needs Python 3.11 or newer")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

# `make run` and `make bench` run on this machine over plain HTTP (TALLY_DEV: no
# HTTPS redirect, plain cookies), with webhooks to receivers on loopback.
run bench: export TALLY_DEV ?= true
run bench: export TALLY_WEBHOOK_ALLOWED_NETWORKS ?= 127.0.0.0/8,::1/128

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py load_demo
	$(BIN)/python manage.py ensure_staff_user
	$(BIN)/python manage.py create_api_key --name "make run"
	-$(BIN)/python manage.py customer_page_link billing@northwind.example --base-url http://127.0.0.1:$(PORT)
	@echo "Starting web on http://127.0.0.1:$(PORT)/ (dashboard /admin/, API docs /api/docs/), worker and beat. Ctrl-C stops all."
	PORT=$(PORT) $(BIN)/honcho start -f Procfile -p $(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Each pytest process leaves Celery as each test found it (tests/conftest.py
# _celery_state_restored), so tests that swap its broker or kill workers need none
# of their own. The suite runs on PYTEST_WORKERS pytest-xdist workers (2, one per
# core of the CI machine; 0 runs it in one process): each has its own test
# database, TALLY_VAR_DIR and Redis database (the broker URL's and the next;
# tests/conftest.py xdist_worker_env).
PYTEST_WORKERS ?= 2
test: install lint
	$(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

audit: install
	$(BIN)/pip-audit --skip-editable --progress-spinner off

bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var
