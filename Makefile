# Prepaid utilities suite for Odoo 18. See README.md.
.PHONY: setup run test bench lint format

VENV ?= $(or $(PREPAID_HOME),$(or $(XDG_DATA_HOME),$(HOME)/.local/share)/prepaid-utilities)/venv

setup:
	@bash scripts/setup.sh

run:
	@bash scripts/run.sh

test:
	@bash scripts/test.sh

bench:
	@bash scripts/bench.sh

lint:
	@$(VENV)/bin/ruff check addons tests scripts

format:
	@$(VENV)/bin/ruff format addons tests scripts
	@$(VENV)/bin/ruff check --fix addons tests scripts
