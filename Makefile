# Docent: `make run` serves the app with demo data; `make test` runs the whole suite.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements/base.txt requirements/dev.txt | sha256sum | cut -c1-12)
export DJANGO_SETTINGS_MODULE ?= config.settings.dev

.PHONY: help install run test lint typecheck format check migrate superuser worker bench-ingest bench-search bench-chat bench-auth bench-login bench-relevance bench-analytics eval clean stop-db

help:
	@echo "make run        serve Docent on http://127.0.0.1:8000 with demo data (embedded PostgreSQL, no setup)"
	@echo "make test       run the whole test suite"
	@echo "make lint       ruff + mypy + import layering (lint-imports)"
	@echo "make bench-*    benchmarks (ingest, search, chat, auth, analytics); make eval DATASET=dir"

$(STAMP): requirements/base.txt requirements/dev.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/dev.txt
	@rm -f $(VENV)/.installed-*; touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) scripts/run.py

test: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DJANGO_SETTINGS_MODULE=config.settings.test $(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

check: lint test

migrate: $(STAMP)
	$(PY) manage.py migrate

worker: $(STAMP)
	$(VENV)/bin/celery -A config worker -B -l info

bench-ingest: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) scripts/bench_ingest.py

bench-search: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) scripts/bench_search.py

bench-chat: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) scripts/bench_chat.py

bench-auth: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) scripts/bench_auth.py

bench-analytics: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) scripts/bench_analytics.py

bench-login: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) scripts/bench_login.py

DATASET ?= ../shared/datasets/cranfield
eval: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) scripts/eval_retrieval.py $(DATASET)

bench-relevance: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) scripts/bench_relevance.py $(DATASET)

stop-db: $(STAMP)
	$(PY) -c "from config.embedded import embedded_postgres_stop; embedded_postgres_stop()"

clean: stop-db
	rm -rf var/
