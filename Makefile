# shifter: progressive delivery for AWS Lambda.
#   make demo   a real rollout on a local AWS emulator: one promotion, one rollback on an alarm
#   make test   lint, unit tests, and end-to-end tests against the local emulator
# Both install what they need (a pinned Python venv with moto and cargo-lambda) on first use.

SHELL := /bin/bash
.DEFAULT_GOAL := help
export CARGO_TERM_COLOR ?= never

include tests/harness/harness.mk
include statemachine/sam.mk

PY := .venv/bin/python
PYTEST := .venv/bin/pytest

.PHONY: help lint lint-pipelines lint-sam-app lint-security unit e2e test demo bench bench-latency bench-transitions bench-analysis build clean fuzz

help:
	@echo "make demo        run a promotion and an alarm rollback on the local AWS emulator"
	@echo "make test        lint + unit tests + end-to-end tests (starts and stops the emulator)"
	@echo "make lint        cargo fmt --check, clippy -D warnings, cfn-lint, asl-validator, pipeline recipes, sam-app, security"
	@echo "make build       the state-machine functions, release arm64 zips (as sam build does)"
	@echo "make sam-build   sam build with the pinned SAM CLI (its own venv .venv-sam; cold ~20 min on 2 CPUs)"
	@echo "make bench       bench-latency, then size, start-up, engine CPU, canary analysis and 1,000-rollout scale benchmarks -> docs/benchmarks.md"
	@echo "make bench-analysis  canary analysis: time to a verdict at 10/100/1,000 invocations a minute (simulated), GetMetricData calls per check, CPU per judge (prints; ~10 s after the build)"
	@echo "make bench-latency  alarm state change -> alias restored, both modes, 20 runs each (~4 min)"
	@echo "make bench-transitions  Step Functions transitions per rollout, real executions (~9 min)"
	@echo "make fuzz        cargo fuzz, every parser of outside input, 10^6 executions each (nightly) -> docs/reliability.md"
	@echo "make local-up    start the local AWS stack (moto + proxy + cargo lambda watch)"
	@echo "make local-down  stop it"

lint: lint-iac lint-pipelines lint-sam-app lint-security
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

# examples/pipelines: the workflows against the schemas check-jsonschema ships (offline), the CodePipeline
# template with cfn-lint.
lint-pipelines: venv
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows examples/pipelines/github-actions.yml
	$(VENV)/bin/check-jsonschema --builtin-schema custom.github-workflows-require-timeout examples/pipelines/github-actions.yml
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.gitlab-ci examples/pipelines/gitlab-ci.yml
	$(VENV)/bin/cfn-lint examples/pipelines/codepipeline.yaml

# examples/sam-app, three ways: `sam validate --lint` (the SAM CLI's YAML reader, then cfn-lint with the SAM
# transform); the harness's cfn-lint; and cfn-lint on the template translated to plain CloudFormation
# (tests/lint/sam_translate.py), which also catches a mistyped Ref that starts with a SAM function's name
# (`!Ref Orders.Versoin`), one the first two let through. It needs the SAM CLI venv (.venv-sam), so `make lint`
# and `make test` install it too: cold, 37 s on 2 CPUs with no pip cache (342 MB); the checks take seconds.
# Offline: AWS_DEFAULT_REGION only gives the transform a region; SAM_CLI_TELEMETRY=0 sends no telemetry. (The
# SAM CLI also asks PyPI for its latest version once a week, 5 s timeout; offline it skips that quietly.)
SAM_APP_TRANSLATED := .local/lint/sam-app.json

lint-sam-app: venv $(SAM_CLI_STAMP)
	cd examples/sam-app && AWS_DEFAULT_REGION=us-east-1 SAM_CLI_TELEMETRY=0 \
	  $(SAM_CLI_VENV)/bin/sam validate --lint --template template.yaml
	$(VENV)/bin/cfn-lint examples/sam-app/template.yaml
	@mkdir -p $(dir $(SAM_APP_TRANSLATED))
	AWS_DEFAULT_REGION=us-east-1 $(SAM_CLI_VENV)/bin/python tests/lint/sam_translate.py \
	  examples/sam-app/template.yaml $(SAM_APP_TRANSLATED)
	$(VENV)/bin/cfn-lint $(SAM_APP_TRANSLATED)
	@# shifter's own template, translated the same way (lint-iac runs cfn-lint on it with the transform).
	AWS_DEFAULT_REGION=us-east-1 $(SAM_CLI_VENV)/bin/python tests/lint/sam_translate.py \
	  template.yaml .local/lint/shifter.json
	$(VENV)/bin/cfn-lint .local/lint/shifter.json

