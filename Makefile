# Two commands do everything on a fresh machine:  make run   and   make test
# (see README.md). Python 3.12 is chosen by .python-version (pyenv).

PYTHON ?= $(shell command -v python3.12 2>/dev/null || echo python3)
VENV ?= .venv
PY := $(VENV)/bin/python
DEV := CASEWORK_DEVELOPMENT=1

.PHONY: run test venv migrate demo lint clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 12), "Python 3.12+ is required (pyenv install 3.12)"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

migrate: venv
	mkdir -p var
	$(DEV) $(PY) manage.py migrate --verbosity 0

demo: migrate
	$(DEV) $(PY) manage.py load_demo

## make run: environment, database, demo data, and the app on http://127.0.0.1:8000
run: demo
	@echo "Casework: http://127.0.0.1:8000/  (admin: http://127.0.0.1:8000/admin/)"
	@echo "Two-factor sign-in is off for this local demo (CASEWORK_2FA_REQUIRED=0); production requires it."
	$(DEV) DEBUG=1 CASEWORK_2FA_REQUIRED=0 $(PY) manage.py runserver 127.0.0.1:8000

## make test: lint, pip-audit/bandit, the SQLite smoke set, then every test on a throw-away PostgreSQL 15
test: venv
	bin/test

lint: venv
	$(PY) -m ruff check .

clean:
	rm -rf $(VENV) var/*.sqlite3
