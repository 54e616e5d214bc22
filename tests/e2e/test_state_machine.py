"""The rollout state machine end to end: the real statemachine/rollout.asl.json (with template.yaml's
DefinitionSubstitutions) deployed on moto's Step Functions engine, its Tasks served by the real function binaries
under cargo lambda watch (tests/harness/stack_local.py). Each test starts an execution the way a pipeline does
(input = a rollout request, execution name = the rollout id) and asserts the execution's outcome, the alias read
back from the emulator, and every alias write the harness proxy recorded. Bakes are seconds long: Wait really
sleeps on moto."""

from __future__ import annotations

import json
import threading
import time

import pytest

import stack_local
from aws_local import alias_state, routing_history as history

APP = "sample-orders"  # a workspace binary: the smoke hook's invokes of its versions really run it




def start(sfn, stack: stack_local.LocalStack, request: dict, rollout_id: str) -> str:
    return sfn.start_execution(stateMachineArn=stack.state_machine_arn, name=rollout_id,
                               input=json.dumps(request))["executionArn"]


def run(sfn, stack, request: dict, rollout_id: str, timeout: float = 90) -> dict:
    desc = stack_local.wait(sfn, start(sfn, stack, request, rollout_id), timeout=timeout)
    assert desc["status"] != "RUNNING", f"execution {rollout_id} still running after {timeout} s"
    return desc


def states_entered(sfn, execution_arn: str) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in stack_local.history(sfn, execution_arn)
            if e["type"].endswith("StateEntered")]


@pytest.fixture
def app(sample_app):
    _, alias, old, new = sample_app
    return alias, old, new


def request(alias: str, version: str, strategy, **extra) -> dict:
    return {"functionName": APP, "alias": alias, "targetVersion": version, "strategy": strategy, **extra}


@pytest.mark.parametrize("strategy, weights", [
    ({"type": "canary", "percent": 20, "bakeSeconds": 1}, [0.2]),
    ({"type": "linear", "percent": 50, "intervalSeconds": 1}, [0.5]),
    ({"type": "linear", "percent": 34, "intervalSeconds": 1}, [0.34, 0.68]),
    ({"type": "steps", "steps": [{"percent": 10, "bakeSeconds": 1}, {"percent": 50, "bakeSeconds": 1},
                                 {"percent": 100}]}, [0.1, 0.5]),
    ("AllAtOnce", []),
], ids=["canary", "linear-2", "linear-3", "steps", "all-at-once"])
def test_promotes(state_machine, app, sfn, lambda_client, harness, unique, strategy, weights):
    alias, old, new = app
    rollout_id = unique("promote")
    desc = run(sfn, state_machine, request(alias, new, strategy), rollout_id)
    assert desc["status"] == "SUCCEEDED", desc
    assert alias_state(lambda_client, APP, alias) == (new, {})
    assert history(harness, APP, alias) == [(old, {})] + [(old, {new: w}) for w in weights] + [(new, {})]
    output = json.loads(desc["output"])
    assert output["rollout"]["rolloutId"] == rollout_id and output["rollout"]["weightBps"] == 10_000
    steps = len(weights) + 1
    assert stack_local.transitions(stack_local.history(sfn, desc["executionArn"])) == 3 * steps + 7


def test_a_failing_pre_traffic_hook_moves_no_traffic(state_machine, app, sfn, lambda_client, harness, unique):
    alias, old, new = app
    desc = run(sfn, state_machine, request(alias, new, {"type": "linear", "percent": 50, "intervalSeconds": 1},
                                           hooks={"preTraffic": "example-hook-fail"}), unique("prehook"))
    assert desc["status"] == "FAILED"
    assert desc["error"] == "RolledBack" and "preTraffic hook failed" in desc["cause"], desc
    assert alias_state(lambda_client, APP, alias) == (old, {})
    assert history(harness, APP, alias) == [(old, {})]
    assert states_entered(sfn, desc["executionArn"]) == ["Prepare", "PreTrafficHook", "PreTrafficChoice",
                                                         "Rollback", "RolledBack"]


