"""Rollouts that listen, end to end in state-machine mode: the Bake is a callback Task (the shifter-wait binary
registers its task token on the alias's lease), an alarm state change reaches the shifter-alarm-watcher binary as
EventBridge's "CloudWatch Alarm State Change" event, and an execution that ends with no rollback of its own reaches
shifter-execution-cleanup as "Step Functions Execution Status Change". moto emits neither event: the harness proxy
does, in AWS's format, and delivers them through template.yaml's rules (tests/harness/event_delivery.py,
executions.py). Every test reads the alias back from the emulator and the proxy's record of alias writes."""

from __future__ import annotations

import json
import threading
import time

import pytest

import stack_local
from aws_local import REGISTRY_TABLE, alias_state, routing_history as history

APP = "sample-orders"
TABLE = REGISTRY_TABLE
LONG_BAKE = {"type": "canary", "percent": 20, "bakeSeconds": 60}
REACTION_S = 5.0  # alarm state change (or StopExecution) -> alias back on the old version


def key(function: str, alias: str, sk: str) -> dict:
    return {"pk": {"S": f"ALIAS#{function}:{alias}"}, "sk": {"S": sk}}


def lease_of(dynamodb, function: str, alias: str) -> dict | None:
    return dynamodb.get_item(TableName=TABLE, Key=key(function, alias, "LEASE"), ConsistentRead=True).get("Item")


def record_of(dynamodb, function: str, alias: str, rollout_id: str) -> dict | None:
    return dynamodb.get_item(TableName=TABLE, Key=key(function, alias, f"ROLLOUT#{rollout_id}"),
                             ConsistentRead=True).get("Item")


def start(sfn, machine, alias: str, version: str, rollout_id: str, strategy=None, **extra) -> str:
    request = {"functionName": APP, "alias": alias, "targetVersion": version, "strategy": strategy or LONG_BAKE,
               **extra}
    return sfn.start_execution(stateMachineArn=machine.state_machine_arn, name=rollout_id,
                               input=json.dumps(request))["executionArn"]


def until(predicate, timeout: float, poll: float = 0.02, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} not reached in {timeout} s"
        time.sleep(poll)


def wait_baking(dynamodb, alias: str) -> dict:
    """Until the Bake's task token is on the lease (the Wait function ran): the rollout listens."""
    lease = until(lambda: (lease_of(dynamodb, APP, alias) or {}).get("waiting") and lease_of(dynamodb, APP, alias),
                  60, 0.1, "a registered bake token")
    assert lease["waiting"]["M"]["kind"]["S"] == "Bake", lease
    return lease


def states_entered(sfn, execution_arn: str) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in stack_local.history(sfn, execution_arn)
            if e["type"].endswith("StateEntered")]


def delivered(harness, resource: str, status: str, timeout: float = 10.0) -> dict:
    """The finished delivery of the event about `resource` whose state/status is `status`."""
    def find():
        for e in harness.events(resource=resource):
            detail = e["event"]["detail"] if e["event"] else {}
            if (detail.get("state") or {}).get("value", detail.get("status")) == status:
                done = [d for d in e["deliveries"] if d["outcome"] != "pending"]
                if done:
                    return done[0]
        return None
    return until(find, timeout, 0.05, f"a delivered {status} event for {resource}")


