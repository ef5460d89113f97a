# The two commands of the README: `make run` and `make test`.
# Each creates .venv when missing and installs the project into it.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint typecheck audit install install-dev worker beat constraints clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# The local settings file (git-ignored; the environment wins over it): a
# generated SECRET_KEY, so that `manage.py` commands run in any shell.
.env:
	@printf '# Written by make run: local settings, read by config/env.py.\nSECRET_KEY=%s\n' \
		"$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))')" > $@

# Local development server on the embedded default (SQLite, eager tasks)
# unless DATABASE_URL / CELERY_BROKER_URL say otherwise. Another port:
# `make run PORT=8001`. It ends with the address and the demo logins.
run: install .env
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --noinput
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py collectstatic --noinput --verbosity 0
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py seed_demo --if-empty
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py runserver $(HOST):$(PORT)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	@# bandit's findings and figures go to stdout. Its log (stderr) is shown only when it fails:
	@# it also warns "nosec encountered ... no failed test" for every nosec on a
	@# statement that spans lines, noise of its own.
	$(BIN)/bandit -c pyproject.toml -r . 2>$(VENV)/bandit.log \
		|| { grep -v 'nosec encountered' $(VENV)/bandit.log; exit 1; }

# pip-audit on the installed dependencies (needs PyPI's JSON API; docs/security.md).
audit: install-dev
	.ci/audit-dependencies

typecheck: install-dev
	$(BIN)/mypy .

test: lint typecheck
	DEBUG=0 SECRET_KEY=makemigrations-check $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest

# With CELERY_BROKER_URL set: a worker and the beat scheduler.
worker: install
	$(BIN)/celery -A config worker --loglevel=INFO

beat: install
	$(BIN)/celery -A config beat --loglevel=INFO

# Re-pin the tested dependency versions after changing pyproject.toml.
constraints: install-dev
	$(BIN)/pip freeze --exclude-editable | grep -v '^-e ' > constraints.txt

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .mypy_cache .ruff_cache