def test_a_failing_post_traffic_hook_rolls_back_from_full_traffic(state_machine, app, sfn, lambda_client, harness,
                                                                  unique):
    alias, old, new = app
    # example-hook-fail raises a function error after traffic: RunHook turns it into a failed hook (data).
    desc = run(sfn, state_machine, request(alias, new, {"type": "linear", "percent": 50, "intervalSeconds": 1},
                                           hooks={"postTraffic": "example-hook-fail"}), unique("posthook"))
    assert desc["status"] == "FAILED"
    assert desc["error"] == "RolledBack" and "postTraffic hook failed" in desc["cause"], desc
    assert alias_state(lambda_client, APP, alias) == (old, {})
    assert history(harness, APP, alias) == [(old, {}), (old, {new: 0.5}), (new, {}), (old, {})]
    assert states_entered(sfn, desc["executionArn"])[-4:] == ["PostTrafficHook", "PostTrafficChoice", "Rollback",
                                                              "RolledBack"]


def test_an_alarm_mid_bake_rolls_back(state_machine, app, sfn, lambda_client, cloudwatch,
                                                              make_alarm, harness, unique):
    alias, old, new = app
    alarm = make_alarm(function=APP, alias=alias)
    fired = threading.Event()

    def fire_when_weighted():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if alias_state(lambda_client, APP, alias)[1]:
                cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="test: canary errors")
                fired.set()
                return
            time.sleep(0.1)

    trigger = threading.Thread(target=fire_when_weighted, daemon=True)
    trigger.start()
    # The alarm is acted on by whichever listener sees it first: the Wait function when it registers the bake's
    # token (an alarm that fired right after the shift), the alarm watcher (an event mid-bake), or the next
    # Advance. Each ends in Rollback with the alarm named.
    desc = run(sfn, state_machine, request(alias, new, {"type": "canary", "percent": 20, "bakeSeconds": 4},
                                           alarms=[alarm]), unique("alarm"))
    trigger.join(5)
    assert fired.is_set(), "the alias was never weighted"
    assert desc["status"] == "FAILED"
    assert desc["error"] == "RolledBack" and alarm in desc["cause"], desc
    assert alias_state(lambda_client, APP, alias) == (old, {})
    assert history(harness, APP, alias) == [(old, {}), (old, {new: 0.2}), (old, {})]
    entered = states_entered(sfn, desc["executionArn"])
    assert "Bake" in entered and entered[-2:] == ["Rollback", "RolledBack"], entered


@pytest.fixture
def own_function(make_function, create_alias, unique):
    """A fresh function of its own (not sample-orders), so that a fault on its UpdateAlias cannot reach tests
    running at the same time on the shared stack."""
    fn = make_function(unique("fn"), versions=2)
    alias = unique("live")
    create_alias(fn.name, alias, fn.versions[0])
    return fn.name, alias, fn.versions[0], fn.versions[1]


def rollback_input(sfn, execution_arn: str) -> dict:
    return next(json.loads(e["stateEnteredEventDetails"]["input"]) for e in stack_local.history(sfn, execution_arn)
                if e["type"].endswith("StateEntered") and e["stateEnteredEventDetails"]["name"] == "Rollback")


DENIED = "injected: not authorized to perform lambda:UpdateAlias"


def test_a_function_error_mid_rollout_is_caught_and_rolled_back(state_machine, own_function, sfn, lambda_client,
                                                                harness, faults, unique):
    function, alias, old, new = own_function
    # The first shift (Advance) lands; the next UpdateAlias (Finalize) is refused once. AccessDenied is not
    # retried (by the SDK or the ASL: the function reports AwsRejected), so exactly one call fails: the Catch
    # records it at $.error and Rollback's own UpdateAlias goes through.
    faults("UpdateAlias", function=function, status=403, code="AccessDeniedException", message=DENIED, count=1,
           skip=1)
    desc = run(sfn, state_machine, {"functionName": function, "alias": alias, "targetVersion": new,
                                    "strategy": {"type": "linear", "percent": 50, "intervalSeconds": 1}},
               unique("fnerror"))
    assert desc["status"] == "FAILED", desc
    assert desc["error"] == "RolledBack" and DENIED in desc["cause"], desc
    assert alias_state(lambda_client, function, alias) == (old, {})
    assert history(harness, function, alias) == [(old, {}), (old, {new: 0.5}), (old, {})]
    caught = rollback_input(sfn, desc["executionArn"])["error"]
    assert caught["Error"] == "AwsRejected" and DENIED in caught["Cause"], caught
    entered = states_entered(sfn, desc["executionArn"])
    assert entered[-4:] == ["AdvanceChoice", "Finalize", "Rollback", "RolledBack"], entered


