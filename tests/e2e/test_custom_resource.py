"""Custom::ShifterAlias end to end: CloudFormation's custom-resource requests sent to the real provider binary
(shifter-alias-provider), the real state machine running the rollout, and a local HTTP server standing in for the
pre-signed S3 ResponseURL. moto's CloudFormation cannot run custom resources without Docker, so this test plays
CloudFormation: it sends Create, Update and Delete as CloudFormation would (every scalar property a string), and
reads the answers from the PUTs the server receives.

The provider starts rollouts on the state machine named in its SHIFTER_STATE_MACHINE_ARN (in AWS, the stack's own;
here tests/harness/harness.py sets it for every function), so this module deploys its state machine under that
name."""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import stack_local
from aws_local import ACCOUNT, REGION, REGISTRY_TABLE, alias_state, routing_history as history

PROVIDER = "shifter-alias-provider"
APP = "sample-orders"
STACK = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/orders/{uuid.uuid4()}"
MACHINE_NAME = "shifter-cfn-rollout"  # tests/harness/harness.py PROVIDER_STATE_MACHINE_NAME


class ResponseUrl:
    """A stand-in for S3's pre-signed ResponseURLs on 127.0.0.1: records every PUT (path, headers, body)."""

    def __init__(self):
        self.puts: list[dict] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with outer.lock:
                    outer.puts.append({"path": self.path, "headers": dict(self.headers), "body": body.decode()})
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, request_id: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/cfn/{request_id}?X-Amz-Signature=test"

    def answers(self, request_id: str) -> list[dict]:
        with self.lock:
            return [p for p in self.puts if p["path"].startswith(f"/cfn/{request_id}?")]

    def answer(self, request_id: str, timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        while not self.answers(request_id):
            assert time.monotonic() < deadline, f"no answer to {request_id} within {timeout} s"
            time.sleep(0.05)
        return self.answers(request_id)[0]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def response_url():
    server = ResponseUrl()
    yield server
    server.close()


@pytest.fixture(scope="module")
def provider_machine(sfn):
    """The state machine the provider starts: deployed once under the name its environment names."""
    existing = [m for m in sfn.list_state_machines()["stateMachines"] if m["name"] == MACHINE_NAME]
    for m in existing:  # left over from an earlier run on a stack that stayed up
        sfn.delete_state_machine(stateMachineArn=m["stateMachineArn"])
    return stack_local.deploy(MACHINE_NAME)


def properties(function: str, alias: str, version: str, **extra) -> dict:
    props = {"ServiceToken": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{PROVIDER}",
             "FunctionName": function, "AliasName": alias, "Version": version,
             "Strategy": {"Type": "canary", "Percent": "10", "BakeSeconds": "1"}}
    props.update(extra)
    return props


def send(lambda_client, response_url, kind: str, props: dict, old: dict | None = None,
         physical: str | None = None, request_id: str | None = None) -> tuple[str, dict]:
    """One custom-resource request, invoked the way CloudFormation invokes the provider (the payload is the
    request; CloudFormation invokes asynchronously, this waits for the function's result). `request_id` again
    redelivers a request. Returns (RequestId, the function's own result)."""
    request_id = request_id or str(uuid.uuid4())
    event = {"RequestType": kind, "ServiceToken": props["ServiceToken"], "ResponseURL": response_url.url(request_id),
             "StackId": STACK, "RequestId": request_id, "ResourceType": "Custom::ShifterAlias",
             "LogicalResourceId": "OrdersLive", "ResourceProperties": props}
    if old is not None:
        event["OldResourceProperties"] = old
    if physical is not None:
        event["PhysicalResourceId"] = physical
    out = lambda_client.invoke(FunctionName=PROVIDER, Payload=json.dumps(event).encode())
    payload = json.loads(out["Payload"].read() or b"null")
    assert "FunctionError" not in out, payload
    return request_id, payload


def body(answer: dict) -> dict:
    # The pre-signed URL is signed without a Content-Type: the PUT must send it empty.
    assert answer["headers"].get("Content-Type", "") == "", answer["headers"]
    return json.loads(answer["body"])


def expected(request_id: str, status: str, reason: str, physical: str, version: str, rollout_id: str = "") -> dict:
    return {"Status": status, "Reason": reason, "PhysicalResourceId": physical, "StackId": STACK,
            "RequestId": request_id, "LogicalResourceId": "OrdersLive", "NoEcho": False,
            "Data": {"Version": version, "AliasArn": physical, "RolloutId": rollout_id}}


def baking(dynamodb, alias: str) -> bool:
    lease = dynamodb.get_item(TableName=REGISTRY_TABLE, ConsistentRead=True,
                              Key={"pk": {"S": f"ALIAS#{APP}:{alias}"}, "sk": {"S": "LEASE"}}).get("Item") or {}
    return bool(lease.get("waiting"))


def alias_writes(harness, alias: str) -> int:
    return len(history(harness, APP, alias))


def test_a_stack_update_rolls_out_progressively_and_a_rollback_fails_the_update(
        provider_machine, response_url, sample_app, make_function, make_alarm, lambda_client, cloudwatch, sfn,
        dynamodb, harness, unique):
    fn, _, v1, v2 = sample_app
    v3 = make_function.publish(fn, 1)[-1]
    alias = unique("cfn")
    arn = f"{fn.arn}:{alias}"

    # Create: the alias appears on v1, answered at once.
    create_props = properties(APP, alias, v1)
    rid, _ = send(lambda_client, response_url, "Create", create_props)
    assert body(response_url.answer(rid, 30)) == expected(
        rid, "SUCCESS", f"created {APP}:{alias} serving version {v1}", arn, v1)
    assert alias_state(lambda_client, APP, alias) == (v1, {})

    # Update to v2, named by its ARN as SAM's `!Ref Fn.Version` gives it: a rollout runs on the state machine,
    # which answers SUCCESS once the alias is promoted.
    update_props = properties(APP, alias, f"{fn.arn}:{v2}")
    rid, out = send(lambda_client, response_url, "Update", update_props, old=create_props, physical=arn)
    rollout_id = f"cfn-{rid}"
    assert out == {"rolloutId": rollout_id}
    assert response_url.answers(rid) == [], "the provider does not answer an Update that rolls out"
    # Redelivered (Lambda retries an asynchronous invocation): the same rollout, no second execution.
    _, again = send(lambda_client, response_url, "Update", update_props, old=create_props, physical=arn,
                    request_id=rid)
    assert again == {"rolloutId": rollout_id}
    runs = [e for e in sfn.list_executions(stateMachineArn=provider_machine.state_machine_arn)["executions"]
            if e["name"] == rollout_id]
    assert len(runs) == 1, runs
    execution = f"{provider_machine.state_machine_arn.replace(':stateMachine:', ':execution:')}:{rollout_id}"
    desc = stack_local.wait(sfn, execution, timeout=60)
    assert desc["status"] == "SUCCEEDED", desc
    assert body(response_url.answer(rid, 10)) == expected(
        rid, "SUCCESS", f"Promoted: {APP}:{alias} serves version {v2}", arn, v2, rollout_id)
    assert alias_state(lambda_client, APP, alias) == (v2, {})
    assert history(harness, APP, alias) == [(v1, {}), (v1, {v2: 0.1}), (v2, {})]

    # Update to v3 with an alarm that fires mid-bake: the rollout rolls back and the answer is FAILED, naming why.
    alarm = make_alarm(function=APP, alias=alias)
    bad_props = properties(APP, alias, v3, Alarms=[alarm],
                           Strategy={"Type": "canary", "Percent": "10", "BakeSeconds": "60"})
    rid, out = send(lambda_client, response_url, "Update", bad_props, old=update_props, physical=arn)
    rollout_id = f"cfn-{rid}"
    deadline = time.monotonic() + 30
    while not baking(dynamodb, alias):  # the Bake's token is on the lease: the rollout listens
        assert time.monotonic() < deadline, "the canary never started baking"
        time.sleep(0.1)
    assert alias_state(lambda_client, APP, alias) == (v2, {v3: 0.1})
    cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="test: canary errors")
    answer = body(response_url.answer(rid, 30))
    assert answer == expected(
        rid, "FAILED",
        f"RolledBack: alarm {alarm} went to ALARM (at 10% on version {v3}); "
        f"alias restored to version {v2}",
        arn, v2, rollout_id), answer
    assert alias_state(lambda_client, APP, alias) == (v2, {})
    # The execution ends FAILED (RolledBack), and the execution cleanup, woken by that, may send the answer
    # again: only ever the same one.
    desc = stack_local.wait(sfn, f"{execution.rsplit(':', 1)[0]}:{rollout_id}", timeout=30)
    assert desc["status"] == "FAILED" and desc["error"] == "RolledBack", desc
    time.sleep(2)
    sent = [json.loads(a["body"]) for a in response_url.answers(rid)]
    assert sent and all(b == answer for b in sent), sent

    # CloudFormation then rolls the stack back: an Update back to v2, answered at once with no writes.
    writes = alias_writes(harness, alias)
    rid, _ = send(lambda_client, response_url, "Update", update_props, old=bad_props, physical=arn)
    assert body(response_url.answer(rid, 10)) == expected(
        rid, "SUCCESS", f"{APP}:{alias} already serves version {v2} alone: nothing to roll out", arn, v2)
    assert alias_writes(harness, alias) == writes
    assert alias_state(lambda_client, APP, alias) == (v2, {})

    # Delete removes the alias.
    rid, _ = send(lambda_client, response_url, "Delete", update_props, physical=arn)
    assert body(response_url.answer(rid, 10)) == expected(rid, "SUCCESS", f"deleted {arn}", arn, "")
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        lambda_client.get_alias(FunctionName=APP, Name=alias)


def test_a_plan_longer_than_the_service_timeout_fails_at_once_and_retain_keeps_the_alias(
        provider_machine, response_url, sample_app, lambda_client, harness):
    _, alias, v1, v2 = sample_app
    arn = f"{sample_app[0].arn}:{alias}"
    old = properties(APP, alias, v1, RetainOnDelete="true")
    long = properties(APP, alias, v2, Strategy="Linear10PercentEvery10Minutes", RetainOnDelete="true")
    writes = alias_writes(harness, alias)
    rid, out = send(lambda_client, response_url, "Update", long, old=old, physical=arn)
    answer = body(response_url.answer(rid, 10))
    assert answer["Status"] == "FAILED" and answer["PhysicalResourceId"] == arn, answer
    assert "the plan takes 1 h 30 min (5400 s), longer than CloudFormation waits for this resource" in \
        answer["Reason"], answer
    assert alias_writes(harness, alias) == writes
    assert alias_state(lambda_client, APP, alias) == (v1, {})

    rid, _ = send(lambda_client, response_url, "Delete", old, physical=arn)
    assert body(response_url.answer(rid, 10))["Reason"] == f"{arn} retained (RetainOnDelete)"
    assert alias_state(lambda_client, APP, alias) == (v1, {})
