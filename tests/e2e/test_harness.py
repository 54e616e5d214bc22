"""Self-test of the offline AWS harness (tests/harness/): proxy routing, alias history, CBOR bridge, faults."""

from __future__ import annotations

import datetime as dt
import json
import time

import boto3
import botocore.exceptions
import botocore.model
import pytest
from aws_local import ACCOUNT, ENDPOINT, NO_RETRY, REGION
from aws_local import cloudwatch_cbor as cbor_call


def test_health_and_functions(harness):
    assert harness.health()
    assert isinstance(harness.functions(), list)


def test_alias_history_records_create_and_update(lambda_client, harness, make_function, create_alias, unique):
    fn = make_function(unique("hist"), versions=2)
    v1, v2 = fn.versions
    create_alias(fn.name, "live", v1)
    # By ARN, as the Rust engine may: the history must still say the function NAME.
    lambda_client.update_alias(FunctionName=fn.arn, Name="live", FunctionVersion=v1,
                               RoutingConfig={"AdditionalVersionWeights": {v2: 0.25}})
    history = harness.alias_history(function=fn.name)
    assert [(h["alias"], h["functionVersion"], h["additionalVersionWeights"]) for h in history] == [
        ("live", v1, {}), ("live", v1, {v2: 0.25})]
    assert history[0]["seq"] < history[1]["seq"]
    assert history[0]["at"] <= history[1]["at"] <= time.time()
    assert all(h["function"] == fn.name and h["revisionId"] for h in history)
    assert harness.alias_history(function=fn.name, alias="other") == []


def test_cbor_describe_alarms(make_alarm):
    name = make_alarm(state="ALARM")
    status, headers, body = cbor_call("DescribeAlarms", {"AlarmNames": [name]})
    assert status == 200, body
    assert headers["smithy-protocol"] == "rpc-v2-cbor"
    assert headers["Content-Type"] == "application/cbor"
    assert "ResponseMetadata" not in body
    (alarm,) = body["MetricAlarms"]
    assert alarm["AlarmName"] == name and alarm["StateValue"] == "ALARM"
    # Timestamps travel as CBOR tag 1 (epoch seconds), which cbor2 decodes to aware datetimes.
    updated = alarm["StateUpdatedTimestamp"]
    assert isinstance(updated, dt.datetime) and updated.tzinfo is not None
    assert abs(updated.timestamp() - time.time()) < 600


def test_cbor_put_metric_alarm_and_set_alarm_state(cloudwatch, unique):
    name = unique("cbor-alarm")
    status, _, body = cbor_call("PutMetricAlarm", {
        "AlarmName": name, "Namespace": "AWS/Lambda", "MetricName": "Errors", "Statistic": "Sum",
        "Dimensions": [{"Name": "FunctionName", "Value": "f"}], "Period": 60, "EvaluationPeriods": 1,
        "Threshold": 2.5, "ComparisonOperator": "GreaterThanThreshold"})
    assert (status, body) == (200, {})
    status, _, body = cbor_call("SetAlarmState", {"AlarmName": name, "StateValue": "ALARM", "StateReason": "r"})
    assert (status, body) == (200, {})
    alarm = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    assert (alarm["StateValue"], alarm["Threshold"]) == ("ALARM", 2.5)


def test_cbor_error_for_missing_alarm(unique):
    status, headers, body = cbor_call("SetAlarmState", {"AlarmName": unique("missing"), "StateValue": "OK",
                                                        "StateReason": "r"})
    # moto's status is kept: ResourceNotFound is modelled with httpError 404, as AWS sends it.
    assert status == 404
    assert body["__type"].split("#")[-1] == "ResourceNotFound"
    assert "message" in body
    assert headers["smithy-protocol"] == "rpc-v2-cbor"
    # CloudWatch is awsQueryCompatible: SDKs take the error code from this header.
    assert headers["x-amzn-query-error"] == "ResourceNotFound;Sender"


