"""A rollout started by an EventBridge event. The stack's rule (template.yaml: RolloutRequestedRule) targets the
state machine with the whole event as the execution input (Prepare takes the request from its `detail` and
records that EventBridge started the rollout). moto cannot target Step Functions (PutEvents answers 500), so here the
rule, with the template's own EventPattern, targets an SQS queue; the queue proves the rule matched, and the
test then does what the rule's target would: start an execution whose input is the event's detail."""

from __future__ import annotations

import json
import time

import pytest

import stack_local

APP = "sample-orders"


def template_rule() -> dict:
    return stack_local.template()["Resources"]["RolloutRequestedRule"]["Properties"]


@pytest.fixture
def rule_queue(events, sqs, unique):
    """A rule with the template's pattern on the default bus, targeting a fresh SQS queue."""
    props = template_rule()
    name = unique("rollout-requested")
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=name, EventPattern=json.dumps(props["EventPattern"]), State=props["State"])
    events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": queue_arn}])
    yield queue_url
    events.remove_targets(Rule=name, Ids=["queue"])
    events.delete_rule(Name=name)


def receive(sqs, queue_url: str, timeout: float = 3.0) -> list[dict]:
    out, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        for msg in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
            out.append(json.loads(msg["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=msg["ReceiptHandle"])
        if out:
            return out
        time.sleep(0.1)
    return out


def registry_record(execution_arn: str) -> dict:
    """The rollout's record in the harness's registry table, found by its execution."""
    from boto3.dynamodb import types as t  # noqa: PLC0415

    import aws_local  # noqa: PLC0415

    ddb = aws_local.client("dynamodb")
    items = ddb.scan(TableName=aws_local.REGISTRY_TABLE)["Items"]
    plain = [{k: t.TypeDeserializer().deserialize(v) for k, v in item.items()} for item in items]
    return next(i for i in plain if i.get("executionArn") == execution_arn and i["sk"].startswith("ROLLOUT#"))


def test_the_template_rule_matches_rollout_requests_only(events, sqs, rule_queue, unique):
    props = template_rule()
    assert props["EventPattern"] == {"source": ["shifter"], "detail-type": ["Rollout Requested"]}
    assert "InputPath" not in props["Targets"][0] and "InputTransformer" not in props["Targets"][0]
    marker = unique("live")  # the queue may also get other tests' matching events: look for ours only
    detail = {"functionName": APP, "alias": marker, "targetVersion": "7", "strategy": "AllAtOnce"}
    for source, detail_type in (("other", "Rollout Requested"), ("shifter", "Rollout Finished")):
        out = events.put_events(Entries=[{"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail)}])
        assert out["FailedEntryCount"] == 0
    ours = [e for e in receive(sqs, rule_queue, timeout=1.5) if e.get("detail", {}).get("alias") == marker]
    assert ours == [], "a non-matching event reached the rule's target"
    # ... while the same detail under the right source and detail-type does.
    events.put_events(Entries=[{"Source": "shifter", "DetailType": "Rollout Requested", "Detail": json.dumps(detail)}])
    ours = [e for e in receive(sqs, rule_queue) if e.get("detail", {}).get("alias") == marker]
    assert len(ours) == 1 and ours[0]["source"] == "shifter", ours


def test_an_event_starts_a_rollout_that_promotes(state_machine, events, sqs, rule_queue, make_function, create_alias,
                                                 sfn, lambda_client, harness, unique):
    fn = make_function(APP, versions=2)
    old, new = fn.versions[-2:]
    alias = unique("live")
    create_alias(APP, alias, old)
    detail = {"functionName": APP, "alias": alias, "targetVersion": new,
              "strategy": {"type": "linear", "percent": 50, "intervalSeconds": 1}}
    out = events.put_events(Entries=[{"Source": "shifter", "DetailType": "Rollout Requested",
                                      "Detail": json.dumps(detail)}])
    assert out["FailedEntryCount"] == 0, out

    delivered = [e for e in receive(sqs, rule_queue) if e.get("detail", {}).get("alias") == alias]
    assert len(delivered) == 1, delivered
    event = delivered[0]
    assert event["source"] == "shifter" and event["detail-type"] == "Rollout Requested"
    assert event["detail"] == detail

    # The rule's Step Functions target, played by the harness: the input is the whole event (no InputPath);
    # EventBridge names the execution itself (here after the event id, unique per event).
    arn = sfn.start_execution(stateMachineArn=state_machine.state_machine_arn, name=f"eb-{event['id']}"[:80],
                              input=json.dumps(event))["executionArn"]
    desc = stack_local.wait(sfn, arn, timeout=60)
    assert desc["status"] == "SUCCEEDED", desc
    assert json.loads(desc["input"]) == event
    record = registry_record(arn)
    assert record["startedBy"] == "eventbridge", record
    a = lambda_client.get_alias(FunctionName=APP, Name=alias)
    assert a["FunctionVersion"] == new and not (a.get("RoutingConfig") or {}).get("AdditionalVersionWeights")
    assert [(h["functionVersion"], h["additionalVersionWeights"]) for h in harness.alias_history(APP, alias)] == [
        (old, {}), (old, {new: 0.5}), (new, {})]