def test_an_alarm_mid_bake_rolls_back_within_seconds(state_machine, sample_app, sfn, lambda_client, cloudwatch,
                                                     dynamodb, make_alarm, harness, unique):
    _, alias, old, new = sample_app
    alarm = make_alarm(function=APP, alias=alias)
    rollout_id = unique("listen")
    arn = start(sfn, state_machine, alias, new, rollout_id, alarms=[alarm])
    wait_baking(dynamodb, alias)
    time.sleep(2)  # a few seconds into a 60 s bake
    assert alias_state(lambda_client, APP, alias) == (old, {new: 0.2})

    t0 = time.monotonic()
    cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="test: canary errors")
    until(lambda: alias_state(lambda_client, APP, alias) == (old, {}), REACTION_S, what="the alias restored")
    reaction = time.monotonic() - t0
    assert reaction < REACTION_S

    desc = stack_local.wait(sfn, arn, timeout=30)
    assert desc["status"] == "FAILED" and desc["error"] == "RolledBack", desc
    assert f"alarm {alarm} went to ALARM" in desc["cause"], desc  # the watcher's SendTaskFailure cause
    assert history(harness, APP, alias) == [(old, {}), (old, {new: 0.2}), (old, {})]
    assert states_entered(sfn, arn)[-3:] == ["Bake", "Rollback", "RolledBack"]
    assert lease_of(dynamodb, APP, alias) is None
    assert record_of(dynamodb, APP, alias, rollout_id)["status"]["S"] == "RolledBack"
    # The watcher got the event and failed this rollout's bake token.
    alarm_arn = cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]["AlarmArn"]
    watcher = delivered(harness, alarm_arn, "ALARM")
    assert watcher["function"] == "shifter-alarm-watcher" and watcher["outcome"] == "delivered", watcher
    assert json.loads(watcher["attempts"][-1]["response"])["rollouts"] == [
        {"rolloutId": rollout_id, "delivery": "Delivered"}]
    # The execution ended FAILED, which ExecutionEndedRule matches: the cleanup finds its lease given back already.
    cleanup = delivered(harness, arn, "FAILED")
    assert cleanup["function"] == "shifter-execution-cleanup" and cleanup["outcome"] == "delivered", cleanup
    assert "cleanup" not in json.loads(cleanup["attempts"][-1]["response"]), cleanup
    assert history(harness, APP, alias) == [(old, {}), (old, {new: 0.2}), (old, {})], "the cleanup wrote nothing"


def test_an_alarm_no_rollout_watches_changes_nothing(state_machine, sample_app, sfn, lambda_client, cloudwatch,
                                                     dynamodb, make_alarm, harness, unique):
    _, alias, old, new = sample_app
    watched, other = make_alarm(function=APP, alias=alias), make_alarm(function=APP)
    arn = start(sfn, state_machine, alias, new, unique("listen"), alarms=[watched])
    try:
        token = wait_baking(dynamodb, alias)["waiting"]["M"]["token"]["S"]
        cloudwatch.set_alarm_state(AlarmName=other, StateValue="ALARM", StateReason="test: not this rollout's")
        other_arn = cloudwatch.describe_alarms(AlarmNames=[other])["MetricAlarms"][0]["AlarmArn"]
        watcher = delivered(harness, other_arn, "ALARM")
        assert watcher["function"] == "shifter-alarm-watcher" and watcher["outcome"] == "delivered", watcher
        attempt = watcher["attempts"][-1]
        assert len(watcher["attempts"]) == 1
        assert json.loads(attempt["response"]) == {"alarm": other, "state": "ALARM", "rollouts": []}
        # What the watcher did while it ran: one query of the registry's running rollouts, nothing else.
        calls = [c for c in harness.calls(since=attempt["at"], until=attempt["at"] + attempt["seconds"])
                 if (c["target"] or "").startswith(("DynamoDB", "AWSStepFunctions"))]
        assert [(c["operation"], c.get("table"), c.get("index")) for c in calls] == [("Query", TABLE, "running")], calls
        time.sleep(1)
        assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
        assert alias_state(lambda_client, APP, alias) == (old, {new: 0.2})
        assert history(harness, APP, alias) == [(old, {}), (old, {new: 0.2})]
        assert lease_of(dynamodb, APP, alias)["waiting"]["M"]["token"]["S"] == token
    finally:
        sfn.stop_execution(executionArn=arn, cause="test done")