def test_cbor_bridge_with_botocore_rpcv2_client(monkeypatch, make_alarm, unique):
    """Cross-check with an independent RPC-v2 CBOR client: botocore's own serializer and parser."""
    protocols = ("smithy-rpc-v2-cbor",) + tuple(
        p for p in botocore.model.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS if p != "smithy-rpc-v2-cbor")
    monkeypatch.setattr(botocore.model, "PRIORITY_ORDERED_SUPPORTED_PROTOCOLS", protocols)
    cw = boto3.client("cloudwatch", endpoint_url=ENDPOINT, region_name=REGION, config=NO_RETRY)
    assert cw.meta.service_model.resolved_protocol == "smithy-rpc-v2-cbor"
    name = make_alarm(state="ALARM")
    alarm = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    assert alarm["StateValue"] == "ALARM"
    assert isinstance(alarm["StateUpdatedTimestamp"], dt.datetime)
    with pytest.raises(cw.exceptions.ResourceNotFound):
        cw.set_alarm_state(AlarmName=unique("missing"), StateValue="OK", StateReason="r")


def test_fault_makes_next_update_alias_fail(lambda_client, harness, faults, make_function, create_alias, unique):
    fn = make_function(unique("fault"), versions=2)
    v1, v2 = fn.versions
    create_alias(fn.name, "live", v1)
    faults("UpdateAlias", function=fn.name, status=500, code="ServiceException", message="boom")
    with pytest.raises(botocore.exceptions.ClientError) as err:
        lambda_client.update_alias(FunctionName=fn.name, Name="live", FunctionVersion=v2)
    assert err.value.response["Error"]["Code"] == "ServiceException"
    assert err.value.response["Error"]["Message"] == "boom"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    # count=1: the next call goes through, and only successes are in the history.
    lambda_client.update_alias(FunctionName=fn.name, Name="live", FunctionVersion=v2)
    assert [h["functionVersion"] for h in harness.alias_history(function=fn.name)] == [v1, v2]


def test_fault_skip_and_function_filter(lambda_client, faults, make_function, unique):
    fn = make_function(unique("skip"))
    other = make_function(unique("other"))
    faults("GetFunction", function=fn.name, code="TooManyRequestsException", status=429, skip=1, count=1)
    lambda_client.get_function(FunctionName=other.name)  # filtered out: does not use up the rule
    lambda_client.get_function(FunctionName=fn.name)  # skipped
    with pytest.raises(lambda_client.exceptions.TooManyRequestsException):
        lambda_client.get_function(FunctionName=fn.arn)
    lambda_client.get_function(FunctionName=fn.name)


def test_fault_on_cbor_operation(faults, make_alarm):
    name = make_alarm()
    faults("DescribeAlarms", status=400, code="InvalidNextToken", message="bad token")
    status, headers, body = cbor_call("DescribeAlarms", {"AlarmNames": [name]})
    assert status == 400
    assert body == {"__type": "com.amazonaws.cloudwatch#InvalidNextToken", "message": "bad token"}
    assert headers["x-amzn-query-error"] == "InvalidNextToken;Sender"
    assert cbor_call("DescribeAlarms", {"AlarmNames": [name]})[0] == 200


def test_invoke_of_non_workspace_function_reaches_moto(lambda_client, make_function, unique):
    fn = make_function(unique("moto-fn"))
    out = lambda_client.invoke(FunctionName=fn.name, Payload=b'{"ping": 1}')
    # moto without Docker echoes the payload and sets no ExecutedVersion.
    assert out["StatusCode"] == 200
    assert json.loads(out["Payload"].read()) == {"ping": 1}
    assert "FunctionError" not in out


def test_invoke_workspace_function(lambda_client, ok_function):
    out = lambda_client.invoke(FunctionName=ok_function.name, Payload=json.dumps(ok_function.payload).encode())
    assert out["StatusCode"] == 200
    assert out["ExecutedVersion"] == "$LATEST"
    payload = json.loads(out["Payload"].read())
    assert "FunctionError" not in out, payload
    if ok_function.name == "trial-echo":
        assert payload["echo"] == ok_function.payload
        assert payload["endpoint"] == ENDPOINT  # the function reaches AWS through the proxy too


def test_invoke_handler_error_becomes_function_error(lambda_client, failing_function):
    out = lambda_client.invoke(FunctionName=failing_function.name, Payload=json.dumps(failing_function.payload))
    assert out["StatusCode"] == 200
    assert out["FunctionError"] == "Unhandled"
    payload = json.loads(out["Payload"].read())
    assert payload["errorType"] and "errorMessage" in payload


def test_invoke_event_answers_202_at_once(lambda_client, ok_function):
    out = lambda_client.invoke(FunctionName=ok_function.name, InvocationType="Event",
                               Payload=json.dumps(ok_function.payload))
    assert out["StatusCode"] == 202
    assert out["Payload"].read() == b""


