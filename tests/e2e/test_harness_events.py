"""The harness's EventBridge events (tests/harness/aws_events.py, event_delivery.py, executions.py), which moto does
not emit: their format against AWS's (the fixtures in events/eventbridge/), when they are emitted, the rules'
pattern filtering, EventBridge's retries, and StopExecution of an execution waiting in a callback Task. No Rust
needed except where a test delivers to a shifter function (it then only reads its answer)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import time

import pytest

import stack_local
from aws_local import cloudwatch_cbor

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "events", "eventbridge")
ALARM_TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$")
EVENT_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def fixture(name: str) -> dict:
    with open(os.path.join(FIXTURES, name)) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def stack(harness) -> stack_local.LocalStack:
    """The stack registers template.yaml's rules (AlarmStateChangeRule, this machine's ExecutionEndedRule)."""
    return stack_local.deploy()


def wait_for(fetch, timeout: float = 10.0, what: str = "events"):
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if value:
            return value
        assert time.monotonic() < deadline, f"no {what} in {timeout} s"
        time.sleep(0.05)


def alarm_arn(cloudwatch, name: str) -> str:
    return cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["AlarmArn"]


def shape(value):
    """The structure of a JSON value: dict keys (recursively) and leaf types; lists by their first element."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def test_a_state_change_is_emitted_in_aws_format(stack, cloudwatch, make_alarm, harness):
    alarm = make_alarm(function="orders", alias="live")  # INSUFFICIENT_DATA -> OK: one event already
    arn = alarm_arn(cloudwatch, alarm)
    reason_data = json.dumps({"version": "1.0", "recentDatapoints": [3.0], "threshold": 1.0})
    cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="Threshold Crossed: test",
                               StateReasonData=reason_data)
    events = wait_for(lambda: [e for e in harness.events(resource=arn) if e["event"]["detail"]["state"]["value"]
                               == "ALARM"])
    assert len(events) == 1
    event = events[0]["event"]
    expected = fixture("alarm-state-change.json")
    del expected["detail"]["configuration"]["description"]  # the alarm has none: AWS then writes none
    del expected["detail"]["previousState"]["reasonData"]  # nor had its previous state (set without reason data)
    assert shape(event) == shape(expected)
    assert event["source"] == "aws.cloudwatch" and event["detail-type"] == "CloudWatch Alarm State Change"
    assert event["resources"] == [arn] and event["account"] == "123456789012" and event["region"] == "us-east-1"
    assert EVENT_TIME.match(event["time"]), event["time"]
    detail = event["detail"]
    assert detail["alarmName"] == alarm
    assert detail["state"]["value"] == "ALARM" and detail["state"]["reason"] == "Threshold Crossed: test"
    assert detail["state"]["reasonData"] == reason_data
    assert detail["previousState"]["value"] == "OK" and detail["previousState"]["reason"] == "set by test harness"
    assert ALARM_TS.match(detail["state"]["timestamp"]) and ALARM_TS.match(detail["previousState"]["timestamp"])
    assert detail["previousState"]["timestamp"] < detail["state"]["timestamp"]
    # The state timestamp is the alarm's own, to the millisecond.
    updated = cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]["StateUpdatedTimestamp"]
    assert detail["state"]["timestamp"] == updated.astimezone(dt.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.") + f"{updated.microsecond // 1000:03d}+0000"
    assert detail["configuration"]["metrics"][0]["metricStat"] == {
        "metric": {"namespace": "AWS/Lambda", "name": "Errors",
                   "dimensions": {"FunctionName": "orders", "Resource": "orders:live"}},
        "period": 60, "stat": "Sum"}
    # The copy the rule delivered is the same event (EventBridge's id, moto's extra keys dropped).
    delivery = wait_for(lambda: [d for d in harness.events(resource=arn)[-1]["deliveries"]
                                 if d["outcome"] != "pending"], what="delivery")[0]
    assert delivery["event"] == event and delivery["rule"] == "shifter-AlarmStateChangeRule"


def test_the_same_value_again_emits_nothing(stack, cloudwatch, make_alarm, harness):
    alarm = make_alarm()
    arn = alarm_arn(cloudwatch, alarm)
    cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="first")
    cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="again, other reason")
    time.sleep(0.5)
    values = [e["event"]["detail"]["state"]["value"] for e in harness.events(resource=arn)]
    assert values == ["OK", "ALARM"]  # created INSUFFICIENT_DATA (no event), then OK, then ALARM once


