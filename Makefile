# tweetcare — `make demo` runs the main job on the embedded data, `make test` runs the tests.
# Everything is installed by the targets below: a venv with the locked Python dependencies
# and the JVM jars (Kafka broker, Spark's Kafka connector) resolved from Maven Central.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(abspath $(VENV)/bin)
export PATH := $(BIN):$(PATH)
UV_VERSION := 0.9.30
MVN := mvn -q -B -s jvm/settings.xml
# the browser the console's tests drive (Playwright with Debian's chromium, no browser download)
CHROMIUM := /usr/bin/chromium

.DEFAULT_GOAL := help
.PHONY: help install jars jars-cluster postgres browser data demo demo-cluster bento py-files docs test test-cluster test-faults test-envbuild test-unit test-model lint clean clean-demo clean-tickets clean-users

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

install: $(VENV)/.installed ## create .venv with the locked dependencies

$(VENV)/.installed: pyproject.toml requirements.lock
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q uv==$(UV_VERSION)
	# bytecode compiled once here: where PYTHONDONTWRITEBYTECODE is set nothing else writes it, and
	# every process (tests, the model server, Spark's Python workers) compiled its imports from
	# source: `import pandas` 2.9 s -> 0.4 s, `import mlflow` 7.8 s -> 2.5 s
	$(VENV)/bin/uv pip sync -p $(PY) --compile-bytecode requirements.lock
	$(VENV)/bin/uv pip install -p $(PY) --no-deps -e .
	touch $@

jars: .jars/kafka/.resolved .jars/spark/.resolved ## resolve the Kafka broker and Spark connector jars

.jars/kafka/.resolved: jvm/kafka-broker/pom.xml jvm/settings.xml
	rm -rf .jars/kafka && $(MVN) -f jvm/kafka-broker/pom.xml validate
	touch $@

.jars/spark/.resolved: jvm/spark-kafka/pom.xml jvm/settings.xml
	rm -rf .jars/spark && $(MVN) -f jvm/spark-kafka/pom.xml validate
	touch $@

jars-cluster: .jars/spark-s3/.resolved ## resolve hadoop-aws + the AWS SDK bundle for s3a:// (~600 MB)

.jars/spark-s3/.resolved: jvm/spark-s3/pom.xml jvm/settings.xml
	rm -rf .jars/spark-s3 && $(MVN) -f jvm/spark-s3/pom.xml validate
	touch $@

postgres: ## install Debian's PostgreSQL server (initdb, pg_ctl) for the local cluster
	if command -v pg_ctl >/dev/null || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then :; else \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q postgresql || \
	  { $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q postgresql; }; \
	fi

browser: $(CHROMIUM) ## install Debian's chromium for the console's browser tests

$(CHROMIUM):
	if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium || \
	  { $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium; }

data: install ## generate the default synthetic tweets into data/ (checked against data.dvc)
	$(VENV)/bin/tweetcare data generate
	$(VENV)/bin/tweetcare data check

demo: install jars ## the main job: data, dvc repro, Kafka, BentoML, Spark, replay, summary
	$(VENV)/bin/tweetcare demo

bento: install requirements-serving.lock ## package the model server as a Bento (bentofile.yaml)
	$(VENV)/bin/bentoml build

# the model server's lock, which the Bento installs: the `serving` extra at requirements.lock's
# pins (no PyTorch, Spark, DVC, console or test tools)
requirements-serving.lock: pyproject.toml requirements.lock | $(VENV)/.installed
	$(VENV)/bin/uv pip compile pyproject.toml --extra serving -p 3.11 --generate-hashes \
	  -c requirements.lock -o $@

# the project's wheel, a zip Python imports from: `spark-submit --py-files dist/tweetcare.zip`
# puts it on the executors' path, so on a real cluster they import tweetcare and streaming
PY_FILES := dist/tweetcare.zip
py-files: $(PY_FILES) ## build dist/tweetcare.zip (the project's wheel) for spark-submit --py-files

# setuptools stages the wheel in build/ and never deletes what it staged before: a module
# renamed since (say, a ticket migration) would ship twice, so the staging goes first
$(PY_FILES): pyproject.toml $(shell find tweetcare streaming -name '*.py') | $(VENV)/.installed
	rm -rf dist/wheel build && $(VENV)/bin/uv build -q --wheel --out-dir dist/wheel
	cp dist/wheel/tweetcare-*.whl $@