# Security lint of shifter's own template, translated to plain CloudFormation as lint-sam-app does (into a file
# of its own, so that the two never race under make -j): parliament on every IAM policy (tests/lint/iam_lint.py,
# allow-list tests/lint/parliament-allow.yaml) and checkov on the template (tests/lint/checkov_scan.py, allow-list
# tests/lint/checkov-allow.yaml). Each allowed finding has its reason; docs/security.md sums them up. The tools
# get a venv of their own (.venv-sec, pinned in tests/lint/security-requirements.txt): cold, ~51 s on 2 CPUs with
# no pip cache (300 MB); the checks take ~6 s. They pass offline too (checkov: no API key, --skip-download),
# where checkov waits out its network timeouts: ~20 s.
SEC_VENV := $(CURDIR)/.venv-sec
SEC_STAMP := $(SEC_VENV)/.stamp
SHIFTER_TRANSLATED := .local/lint/shifter-security.json

lint-security: $(SEC_STAMP) $(SAM_CLI_STAMP)
	@mkdir -p $(dir $(SHIFTER_TRANSLATED))
	AWS_DEFAULT_REGION=us-east-1 $(SAM_CLI_VENV)/bin/python tests/lint/sam_translate.py \
	  template.yaml $(SHIFTER_TRANSLATED)
	$(SEC_VENV)/bin/python tests/lint/iam_lint.py $(SHIFTER_TRANSLATED) tests/lint/parliament-allow.yaml
	$(SEC_VENV)/bin/python tests/lint/checkov_scan.py $(SHIFTER_TRANSLATED) tests/lint/checkov-allow.yaml

# Rebuilt only when security-requirements.txt changes (or the venv is gone).
$(SEC_STAMP): tests/lint/security-requirements.txt
	@test -x $(SEC_VENV)/bin/python || $(HARNESS_PYTHON) -m venv $(SEC_VENV)
	$(SEC_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r $<
	@touch $@

unit:
	cargo test --workspace

# The end-to-end suite starts the stack and always stops it, pass or fail.
e2e: venv
	cargo build --workspace --bins
	$(MAKE) local-up
	status=0; SHIFTER_BIN=$(CURDIR)/target/debug/shifter $(PYTEST) -q tests/e2e || status=$$?; \
	$(MAKE) local-down; exit $$status

test: lint unit e2e

demo: venv
	cargo build --workspace --bins
	$(MAKE) local-up
	status=0; SHIFTER_BIN=$(CURDIR)/target/debug/shifter $(PY) tests/demo/demo.py || status=$$?; \
	$(MAKE) local-down; exit $$status

bench: venv bench-latency
	$(PY) tests/bench/bench.py --write docs/benchmarks.md

# Canary analysis alone (no stack: the local driver over the fake, simulated time): prints the tables; `make bench`
# writes them into docs/benchmarks.md with the rest.
bench-analysis: venv
	$(PY) tests/bench/bench.py --only analysis

# Alarm state change -> alias restored, state machine (push) and local (poll), 20 runs each (about 4 minutes).
bench-latency: venv
	cargo build --workspace --bins
	$(MAKE) local-up
	status=0; $(PY) tests/bench/alarm_latency.py --runs 20 --write docs/alarm-latency.md || status=$$?; \
	$(MAKE) local-down; exit $$status

# Real Step Functions executions of two presets on the local stack (real Waits: about 9 minutes).
bench-transitions: venv
	cargo build --workspace --bins
	$(MAKE) local-up
	status=0; $(PY) tests/bench/transitions.py --write docs/transitions.md || status=$$?; \
	$(MAKE) local-down; exit $$status

# Fuzzing (issue 10): not part of `make test`. fuzz/ is its own workspace (nightly, cargo-fuzz); see
# docs/reliability.md. FUZZ_RUNS and FUZZ_TARGETS narrow a run; FUZZ_JOBS targets run at a time.
CARGO_FUZZ_VERSION := 0.13.2
FUZZ_RUNS ?= 1000000
FUZZ_JOBS ?= 2
FUZZ_TARGETS ?= rollout_request state hook_reply alarm_event rollout_requested custom_resource plan analysis_settings

fuzz:
	@cargo fuzz --version 2>/dev/null | grep -qx 'cargo-fuzz $(CARGO_FUZZ_VERSION)' || \
	  cargo install cargo-fuzz --version $(CARGO_FUZZ_VERSION) --locked
	cd fuzz && cargo +nightly fuzz build -O
	fuzz/seed.sh
	python3 fuzz/run.py --runs $(FUZZ_RUNS) --jobs $(FUZZ_JOBS) --targets $(FUZZ_TARGETS) --write docs/reliability.md

clean: local-down
	cargo clean
	rm -rf .venv .venv-sam .venv-sec .local