def test_a_persistent_error_fails_the_rollback_too(state_machine, own_function, sfn, lambda_client, harness, faults,
                                                   unique):
    function, alias, old, new = own_function
    # Same, but the denial lasts (count 3): Rollback's UpdateAlias is refused as well (AwsRejected is not in its
    # Retry list), so the execution ends in RollbackFailed with both errors kept and the alias still weighted.
    faults("UpdateAlias", function=function, status=403, code="AccessDeniedException", message=DENIED, count=3,
           skip=1)
    desc = run(sfn, state_machine, {"functionName": function, "alias": alias, "targetVersion": new,
                                    "strategy": {"type": "linear", "percent": 50, "intervalSeconds": 1}},
               unique("fnerror"))
    assert desc["status"] == "FAILED" and desc["error"] == "RollbackFailed", desc
    assert alias_state(lambda_client, function, alias) == (old, {new: 0.5})
    assert history(harness, function, alias) == [(old, {}), (old, {new: 0.5})]
    entered = states_entered(sfn, desc["executionArn"])
    assert entered[-4:] == ["Finalize", "Rollback", "NotifyRollbackFailed", "RollbackFailed"], entered
    events = stack_local.history(sfn, desc["executionArn"])
    final_input = json.loads(next(e["stateEnteredEventDetails"]["input"] for e in events
                                  if e["type"] == "FailStateEntered"))
    assert final_input["error"]["Error"] == "AwsRejected"
    assert final_input["rollbackError"]["Error"] == "AwsRejected" and DENIED in final_input["rollbackError"]["Cause"]


@pytest.mark.parametrize("change, error, field", [
    ({"strategy": {"type": "linear", "percent": 0, "intervalSeconds": 1}}, "InvalidRequest", "strategy.percent"),
    ({"strategy": "Canary10Percent7Minutes"}, "InvalidRequest", "strategy"),
    ({"colour": "blue"}, "InvalidRequest", "colour"),
    ({"targetVersion": "999"}, "ResourceNotFound", "targetVersion"),
    ({"alarms": ["no-such-alarm"]}, "ResourceNotFound", "alarms[0]"),
], ids=["zero-percent", "unknown-preset", "unknown-field", "missing-version", "missing-alarm"])
def test_an_invalid_request_is_rejected_at_prepare(state_machine, app, sfn, lambda_client, harness, topic_queue,
                                                   unique, change, error, field):
    alias, old, new = app
    tq = topic_queue()
    req = {**request(alias, new, "AllAtOnce", notificationTopicArn=tq.topic_arn), **change}
    desc = run(sfn, state_machine, req, unique("invalid"))
    assert desc["status"] == "FAILED"
    # RequestRejected keeps the function's error: Error = its errorType, Cause = its error payload.
    assert desc["error"] == error, desc
    assert json.loads(desc["cause"])["errorType"] == error
    assert f"{field}:" in json.loads(desc["cause"])["errorMessage"], desc
    assert states_entered(sfn, desc["executionArn"]) == ["Prepare", "RequestRejected"]
    assert alias_state(lambda_client, APP, alias) == (old, {})
    assert history(harness, APP, alias) == [(old, {})]
    assert tq.drain() == [], "a rejected request publishes nothing"


def test_notifications_of_one_rollout(state_machine, app, sfn, harness, topic_queue, unique):
    alias, old, new = app
    tq = topic_queue()
    rollout_id = unique("notify")
    desc = run(sfn, state_machine, request(alias, new, {"type": "linear", "percent": 50, "intervalSeconds": 1},
                                           hooks={"preTraffic": "example-hook-smoke"},
                                           notificationTopicArn=tq.topic_arn), rollout_id)
    assert desc["status"] == "SUCCEEDED", desc
    kinds = ["RolloutStarted", "HookSucceeded", "TrafficShifted", "TrafficShifted", "RolloutSucceeded"]
    sent = tq.drain(expect=len(kinds))
    assert [n["MessageAttributes"]["eventType"] for n in sent] == kinds
    assert [n["Message"]["eventType"] for n in sent] == kinds
    shifted = [n for n in sent if n["Message"]["eventType"] == "TrafficShifted"]
    assert [n["Message"]["weightPercent"] for n in shifted] == [50.0, 100.0]
    assert all(n["MessageAttributes"]["functionName"] == APP and n["MessageAttributes"]["alias"] == alias
               for n in sent)
    assert all(n["Message"]["rolloutId"] == rollout_id for n in sent), [n["Message"] for n in sent]
    assert sent[-1]["Subject"].startswith("shifter RolloutSucceeded")
    assert tq.drain() == [], "nothing published twice"
