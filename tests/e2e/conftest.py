"""Fixtures for end-to-end tests against the offline AWS stack (`make local-up`, tests/harness/).

Everything talks to SHIFTER_ENDPOINT (default http://127.0.0.1:5555, the harness proxy) with fake credentials.
Tests do not reset moto between each other: every test names its resources with a uuid suffix (`unique`).
Clients never retry (max_attempts=1): an injected fault must reach the test, not be hidden by a retry.
"""

from __future__ import annotations

import io
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zipfile
from dataclasses import dataclass, field

import boto3
import botocore.config
import pytest

ENDPOINT = os.environ.get("SHIFTER_ENDPOINT", "http://127.0.0.1:5555").rstrip("/")
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
ROLE_NAME = "shifter-test"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}"

# Fake credentials for this process too, so nothing here can ever sign for (or reach) real AWS.
os.environ.update({
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
    "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
})
for _var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
    os.environ.pop(_var, None)

NO_RETRY = botocore.config.Config(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=5,
                                  read_timeout=120)


class HarnessApi:
    """The proxy's /_harness/* endpoints."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint

    def request(self, method: str, path: str, body=None, timeout: float = 10.0):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.endpoint + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read() or b"null")

    def health(self) -> bool:
        try:
            return self.request("GET", "/_harness/health", timeout=2).get("ok") is True
        except (OSError, ValueError):
            return False

    def functions(self) -> list[str]:
        """Binaries of the served cargo workspace (invocable as Lambda functions through the proxy)."""
        return self.request("GET", "/_harness/functions")

    def alias_history(self, function: str | None = None, alias: str | None = None) -> list[dict]:
        query = urllib.parse.urlencode({k: v for k, v in (("function", function), ("alias", alias)) if v})
        return self.request("GET", "/_harness/alias-history" + (f"?{query}" if query else ""))

    def clear_alias_history(self):
        self.request("DELETE", "/_harness/alias-history")

    def add_fault(self, operation: str, function: str | None = None, status: int = 500,
                  code: str = "ServiceException", message: str = "injected fault", count: int = 1,
                  skip: int = 0) -> dict:
        spec = {"operation": operation, "function": function, "status": status, "code": code,
                "message": message, "count": count, "skip": skip}
        return self.request("POST", "/_harness/faults", spec)

    def faults(self) -> list[dict]:
        return self.request("GET", "/_harness/faults")

    def clear_faults(self, fault_id: int | None = None):
        self.request("DELETE", "/_harness/faults" + (f"?id={fault_id}" if fault_id is not None else ""))


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


def _client(service: str):
    return boto3.client(service, endpoint_url=ENDPOINT, region_name=REGION, config=NO_RETRY)


@pytest.fixture(scope="session")
def lambda_client(harness):
    return _client("lambda")


@pytest.fixture(scope="session")
def cloudwatch(harness):
    return _client("cloudwatch")  # boto3 speaks AWS JSON to CloudWatch: passes through to moto untranslated


@pytest.fixture(scope="session")
def sns(harness):
    return _client("sns")


@pytest.fixture(scope="session")
def sqs(harness):
    return _client("sqs")


@pytest.fixture(scope="session")
def sfn(harness):
    return _client("stepfunctions")


@pytest.fixture(scope="session")
def events(harness):
    return _client("events")


@pytest.fixture(scope="session")
def iam(harness):
    return _client("iam")


@pytest.fixture
def unique():
    """unique("orders") -> "orders-1a2b3c4d"."""
    return lambda prefix="t": f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def lambda_role(iam) -> str:
    """moto's CreateFunction rejects a role that does not exist in its IAM ("cannot be assumed by Lambda")."""
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": ["lambda.amazonaws.com",
                                                                               "states.amazonaws.com"]}}]}
    try:
        iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(trust))
    except iam.exceptions.EntityAlreadyExistsException:
        pass
    return ROLE_ARN


