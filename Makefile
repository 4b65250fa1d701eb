# Lathe: `make run` to try it, `make test` to check it. Every target sets up what it needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_BIN ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RUN_DIR := .run
KAFKA_LIBS := $(RUN_DIR)/kafka/libs
PACKAGES := libs/common libs/contracts services/auth services/production services/orders services/analytics gateway
PYPROJECTS := $(addsuffix /pyproject.toml,$(PACKAGES))
STACK := $(PY) deploy/local/stack.py

.PHONY: help deps up down run test bench mutation lint status logs clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

# command-or-file:debian-package pairs; only what is missing gets installed
SYSTEM_NEEDS := /usr/lib/postgresql/*/bin/postgres:postgresql redis-server:redis-server kcat:kcat java:default-jre-headless mvn:maven wrk:wrk chromium:chromium prometheus:prometheus pdftoppm:poppler-utils zbarimg:zbar-tools
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

$(RUN_DIR)/.system-deps: Makefile
	@missing=""; for need in $(SYSTEM_NEEDS); do what=$${need%%:*}; pkg=$${need##*:}; \
	  { command -v $$what >/dev/null || ls $$what >/dev/null 2>&1; } || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then echo "installing system packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
	    --no-install-recommends $$missing >/dev/null || exit 1; fi
	@# Debian may start a cluster, a redis and a Prometheus of its own on the default ports; the stack runs private ones.
	@-{ service redis-server stop; service postgresql stop; service prometheus stop; } >/dev/null 2>&1 || true
	@mkdir -p $(RUN_DIR) && touch $@

$(VENV)/.installed: $(PYPROJECTS) requirements-dev.txt constraints.txt
	@test -x $(PY) || $(PYTHON_BIN) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) -m pip install -q -c constraints.txt -r requirements-dev.txt $(addprefix -e ,$(PACKAGES))
	@touch $@

$(KAFKA_LIBS)/.resolved: deploy/local/kafka/pom.xml
	@echo "resolving Apache Kafka from Maven Central"
	@rm -rf $(KAFKA_LIBS) && mkdir -p $(KAFKA_LIBS)
	@mvn -q -B -f deploy/local/kafka/pom.xml dependency:copy-dependencies \
	  -DoutputDirectory=$(abspath $(KAFKA_LIBS)) -DincludeScope=runtime
	@touch $@

deps: $(RUN_DIR)/.system-deps $(VENV)/.installed $(KAFKA_LIBS)/.resolved ## install everything the stack needs

up: deps ## start the stack and all apps in the background; returns when every /health/ready answers
	@$(STACK) up

down: ## stop exactly what `make up` started
	@test -x $(PY) && $(STACK) down || true

status: ## what is running
	@$(STACK) status

logs: ## follow every process's log
	@$(STACK) logs

run: up ## set up, start, load demo data, print the URLs and follow the logs; Ctrl-C stops it all
	@$(PY) deploy/local/demo.py
	@trap '$(STACK) down' INT TERM; $(STACK) logs & wait

test: deps ## run every test against real PostgreSQL, Kafka and Redis
	@started=0; if ! $(STACK) status | grep -q RUNNING; then started=1; fi; \
	$(STACK) up || { $(STACK) down; exit 1; }; \
	set -a; source $(RUN_DIR)/stack.env; set +a; \
	$(PY) -m pytest; rc=$$?; \
	if [ $$started = 1 ] && [ -z "$$LATHE_KEEP_STACK" ]; then $(STACK) down; fi; exit $$rc

bench: up ## run the benchmarks; prints a table and writes JSON under .run/bench/
	@set -a; source $(RUN_DIR)/stack.env; set +a; $(PY) -m benchmarks

mutation: $(VENV)/.installed ## mutation-test the pure rules with their unit tests; prints the share killed (goal 90 %)
	@$(PY) deploy/local/mutation.py

lint: deps ## static checks
	@$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

clean: down ## remove the virtualenv and every piece of local state
	rm -rf $(VENV) $(RUN_DIR)
