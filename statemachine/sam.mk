# The state machine's deployables: `include statemachine/sam.mk` from the root Makefile (after harness.mk),
# or run alone: `make -f statemachine/sam.mk lint-iac`.
#
#   make build      the state machine's and the listeners' functions, release, arm64 -> target/lambda/<bin>/bootstrap.zip
#   make lint-iac   cfn-lint template.yaml (SAM) + asl-validator statemachine/rollout.asl.json
#   make sam-build  `sam build` with the pinned SAM CLI (statemachine/sam-requirements.txt, its own venv .venv-sam)
#
# cargo-lambda and cfn-lint come from the harness venv (.venv, `make venv`); asl-validator is installed once,
# pinned, under .local/node.

SAM_ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/..)

# Run alone, this fragment brings the harness's `venv` target itself.
ifndef HARNESS_DIR
include $(SAM_ROOT)/tests/harness/harness.mk
endif

SAM_VENV ?= $(SAM_ROOT)/.venv
SAM_FUNCTIONS := shifter-prepare shifter-run-hook shifter-advance shifter-finalize shifter-rollback shifter-notify shifter-wait shifter-alarm-watcher shifter-execution-cleanup shifter-alias-provider
SAM_RUST_TARGET := aarch64-unknown-linux-gnu

ASL_VALIDATOR_VERSION := 4.0.0
ASL_VALIDATOR_DIR := $(SAM_ROOT)/.local/node
ASL_VALIDATOR := $(ASL_VALIDATOR_DIR)/node_modules/.bin/asl-validator
ASL_VALIDATOR_STAMP := $(ASL_VALIDATOR_DIR)/.asl-validator-$(ASL_VALIDATOR_VERSION)

# The SAM CLI gets a venv of its own, so that `make venv` (the harness) never waits for it. `make sam-build` and the
# root Makefile's `lint-sam-app` (part of `make lint` and `make test`) install it: cold, 37 s on 2 CPUs.
SAM_CLI_VENV ?= $(SAM_ROOT)/.venv-sam
SAM_CLI_STAMP := $(SAM_CLI_VENV)/.stamp

.PHONY: build lint-iac sam-build

build: venv
	@rustup target list --installed | grep -qx '$(SAM_RUST_TARGET)' || rustup target add $(SAM_RUST_TARGET)
	cd $(SAM_ROOT) && for bin in $(SAM_FUNCTIONS); do \
	  PATH="$(SAM_VENV)/bin:$$PATH" cargo lambda build --release --arm64 --output-format zip --bin $$bin || exit 1; \
	done
	@for bin in $(SAM_FUNCTIONS); do ls -l $(SAM_ROOT)/target/lambda/$$bin/bootstrap.zip; done

# sam build, the SAM way (BuildMethod: rust-cargolambda): cargo-lambda and zig from the harness venv, the SAM CLI
# from .venv-sam. Output: .aws-sam/build. Cold, 20 minutes on 2 CPUs; no telemetry is sent.
sam-build: venv $(SAM_CLI_STAMP)
	@rustup target list --installed | grep -qx '$(SAM_RUST_TARGET)' || rustup target add $(SAM_RUST_TARGET)
	cd $(SAM_ROOT) && SAM_CLI_TELEMETRY=0 PATH="$(SAM_VENV)/bin:$$PATH" $(SAM_CLI_VENV)/bin/sam build

# Rebuilt only when sam-requirements.txt changes (or the venv is gone).
$(SAM_CLI_STAMP): $(SAM_ROOT)/statemachine/sam-requirements.txt
	@test -x $(SAM_CLI_VENV)/bin/python || $(HARNESS_PYTHON) -m venv $(SAM_CLI_VENV)
	$(SAM_CLI_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r $<
	@touch $@

lint-iac: venv $(ASL_VALIDATOR_STAMP)
	cd $(SAM_ROOT) && $(SAM_VENV)/bin/cfn-lint template.yaml
	cd $(SAM_ROOT) && $(ASL_VALIDATOR) --json-path statemachine/rollout.asl.json

# Reinstalled only when the pinned version changes.
$(ASL_VALIDATOR_STAMP):
	npm install --no-audit --no-fund --silent --prefix $(ASL_VALIDATOR_DIR) asl-validator@$(ASL_VALIDATOR_VERSION)
	@rm -f $(ASL_VALIDATOR_DIR)/.asl-validator-*
	@touch $@
