"""Fixtures for end-to-end tests against the offline AWS stack (`make local-up`, tests/harness/).

Everything talks to SHIFTER_ENDPOINT (default http://127.0.0.1:5555, the harness proxy) with fake credentials.
Tests do not reset moto between each other: every test names its resources with a uuid suffix (`unique`).
Clients never retry (max_attempts=1): an injected fault must reach the test, not be hidden by a retry.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from dataclasses import dataclass

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from aws_local import (  # noqa: E402  (the shared boto3 helpers; importing them also sets fake credentials)
    ENDPOINT, Function, HarnessApi, TopicQueue, client, create_alarm, create_function, create_topic_queue,
    ensure_lambda_role, minimal_zip, parse_notification, publish_versions,
)
import stack_local  # noqa: E402

__all__ = ["ENDPOINT", "Function", "TopicQueue", "minimal_zip", "parse_notification"]


@pytest.fixture(scope="session")
def harness() -> HarnessApi:
    api = HarnessApi(ENDPOINT)
    if not api.health():
        msg = f"offline AWS stack not reachable at {ENDPOINT}: run `make local-up` first"
        if os.environ.get("SHIFTER_E2E_SKIP_IF_DOWN") == "1":
            pytest.skip(msg)
        pytest.fail(msg, pytrace=False)
    return api


@pytest.fixture(autouse=True)
def _stack_is_up(harness):
    """Every e2e test needs the stack: fail (or skip) them all with one clear message when it is down."""


@pytest.fixture
def faults(harness):
    """Like harness.add_fault, but removes this test's leftover rules afterwards."""
    added = []

    def add(operation: str, **kwargs) -> dict:
        rule = harness.add_fault(operation, **kwargs)
        added.append(rule["id"])
        return rule

    yield add
    for fault_id in added:
        harness.clear_faults(fault_id)


@pytest.fixture(scope="session")
def lambda_client(harness):
    return client("lambda")


@pytest.fixture(scope="session")
def cloudwatch(harness):
    return client("cloudwatch")  # boto3 speaks AWS JSON to CloudWatch: passes through to moto untranslated


@pytest.fixture(scope="session")
def sns(harness):
    return client("sns")


@pytest.fixture(scope="session")
def sqs(harness):
    return client("sqs")


@pytest.fixture(scope="session")
def sfn(harness):
    return client("stepfunctions")


@pytest.fixture(scope="session")
def events(harness):
    return client("events")


@pytest.fixture(scope="session")
def dynamodb(harness):
    return client("dynamodb")


@pytest.fixture(scope="module")
def state_machine(harness):
    """The stack's functions, the state machine and its event rules (stack_local.deploy), once per module."""
    return stack_local.deploy()


@pytest.fixture(scope="session")
def iam(harness):
    return client("iam")


@pytest.fixture
def unique():
    """unique("orders") -> "orders-1a2b3c4d"."""
    return lambda prefix="t": f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def lambda_role(iam) -> str:
    return ensure_lambda_role(iam)


@pytest.fixture
def make_function(lambda_client, lambda_role):
    """make_function(name=None, versions=1) -> Function (see aws_local.create_function)."""

    def make(name: str | None = None, versions: int = 1) -> Function:
        return create_function(lambda_client, lambda_role, name, versions)

    make.publish = lambda fn, count: publish_versions(lambda_client, fn, count)
    return make


@pytest.fixture
def create_alias(lambda_client):
    def create(function: str, alias: str, version: str, weights: dict[str, float] | None = None) -> dict:
        kwargs = {"RoutingConfig": {"AdditionalVersionWeights": weights}} if weights else {}
        return lambda_client.create_alias(FunctionName=function, Name=alias, FunctionVersion=version, **kwargs)

    return create


@pytest.fixture
def make_alarm(cloudwatch):
    """make_alarm(name=None, function="fn", alias=None, state="OK") -> alarm name (see aws_local.create_alarm)."""
    return lambda *args, **kwargs: create_alarm(cloudwatch, *args, **kwargs)


@pytest.fixture
def topic_queue(sns, sqs):
    """topic_queue(name=None) -> TopicQueue (see aws_local.create_topic_queue)."""
    return lambda name=None: create_topic_queue(sns, sqs, name)


@pytest.fixture
def run_state_machine(sfn, lambda_role):
    """run_state_machine(definition, input=None, timeout=30) -> describe_execution() of the finished run.
    Always names executions: moto names an unnamed one "None" and the second unnamed start then fails."""

    def run(definition: dict, input: dict | None = None, timeout: float = 30.0) -> dict:
        name = f"sm-{uuid.uuid4().hex[:8]}"
        sm_arn = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=lambda_role,
                                          type="STANDARD")["stateMachineArn"]
        ex_arn = sfn.start_execution(stateMachineArn=sm_arn, name=f"{name}-run",
                                     input=json.dumps(input or {}))["executionArn"]
        return stack_local.wait(sfn, ex_arn, timeout=timeout, poll=0.05)

    return run


@dataclass
class WorkspaceFunction:
    name: str
    payload: dict  # a payload that makes it behave as the fixture promises


def pick_function(harness: HarnessApi, env_var: str, candidates: dict[str, dict]) -> WorkspaceFunction:
    """A workspace binary that is safe to invoke, or skip the test. `SHIFTER_E2E_..._FUNCTION` overrides the
    candidates; `SHIFTER_E2E_..._PAYLOAD` (JSON) gives its payload."""
    available = harness.functions()
    if os.environ.get(env_var):
        candidates = {os.environ[env_var]: json.loads(os.environ.get(env_var.replace("FUNCTION", "PAYLOAD")) or "{}")}
    for name, payload in candidates.items():
        if name in available:
            return WorkspaceFunction(name, payload)
    pytest.skip(f"no workspace binary among {list(candidates)} (available: {available or 'none'}); set {env_var}")


@pytest.fixture(scope="session")
def ok_function(harness) -> WorkspaceFunction:
    """A workspace Lambda that succeeds with its payload."""
    return pick_function(harness, "SHIFTER_E2E_OK_FUNCTION", {"trial-echo": {}, "example-hook-smoke": {}})


@pytest.fixture(scope="session")
def failing_function(harness) -> WorkspaceFunction:
    """A workspace Lambda whose handler returns an error for its payload."""
    return pick_function(harness, "SHIFTER_E2E_FAIL_FUNCTION", {
        "trial-fail": {},
        # examples/hook-fail raises a function error only after traffic (before it, it answers status Failed).
        "example-hook-fail": {"phase": "postTraffic", "targetVersion": "1"},
    })


SAMPLE_APP = "sample-orders"  # a workspace binary: the smoke hook's invokes of its versions really run it


@pytest.fixture
def sample_app(make_function, create_alias, unique, harness):
    """sample-orders with two fresh versions and a fresh alias on the first; the hook functions exist (Prepare
    checks them). Returns (function, alias, old version, new version)."""
    if SAMPLE_APP not in harness.functions():
        pytest.fail(f"{SAMPLE_APP} is not served by cargo lambda watch", pytrace=False)
    fn = make_function(SAMPLE_APP, versions=2)
    for hook in ("example-hook-smoke", "example-hook-fail"):
        make_function(hook, versions=0)
    old, new = fn.versions[-2], fn.versions[-1]
    alias = unique("live")
    create_alias(SAMPLE_APP, alias, old)
    return fn, alias, old, new