def test_executed_version_follows_qualifier_and_alias(lambda_client, ok_function, make_function, unique):
    name, payload = ok_function.name, json.dumps(ok_function.payload)
    fn = make_function(name, versions=2)  # registers the binary's name in moto (kept across runs)
    v1, v2 = fn.versions[-2:]
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
    assert lambda_client.invoke(FunctionName=f"{arn}:{v1}", Payload=payload)["ExecutedVersion"] == v1
    alias = unique("a")
    lambda_client.create_alias(FunctionName=name, Name=alias, FunctionVersion=v1)
    out = lambda_client.invoke(FunctionName=name, Qualifier=alias, Payload=payload)
    assert out["ExecutedVersion"] == v1
    # A weight of 1.0 on the additional version: every call lands there.
    lambda_client.update_alias(FunctionName=name, Name=alias, FunctionVersion=v1,
                               RoutingConfig={"AdditionalVersionWeights": {v2: 1.0}})
    assert lambda_client.invoke(FunctionName=f"{name}:{alias}", Payload=payload)["ExecutedVersion"] == v2


def test_fault_on_invoke_of_workspace_function(lambda_client, faults, ok_function):
    faults("Invoke", function=ok_function.name, status=429, code="TooManyRequestsException", message="slow down")
    with pytest.raises(lambda_client.exceptions.TooManyRequestsException):
        lambda_client.invoke(FunctionName=ok_function.name, Payload=json.dumps(ok_function.payload))
    out = lambda_client.invoke(FunctionName=ok_function.name, Payload=json.dumps(ok_function.payload))
    assert out["StatusCode"] == 200


def test_step_functions_task_runs_workspace_binary(run_state_machine, ok_function, failing_function):
    """moto's Step Functions engine calls Lambda through the proxy (MOTO_PORT), so tasks run real binaries,
    and a handler error reaches Catch with its errorType."""
    arn = lambda name: f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"  # noqa: E731
    definition = {
        "StartAt": "Ok",
        "States": {
            "Ok": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                   "Parameters": {"FunctionName": arn(ok_function.name), "Payload": ok_function.payload},
                   "ResultSelector": {"status.$": "$.StatusCode"}, "ResultPath": "$.ok", "Next": "Fail"},
            "Fail": {"Type": "Task", "Resource": arn(failing_function.name),
                     "Parameters": failing_function.payload, "ResultPath": "$.never",
                     "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Done"}],
                     "End": True},
            "Done": {"Type": "Pass", "End": True},
        },
    }
    desc = run_state_machine(definition, {"ping": 1})
    assert desc["status"] == "SUCCEEDED", desc
    output = json.loads(desc["output"])
    assert output["ok"] == {"status": 200}
    assert output["error"]["Error"]
    if failing_function.name == "trial-fail":
        assert output["error"]["Error"] == "HookFailed"


def test_sns_to_sqs_notifications(sns, topic_queue):
    tq = topic_queue()
    sns.publish(TopicArn=tq.topic_arn, Subject="rollout started", Message=json.dumps({"step": 1}),
                MessageAttributes={"event": {"DataType": "String", "StringValue": "started"}})
    (note,) = tq.drain(expect=1)
    assert note["Subject"] == "rollout started"
    assert note["Message"] == {"step": 1}
    assert note["MessageAttributes"] == {"event": "started"}
    assert tq.drain() == []


def test_step_functions_sns_publish_goes_through_proxy(run_state_machine, topic_queue):
    """The engine's sns:publish integration reaches moto's SNS (via the proxy) with Subject and attributes."""
    tq = topic_queue()
    definition = {"StartAt": "Notify", "States": {"Notify": {
        "Type": "Task", "Resource": "arn:aws:states:::sns:publish", "End": True,
        "Parameters": {"TopicArn": tq.topic_arn, "Subject": "rollout done", "Message.$": "States.JsonToString($)",
                       "MessageAttributes": {"event": {"DataType": "String", "StringValue": "done"}}}}}}
    desc = run_state_machine(definition, {"step": 2})
    assert desc["status"] == "SUCCEEDED", desc
    (note,) = tq.drain(expect=1)
    assert (note["Subject"], note["Message"], note["MessageAttributes"]) == ("rollout done", {"step": 2},
                                                                            {"event": "done"})
