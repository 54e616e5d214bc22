"""boto3 helpers for the offline AWS stack, shared by the end-to-end tests (tests/e2e/conftest.py wraps them
as fixtures) and the demo (tests/demo/demo.py). Everything talks to SHIFTER_ENDPOINT (default
http://127.0.0.1:5555, the harness proxy) with fake credentials, so nothing here can reach real AWS."""

from __future__ import annotations

import datetime as dt
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
import cbor2

ENDPOINT = os.environ.get("SHIFTER_ENDPOINT", "http://127.0.0.1:5555").rstrip("/")
# The rollout registry the harness creates and the functions use (SHIFTER_TABLE): harness.py REGISTRY_TABLE
# (kept there too: harness.py runs on the standard library alone).
REGISTRY_TABLE = "shifter-rollouts"
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
CLOUDWATCH_TARGET = "GraniteServiceVersion20100801"


def client(service: str):
    return boto3.client(service, endpoint_url=ENDPOINT, region_name=REGION, config=NO_RETRY)


def cloudwatch_cbor_raw(operation: str, params: dict) -> tuple[int, dict, bytes]:
    """A hand-made Smithy RPC-v2 CBOR request, as aws-sdk-cloudwatch >= 1.100 sends it (unsigned: moto and the proxy
    do not check signatures). Datetimes go as CBOR tag 1 (epoch seconds), like the SDK's timestamps."""
    data = cbor2.dumps(params, datetime_as_timestamp=True, timezone=dt.timezone.utc)
    req = urllib.request.Request(
        f"{ENDPOINT}/service/{CLOUDWATCH_TARGET}/operation/{operation}", data=data, method="POST",
        headers={"smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor", "Accept": "application/cbor"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def cloudwatch_cbor(operation: str, params: dict) -> tuple[int, dict, dict]:
    """cloudwatch_cbor_raw with the answer decoded (tag 1 timestamps become aware datetimes)."""
    status, headers, body = cloudwatch_cbor_raw(operation, params)
    return status, headers, cbor2.loads(body)


def client_env() -> dict:
    """Environment for a subprocess (the `shifter` CLI) that must talk to the local stack only."""
    return {"AWS_ENDPOINT_URL": ENDPOINT, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_EC2_METADATA_DISABLED": "true"}


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

    def alarm_history(self, alarm: str | None = None) -> list[dict]:
        """What the proxy recorded of alarm state changes and creations (the source of DescribeAlarmHistory)."""
        query = urllib.parse.urlencode({"alarm": alarm}) if alarm else ""
        return self.request("GET", "/_harness/alarm-history" + (f"?{query}" if query else ""))

    def events(self, source: str | None = None, detail_type: str | None = None,
               resource: str | None = None) -> list[dict]:
        """EventBridge events the harness emitted (and events others put that a registered rule delivered), oldest
        first, each with its deliveries: rule, function, attempts (status, functionError, response), outcome."""
        query = urllib.parse.urlencode({k: v for k, v in (("source", source), ("detail-type", detail_type),
                                                           ("resource", resource)) if v})
        return self.request("GET", "/_harness/events" + (f"?{query}" if query else ""))

    def drain_metrics(self) -> dict:
        """Waits until the proxy has put every invoke's Lambda metrics into moto's CloudWatch."""
        return self.request("POST", "/_harness/metrics/drain", {})

    def clear_events(self):
        self.request("DELETE", "/_harness/events")

    def event_rules(self) -> list[dict]:
        return self.request("GET", "/_harness/event-rules")

    def register_rule(self, spec: dict) -> dict:
        """{name, eventPattern, function, retryPolicy?}: a rule in moto with an SQS target the proxy delivers from."""
        return self.request("POST", "/_harness/event-rules", spec)

    def calls(self, since: float | None = None, until: float | None = None, operation: str | None = None) -> list:
        query = urllib.parse.urlencode({k: v for k, v in (("since", since), ("until", until),
                                                           ("operation", operation)) if v is not None})
        return self.request("GET", "/_harness/calls" + (f"?{query}" if query else ""))

    def aborted_executions(self) -> dict:
        """Executions StopExecution ended while moto kept them waiting in a callback Task (see executions.py)."""
        return self.request("GET", "/_harness/aborted-executions")

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


def ensure_lambda_role(iam) -> str:
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


def publish_versions(lambda_client, fn: Function, count: int) -> list[str]:
    """moto (like AWS) returns the existing version when nothing changed since the last publish, so each publish
    is preceded by a description change."""
    for _ in range(count):
        desc = f"harness {uuid.uuid4().hex[:8]}"
        lambda_client.update_function_configuration(FunctionName=fn.name, Description=desc)
        fn.versions.append(lambda_client.publish_version(FunctionName=fn.name, Description=desc)["Version"])
    return fn.versions


def create_function(lambda_client, role_arn: str, name: str | None = None, versions: int = 1) -> Function:
    """A function with `versions` new published versions. An existing function of that name (e.g. a workspace
    binary's name, reused across runs) is kept and gets new versions."""
    name = name or f"fn-{uuid.uuid4().hex[:8]}"
    try:
        out = lambda_client.create_function(
            FunctionName=name, Runtime="provided.al2023", Handler="bootstrap", Role=role_arn,
            Code={"ZipFile": minimal_zip(name)}, Architectures=["x86_64"], Timeout=30)
        arn = out["FunctionArn"]
    except lambda_client.exceptions.ResourceConflictException:
        arn = lambda_client.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    fn = Function(name, arn)
    publish_versions(lambda_client, fn, versions)
    return fn


def create_alarm(cloudwatch, name: str | None = None, function: str = "fn", alias: str | None = None,
                 state: str = "OK") -> str:
    """The harness proxy starts a new alarm in INSUFFICIENT_DATA as AWS does (moto alone would say OK), and moto
    never evaluates metrics, so the state is set explicitly; drive later transitions with set_alarm_state too. Each
    value change is in the alarm's history (DescribeAlarmHistory, answered by the proxy)."""
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


def create_topic_queue(sns, sqs, name: str | None = None) -> TopicQueue:
    """An SNS topic with an SQS subscriber (RawMessageDelivery false, so each SQS body is the SNS envelope with
    Subject and MessageAttributes)."""
    name = name or f"topic-{uuid.uuid4().hex[:8]}"
    topic_arn = sns.create_topic(Name=name)["TopicArn"]
    queue_url = sqs.create_queue(QueueName=f"{name}-q")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "false"})
    return TopicQueue(topic_arn, queue_url, queue_arn, sqs)


def alias_state(lambda_client, function: str, alias: str) -> tuple[str, dict]:
    """(FunctionVersion, AdditionalVersionWeights) as the emulator has the alias now."""
    a = lambda_client.get_alias(FunctionName=function, Name=alias)
    return a["FunctionVersion"], (a.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}


def routing_history(harness: "HarnessApi", function: str, alias: str) -> list[tuple[str, dict]]:
    """Every state the alias took through CreateAlias/UpdateAlias, in order, as (version, weights)."""
    return [(h["functionVersion"], h["additionalVersionWeights"]) for h in harness.alias_history(function, alias)]
