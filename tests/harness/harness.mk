# Offline AWS test harness: `include tests/harness/harness.mk` from the root Makefile.
#
#   make venv         .venv with moto, cargo-lambda, cfn-lint, boto3, cbor2, pytest (pinned in requirements.txt)
#   make local-up     moto + cargo lambda watch + proxy; clients use http://127.0.0.1:$(SHIFTER_PORT)
#   make local-status what is running (exit 1 if not all of it)
#   make local-down   stop everything by the PIDs in .local/run/*.pid
#
# e2e tests against a running stack:  .venv/bin/pytest tests/e2e
# Serve another cargo workspace (e.g. a throwaway trial):  make local-up SHIFTER_WORKSPACE=/tmp/trial

HARNESS_DIR := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
HARNESS_ROOT := $(abspath $(HARNESS_DIR)/../..)

SHIFTER_PORT ?= 5555
MOTO_INTERNAL_PORT ?= 5556
WATCH_PORT ?= 5557
SHIFTER_WORKSPACE ?= $(HARNESS_ROOT)
HARNESS_PYTHON ?= python3
VENV ?= $(HARNESS_ROOT)/.venv
# Extra flags for harness.py up, e.g. HARNESS_UP_FLAGS=--no-build
HARNESS_UP_FLAGS ?=

HARNESS_ARGS = --root $(HARNESS_ROOT) --venv $(VENV) --port $(SHIFTER_PORT) \
	--moto-port $(MOTO_INTERNAL_PORT) --watch-port $(WATCH_PORT)

.PHONY: venv local-up local-down local-status

venv: $(VENV)/.stamp

# Rebuilt only when requirements.txt changes (or the venv is gone).
$(VENV)/.stamp: $(HARNESS_DIR)/requirements.txt
	@test -x $(VENV)/bin/python || $(HARNESS_PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r $<
	@touch $@

local-up: venv
	$(VENV)/bin/python $(HARNESS_DIR)/harness.py up $(HARNESS_ARGS) --workspace $(SHIFTER_WORKSPACE) $(HARNESS_UP_FLAGS)

# Stdlib only: works without the venv.
local-down:
	@$(HARNESS_PYTHON) $(HARNESS_DIR)/harness.py down $(HARNESS_ARGS)

local-status:
	@$(HARNESS_PYTHON) $(HARNESS_DIR)/harness.py status $(HARNESS_ARGS)