def test_an_execution_stopped_mid_bake_is_cleaned_up(state_machine, sample_app, sfn, lambda_client, dynamodb,
                                                     harness, unique):
    _, alias, old, new = sample_app
    rollout_id = unique("stopped")
    arn = start(sfn, state_machine, alias, new, rollout_id)
    wait_baking(dynamodb, alias)
    t0 = time.monotonic()
    stopped = sfn.stop_execution(executionArn=arn, cause="stopped from outside by a test")
    # As on AWS: ABORTED at once, although moto's engine waits in the callback Task (tests/harness/executions.py).
    desc = sfn.describe_execution(executionArn=arn)
    assert desc["status"] == "ABORTED" and desc["stopDate"] == stopped["stopDate"], desc
    assert desc.get("cause") == "stopped from outside by a test"
    until(lambda: alias_state(lambda_client, APP, alias) == (old, {}), REACTION_S, what="the alias restored")
    until(lambda: lease_of(dynamodb, APP, alias) is None, REACTION_S, what="the lease released")
    assert time.monotonic() - t0 < REACTION_S

    assert history(harness, APP, alias) == [(old, {}), (old, {new: 0.2}), (old, {})]
    record = record_of(dynamodb, APP, alias, rollout_id)
    assert record["status"]["S"] == "Failed" and "ABORTED" in record["reason"]["S"], record
    cleanup = delivered(harness, arn, "ABORTED")
    assert cleanup["function"] == "shifter-execution-cleanup" and cleanup["outcome"] == "delivered", cleanup
    assert json.loads(cleanup["attempts"][-1]["response"])["cleanup"]["rolloutId"] == rollout_id
    # The stopped execution did nothing after the stop: no Rollback of its own, and it ends ABORTED for good.
    assert states_entered(sfn, arn)[-1] == "Bake"
    assert stack_local.history(sfn, arn)[-1]["type"] == "ExecutionAborted"
    time.sleep(0.5)
    assert sfn.describe_execution(executionArn=arn)["status"] == "ABORTED"
    assert [e["event"]["detail"]["status"] for e in harness.events(resource=arn)] == ["RUNNING", "ABORTED"]


def test_of_two_executions_started_together_the_loser_touches_nothing(state_machine, sample_app, sfn, lambda_client,
                                                                      dynamodb, harness, unique):
    """Exactly one proceeds; the other fails AliasBusy before any write. Its FAILED end is an execution status
    change the cleanup function receives too: the cleanup must leave the winner's alias and lease alone."""
    _, alias, old, new = sample_app
    names = [unique("first"), unique("second")]
    arns: dict[str, str] = {}
    barrier = threading.Barrier(len(names))
    strategy = {"type": "canary", "percent": 10, "bakeSeconds": 4}

    def go(name: str):
        barrier.wait()
        arns[name] = start(sfn, state_machine, alias, new, name, strategy)

    threads = [threading.Thread(target=go, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    loser = until(lambda: next((n for n in names if sfn.describe_execution(executionArn=arns[n])["status"]
                                == "FAILED"), None), 30, 0.1, "one execution failing")
    winner = next(n for n in names if n != loser)
    desc = sfn.describe_execution(executionArn=arns[loser])
    assert desc["error"] == "AliasBusy", desc
    assert states_entered(sfn, arns[loser]) == ["Prepare", "RequestRejected"]
    cleanup = delivered(harness, arns[loser], "FAILED")
    assert cleanup["outcome"] == "delivered" and "cleanup" not in json.loads(cleanup["attempts"][-1]["response"])
    lease = lease_of(dynamodb, APP, alias)
    assert lease is not None and lease["rolloutId"]["S"] == winner, lease

    done = stack_local.wait(sfn, arns[winner], timeout=60)
    assert done["status"] == "SUCCEEDED", done
    assert alias_state(lambda_client, APP, alias) == (new, {})
    # One rollout's writes only: the canary, then the promotion.
    assert history(harness, APP, alias) == [(old, {}), (old, {new: 0.1}), (new, {})]
    assert lease_of(dynamodb, APP, alias) is None
    assert record_of(dynamodb, APP, alias, winner)["status"]["S"] == "Promoted"