# the same demo on a local Spark standalone + 3-broker Kafka + S3 + Postgres + MLflow topology,
# pointed at it by settings alone (`tweetcare cluster env`); the topology stops afterwards
demo-cluster: install jars jars-cluster postgres ## the demo on a local production-shaped cluster
	$(VENV)/bin/tweetcare cluster start --fresh
	( eval "$$($(VENV)/bin/tweetcare cluster env)" && $(VENV)/bin/tweetcare demo ); \
	  rc=$$?; $(VENV)/bin/tweetcare cluster stop; exit $$rc

test: install jars jars-cluster postgres browser ## lint, import contracts, the docs (mkdocs --strict), unit, integration and cluster tests
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mkdocs build --strict
	$(PY) -m pytest

docs: install ## build the documentation site into site/ (references generated from the code)
	$(VENV)/bin/mkdocs build --strict

test-cluster: install jars jars-cluster postgres ## the tests on the local production-shaped cluster
	$(PY) -m pytest -m cluster

test-faults: install jars ## the fault tests: kill the stream, stop the model server, restart Kafka
	$(PY) -m pytest -m faults

# `mlflow run . -e main` with MLflow's default environment manager, from a fresh clone: pyenv's
# Python 3.11.7 and pip building python_env.yaml's environment from requirements.lock
test-envbuild: install ## `mlflow run .` building its environment from the lock (9-21 min, ~10 GB)
	$(PY) -m pytest -m envbuild

test-unit: install ## only the fast unit tests
	$(PY) -m pytest tests/unit

# the registry the champions come from: the project's own (`dvc repro` / `make demo` train it),
# or TRACKING_URI=sqlite:////abs/path/mlflow.db
TRACKING_URI ?= sqlite:///$(CURDIR)/mlflow.db
test-model: install ## behavioural tests on the @champion models of TRACKING_URI
	$(PY) -m pytest tests/model -m model --tracking-uri $(TRACKING_URI)

lint: install ## ruff check and format check
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

# what each clean target deletes; none touches .venv, .jars, the pipeline's outputs (artifacts/,
# mlflow.db, the git-tracked metrics/, plots/, reports/) or the state of the default services
BUILD_OUTPUTS := site build dist .pytest_cache .ruff_cache
DEMO_STATE := .tweetcare/demo
TICKET_STORE := tickets.db tickets.db-wal tickets.db-shm
CONSOLE_USERS := .tweetcare/users.yaml

clean: ## remove build outputs only (the docs site, build/, dist/, caches); no data, no state
	rm -rf $(BUILD_OUTPUTS)
	find . -path ./.venv -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

clean-demo: ## stop the demo's services; delete its state (.tweetcare/demo) and the local cluster's (demo-cluster)
	@echo "deleting the demo's state: $(DEMO_STATE) (its broker, lake, tickets, logs) and the local cluster (.tweetcare/cluster and its PostgreSQL files)"
	-TWEETCARE_STATE_DIR=$(DEMO_STATE) $(VENV)/bin/tweetcare stream stop; \
	  TWEETCARE_STATE_DIR=$(DEMO_STATE) $(VENV)/bin/tweetcare serve stop; \
	  TWEETCARE_STATE_DIR=$(DEMO_STATE) $(VENV)/bin/tweetcare kafka stop; \
	  $(VENV)/bin/tweetcare cluster stop --delete
	rm -rf $(DEMO_STATE)

clean-tickets: ## DELETES the ticket store tickets.db: every ticket, reply, correction and audit entry
	@echo "deleting the ticket store: $(TICKET_STORE) (every ticket, reply, correction and audit entry)"
	-$(VENV)/bin/tweetcare stream stop
	rm -f $(TICKET_STORE)

clean-users: ## DELETES the console's agents: their logins, roles and the cookie key (.tweetcare/users.yaml)
	@echo "deleting the console's agents: $(CONSOLE_USERS) (logins, roles, the cookie key)"
	rm -f $(CONSOLE_USERS)
