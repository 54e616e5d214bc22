"""HookFunctionArnPattern end to end: the stack's Prepare refuses a hook outside it before anything is read or
written, and lets the hooks inside it through. The harness gives every function
SHIFTER_HOOK_FUNCTION_ARN_PATTERN = harness.HOOK_FUNCTION_ARN_PATTERN (the example hooks, `example-hook-*`), as
template.yaml gives Prepare the parameter. Each test starts an execution of the real ASL (stack_local.deploy) and
reads back the execution, the alias, the versions, the registry table and the proxy's record of every call."""

from __future__ import annotations

import json
import time

import pytest

import stack_local
from aws_local import REGISTRY_TABLE, alias_state, routing_history as history
from harness import HOOK_FUNCTION_ARN_PATTERN

APP = "sample-orders"
WRITES = ("UpdateAlias", "CreateAlias", "DeleteAlias", "PublishVersion", "UpdateFunctionConfiguration",
          "UpdateFunctionCode", "PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "Publish")
OTHER_ACCOUNT = "210987654321"


def run(sfn, machine, request: dict, rollout_id: str) -> dict:
    arn = sfn.start_execution(stateMachineArn=machine.state_machine_arn, name=rollout_id,
                              input=json.dumps(request))["executionArn"]
    desc = stack_local.wait(sfn, arn, timeout=90)
    assert desc["status"] != "RUNNING", f"execution {rollout_id} still running"
    return desc


def states_entered(sfn, execution_arn: str) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in stack_local.history(sfn, execution_arn)
            if e["type"].endswith("StateEntered")]


def versions(lambda_client, function: str) -> list[str]:
    return [v["Version"] for v in lambda_client.list_versions_by_function(FunctionName=function)["Versions"]]


def registry_item(dynamodb, function: str, alias: str, sk: str) -> dict | None:
    return dynamodb.get_item(TableName=REGISTRY_TABLE, Key={"pk": {"S": f"ALIAS#{function}:{alias}"},
                                                            "sk": {"S": sk}}, ConsistentRead=True).get("Item")


@pytest.mark.parametrize("phase, outside", [
    # A function that exists, named outside the pattern: only the pattern can refuse it.
    ("preTraffic", "outside"),
    # The example hook's own name, qualified, in another account: outside by its account.
    ("postTraffic", f"arn:aws:lambda:us-east-1:{OTHER_ACCOUNT}:function:example-hook-smoke:live"),
], ids=["name-outside", "other-account"])
def test_a_hook_outside_the_pattern_is_refused_before_any_read_or_write(
        state_machine, sample_app, make_function, sfn, lambda_client, dynamodb, harness, unique, phase, outside):
    fn, alias, old, new = sample_app
    hook = make_function(unique("not-a-hook")).name if outside == "outside" else outside
    rollout_id = unique("outside")
    before = versions(lambda_client, APP)
    started = time.time()
    desc = run(sfn, state_machine, {"functionName": APP, "alias": alias, "targetVersion": new,
                                    "strategy": "AllAtOnce", "hooks": {phase: hook}}, rollout_id)

    assert desc["status"] == "FAILED" and desc["error"] == "InvalidRequest", desc
    assert states_entered(sfn, desc["executionArn"]) == ["Prepare", "RequestRejected"]
    message = json.loads(desc["cause"])["errorMessage"]
    assert message.startswith(f"invalid request: hooks.{phase}: {hook}"), message
    assert f"use a hook matching HookFunctionArnPattern `{HOOK_FUNCTION_ARN_PATTERN}`" in message, message
    assert "or redeploy shifter with a pattern that covers it" in message, message
    # Nothing changed: the alias, its history, the versions, the registry (no lease, no record).
    assert alias_state(lambda_client, APP, alias) == (old, {})
    assert history(harness, APP, alias) == [(old, {})]
    assert versions(lambda_client, APP) == before
    assert registry_item(dynamodb, APP, alias, "LEASE") is None
    assert registry_item(dynamodb, APP, alias, f"ROLLOUT#{rollout_id}") is None
    calls = harness.calls(since=started)
    writes = [c for c in calls if c["operation"] in WRITES]
    assert writes == [], writes
    # The hook was not even read (GetFunction) or invoked: the pattern is checked first.
    hook_name = hook.split(":")[6] if hook.startswith("arn:") else hook
    touched = [c for c in calls if c.get("function") and hook_name in c["function"]]
    assert touched == [], touched


@pytest.mark.parametrize("hook", ["example-hook-smoke", "example-hook-fail"])
def test_the_suites_hooks_are_inside_the_pattern(state_machine, sample_app, sfn, unique, hook):
    fn, alias, old, new = sample_app
    desc = run(sfn, state_machine, {"functionName": APP, "alias": alias, "targetVersion": new,
                                    "strategy": "AllAtOnce", "hooks": {"preTraffic": hook}}, unique("inside"))
    assert desc.get("error") != "InvalidRequest", desc
    assert "PreTrafficHook" in states_entered(sfn, desc["executionArn"])
