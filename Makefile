# imkit: the two commands are `make lab` and `make test`.
#
#   make lab     JupyterLab on notebooks/ (IMKIT_LAB_IP, IMKIT_LAB_PORT override
#                127.0.0.1:8888)
#   make test    every test (ARGS="tests/sip -k digest" to narrow; --slow for soaks)
#
# Both first install the Debian packages the project uses when missing
# (scripts/system_deps.sh) and create .venv with imkit[test,lab] when
# pyproject.toml changed (scripts/bootstrap_venv.sh, stamp .venv/.imkit-installed).

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV ?= .venv
STAMP := $(VENV)/.imkit-installed
IMKIT_LAB_IP ?= 127.0.0.1
IMKIT_LAB_PORT ?= 8888
ARGS ?=

# root needs --allow-root; open a browser only where there is a display
LAB_FLAGS := $(if $(filter 0,$(shell id -u)),--allow-root) \
             $(if $(DISPLAY)$(WAYLAND_DISPLAY),,--no-browser)

.PHONY: help lab test venv system-deps strip-notebooks clean distclean

help:
	@echo "make lab              JupyterLab on notebooks/ at $(IMKIT_LAB_IP):$(IMKIT_LAB_PORT)"
	@echo "make test             run every test (ARGS=... passes pytest arguments)"
	@echo "make venv             create/refresh .venv only"
	@echo "make system-deps      install the Debian packages only"
	@echo "make strip-notebooks  remove outputs from notebooks/*.ipynb"
	@echo "make clean            remove caches; make distclean also removes .venv"

system-deps:
	@bash scripts/system_deps.sh

$(STAMP): pyproject.toml scripts/bootstrap_venv.sh
	@VENV=$(VENV) bash scripts/bootstrap_venv.sh

venv: $(STAMP)

test: system-deps $(STAMP)
	@VENV=$(VENV) bash scripts/run_tests.sh $(ARGS)

lab: system-deps $(STAMP)
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks --ip=$(IMKIT_LAB_IP) --port=$(IMKIT_LAB_PORT) $(strip $(LAB_FLAGS))

strip-notebooks: $(STAMP)
	@shopt -s nullglob globstar; $(VENV)/bin/python scripts/strip_notebooks.py notebooks/**/*.ipynb

clean:
	rm -rf .pytest_cache .hypothesis build dist
	find . \( -path './.venv*' -o -path ./.git \) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