def minimal_zip(marker: str = "") -> bytes:
    """A valid deployment package for runtime provided.al2023; moto never runs it (no Docker)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(zipfile.ZipInfo("bootstrap"), f"#!/bin/sh\n# {marker}\nexit 0\n")
    return buf.getvalue()


@dataclass
class Function:
    name: str
    arn: str
    versions: list[str] = field(default_factory=list)


@pytest.fixture
def make_function(lambda_client, lambda_role):
    """make_function(name=None, versions=2) -> Function with that many published versions.

    An existing function of that name (e.g. a workspace binary's name, reused across runs) is kept and gets
    new versions. moto (like AWS) returns the existing version when nothing changed since the last publish,
    so each publish is preceded by a description change.
    """

    def publish(fn: Function, count: int) -> list[str]:
        for _ in range(count):
            desc = f"harness {uuid.uuid4().hex[:8]}"
            lambda_client.update_function_configuration(FunctionName=fn.name, Description=desc)
            fn.versions.append(lambda_client.publish_version(FunctionName=fn.name, Description=desc)["Version"])
        return fn.versions

    def make(name: str | None = None, versions: int = 1) -> Function:
        name = name or f"fn-{uuid.uuid4().hex[:8]}"
        try:
            out = lambda_client.create_function(
                FunctionName=name, Runtime="provided.al2023", Handler="bootstrap", Role=lambda_role,
                Code={"ZipFile": minimal_zip(name)}, Architectures=["x86_64"], Timeout=30)
            arn = out["FunctionArn"]
        except lambda_client.exceptions.ResourceConflictException:
            arn = lambda_client.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
        fn = Function(name, arn)
        publish(fn, versions)
        return fn

    make.publish = publish
    return make


@pytest.fixture
def create_alias(lambda_client):
    def create(function: str, alias: str, version: str, weights: dict[str, float] | None = None) -> dict:
        kwargs = {"RoutingConfig": {"AdditionalVersionWeights": weights}} if weights else {}
        return lambda_client.create_alias(FunctionName=function, Name=alias, FunctionVersion=version, **kwargs)

    return create


@pytest.fixture
def make_alarm(cloudwatch):
    """make_alarm(name=None, function=None, alias=None, state="OK") -> alarm name.

    moto creates alarms in state OK (AWS: INSUFFICIENT_DATA) and never evaluates metrics, so the helper
    always sets the requested state explicitly; drive later transitions with set_alarm_state too.
    """

    def make(name: str | None = None, function: str = "fn", alias: str | None = None, state: str = "OK") -> str:
        name = name or f"alarm-{uuid.uuid4().hex[:8]}"
        dims = [{"Name": "FunctionName", "Value": function}]
        if alias:
            dims.append({"Name": "Resource", "Value": f"{function}:{alias}"})
        cloudwatch.put_metric_alarm(
            AlarmName=name, Namespace="AWS/Lambda", MetricName="Errors", Dimensions=dims, Statistic="Sum",
            Period=60, EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanOrEqualToThreshold",
            TreatMissingData="notBreaching")
        cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason="set by test harness")
        return name

    return make


@dataclass
class TopicQueue:
    topic_arn: str
    queue_url: str
    queue_arn: str
    sqs: object

    def drain(self, expect: int | None = None, timeout: float = 5.0) -> list[dict]:
        """Receive (and delete) notifications until `expect` arrived or `timeout` passed (without `expect`:
        until the queue stays empty for 0.3 s). Each item: Subject, Message (JSON-parsed when possible),
        MessageAttributes ({name: value}), raw (the SNS envelope)."""
        out: list[dict] = []
        deadline = time.monotonic() + timeout
        idle_since = None
        while time.monotonic() < deadline:
            msgs = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            for msg in msgs:
                out.append(parse_notification(msg["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=msg["ReceiptHandle"])
            if expect is not None and len(out) >= expect:
                break
            if msgs:
                idle_since = None
            elif expect is None:
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since > 0.3:
                    break
            time.sleep(0.05)
        return out


def parse_notification(body: str) -> dict:
    envelope = json.loads(body)
    message = envelope.get("Message")
    try:
        message = json.loads(message)
    except (TypeError, ValueError):
        pass
    attrs = {k: v.get("Value") for k, v in (envelope.get("MessageAttributes") or {}).items()}
    return {"Subject": envelope.get("Subject"), "Message": message, "MessageAttributes": attrs, "raw": envelope}


@pytest.fixture
def topic_queue(sns, sqs):
    """topic_queue(name=None) -> TopicQueue: an SNS topic with an SQS subscriber (RawMessageDelivery false,
    so each SQS body is the SNS envelope with Subject and MessageAttributes)."""

    def make(name: str | None = None) -> TopicQueue:
        name = name or f"topic-{uuid.uuid4().hex[:8]}"
        topic_arn = sns.create_topic(Name=name)["TopicArn"]
        queue_url = sqs.create_queue(QueueName=f"{name}-q")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn,
                      Attributes={"RawMessageDelivery": "false"})
        return TopicQueue(topic_arn, queue_url, queue_arn, sqs)

    return make


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
        deadline = time.monotonic() + timeout
        while True:
            desc = sfn.describe_execution(executionArn=ex_arn)
            if desc["status"] != "RUNNING" or time.monotonic() > deadline:
                return desc
            time.sleep(0.05)

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