def test_a_state_change_through_cbor_is_emitted_too(stack, cloudwatch, make_alarm, harness):
    """aws-sdk-cloudwatch (the engine's) speaks Smithy RPC-v2 CBOR: its SetAlarmState emits like boto3's."""
    alarm = make_alarm()
    status, _, _ = cloudwatch_cbor("SetAlarmState", {"AlarmName": alarm, "StateValue": "INSUFFICIENT_DATA",
                                                     "StateReason": "via CBOR"})
    assert status == 200
    arn = alarm_arn(cloudwatch, alarm)
    events = wait_for(lambda: [e for e in harness.events(resource=arn)
                               if e["event"]["detail"]["state"]["value"] == "INSUFFICIENT_DATA"])
    assert events[0]["event"]["detail"]["state"]["reason"] == "via CBOR"


def test_the_rule_pattern_filters_what_reaches_the_watcher(stack, cloudwatch, make_alarm, harness):
    alarm = make_alarm(state="ALARM")  # INSUFFICIENT_DATA -> ALARM
    arn = alarm_arn(cloudwatch, alarm)
    cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="recovered")
    cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="INSUFFICIENT_DATA", StateReason="no data")
    events = wait_for(lambda: (lambda es: es if len(es) == 3 and all(
        d["outcome"] != "pending" for e in es for d in e["deliveries"]) else None)(harness.events(resource=arn)))
    time.sleep(0.5)  # an OK delivery, if any, would have shown up by now
    events = harness.events(resource=arn)
    delivered = {e["event"]["detail"]["state"]["value"]: [d["function"] for d in e["deliveries"]] for e in events}
    assert delivered == {"ALARM": ["shifter-alarm-watcher"], "OK": [],
                         "INSUFFICIENT_DATA": ["shifter-alarm-watcher"]}


def test_a_failed_invoke_is_retried_like_eventbridge(stack, cloudwatch, make_alarm, harness, faults):
    alarm = make_alarm()
    faults("Invoke", function="shifter-alarm-watcher", status=500, code="ServiceException", count=2)
    cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="test")
    arn = alarm_arn(cloudwatch, alarm)
    delivery = wait_for(lambda: [d for e in harness.events(resource=arn) for d in e["deliveries"]
                                 if d["outcome"] != "pending"], timeout=15, what="delivery")[0]
    assert [a["status"] for a in delivery["attempts"]] == [500, 500, 200]
    assert delivery["outcome"] == "delivered"


def test_execution_status_changes_are_emitted_and_filtered(stack, sfn, lambda_role, harness, unique):
    """RUNNING and SUCCEEDED of this stack's machine are emitted in AWS's format; ExecutionEndedRule delivers
    neither (it wants ABORTED, TIMED_OUT, FAILED of the rollout machine)."""
    sm = sfn.create_state_machine(name=unique("sm"), roleArn=lambda_role, definition=json.dumps(
        {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "Result": {"ok": True}, "End": True}}}))
    arn = sfn.start_execution(stateMachineArn=sm["stateMachineArn"], name=unique("run"), input='{"a": 1}')[
        "executionArn"]
    events = wait_for(lambda: (lambda es: es if len(es) == 2 else None)(harness.events(resource=arn)))
    assert [e["event"]["detail"]["status"] for e in events] == ["RUNNING", "SUCCEEDED"]
    desc = sfn.describe_execution(executionArn=arn)
    running, succeeded = (e["event"] for e in events)
    assert shape(running)["detail"].keys() == fixture("execution-status-change.json")["detail"].keys()
    assert running["source"] == "aws.states" and running["detail-type"] == "Step Functions Execution Status Change"
    assert running["resources"] == [arn] and running["detail"]["stopDate"] is None
    assert running["detail"]["input"] == '{"a": 1}' and running["detail"]["output"] is None
    assert succeeded["detail"]["startDate"] == int(desc["startDate"].timestamp() * 1000 + 0.5)
    assert succeeded["detail"]["stopDate"] == int(desc["stopDate"].timestamp() * 1000 + 0.5)
    assert json.loads(succeeded["detail"]["output"]) == {"ok": True}
    assert succeeded["detail"]["outputDetails"] == {"included": True}
    assert all(e["deliveries"] == [] for e in events)


def callback_machine(sfn, lambda_role, make_function, unique) -> str:
    """Wait in a callback Task (a function moto itself answers), with a Catch that must never run after a stop."""
    fn = make_function(unique("cb"), versions=0)
    definition = {"StartAt": "Listen", "States": {
        "Listen": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                   "Parameters": {"FunctionName": fn.arn, "Payload": {"token.$": "$$.Task.Token"}},
                   "TimeoutSeconds": 60, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                   "End": True},
        "Caught": {"Type": "Pass", "End": True}}}
    return sfn.create_state_machine(name=unique("cb"), roleArn=lambda_role,
                                    definition=json.dumps(definition))["stateMachineArn"]


def test_stop_execution_ends_a_waiting_execution_at_once(sfn, lambda_role, make_function, harness, unique):
    machine = callback_machine(sfn, lambda_role, make_function, unique)
    arn = sfn.start_execution(stateMachineArn=machine, name=unique("run"), input="{}")["executionArn"]
    token = wait_for(lambda: next((json.loads(e["taskScheduledEventDetails"]["parameters"])["Payload"]["token"]
                                   for e in stack_local.history(sfn, arn) if e["type"] == "TaskScheduled"), None))
    time.sleep(0.3)
    stopped = sfn.stop_execution(executionArn=arn, error="Operator", cause="stopped by a test")
    assert "stopDate" in stopped
    desc = sfn.describe_execution(executionArn=arn)
    assert (desc["status"], desc["stopDate"], desc.get("error"), desc.get("cause")) == (
        "ABORTED", stopped["stopDate"], "Operator", "stopped by a test")
    assert "output" not in desc
    listed = lambda status=None: [e["executionArn"] for e in sfn.list_executions(  # noqa: E731
        stateMachineArn=machine, **({"statusFilter": status} if status else {}))["executions"]]
    assert listed("ABORTED") == [arn] and listed("RUNNING") == [] and listed("FAILED") == []
    assert [e["status"] for e in sfn.list_executions(stateMachineArn=machine)["executions"]] == ["ABORTED"]
    events = stack_local.history(sfn, arn)
    assert [e["type"] for e in events][-2:] == ["TaskSubmitted", "ExecutionAborted"], [e["type"] for e in events]
    assert events[-1]["executionAbortedEventDetails"] == {"error": "Operator", "cause": "stopped by a test"}
    assert not any(e["type"] == "PassStateEntered" for e in events), "the Catch ran after the stop"
    statuses = [e["event"]["detail"]["status"] for e in harness.events(resource=arn)]
    assert statuses == ["RUNNING", "ABORTED"]
    aborted = harness.events(resource=arn)[-1]["event"]["detail"]
    assert aborted["stopDate"] == int(stopped["stopDate"].timestamp() * 1000 + 0.5)
    assert (aborted["error"], aborted["cause"]) == ("Operator", "stopped by a test")
    # The token is finished: answering it now changes nothing (moto accepts a late failure silently).
    sfn.send_task_failure(taskToken=token, error="Late")
    time.sleep(0.5)
    assert sfn.describe_execution(executionArn=arn)["status"] == "ABORTED"
    assert [e["event"]["detail"]["status"] for e in harness.events(resource=arn)] == ["RUNNING", "ABORTED"]
