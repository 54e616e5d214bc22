"""Self-test of the alarm history the harness proxy keeps (tests/harness/alarm_history.py), which moto 5.2.5 lacks:
DescribeAlarmHistory answered in AWS's format, DescribeAlarms carrying StateTransitionedTimestamp, for boto3's AWS
JSON, the Rust SDK's Smithy RPC-v2 CBOR, and the query protocol. No Rust build needed."""

from __future__ import annotations

import datetime as dt
import json
import time

import boto3
import botocore.exceptions
import botocore.model
import cbor2
import pytest
from aws_local import ENDPOINT, NO_RETRY, REGION, cloudwatch_cbor, cloudwatch_cbor_raw

ALARM_TYPES = ["MetricAlarm", "CompositeAlarm"]
CREATED = "Unchecked: Initial alarm creation"


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def pause():
    """CloudWatch timestamps have millisecond precision: keep distinct events in distinct milliseconds."""
    time.sleep(0.02)


def set_state(cloudwatch, name: str, value: str, reason: str, data: dict | None = None):
    extra = {"StateReasonData": json.dumps(data)} if data is not None else {}
    cloudwatch.set_alarm_state(AlarmName=name, StateValue=value, StateReason=reason, **extra)
    pause()


def flicker(cloudwatch, name: str) -> tuple[dt.datetime, dt.datetime]:
    """OK -> ALARM -> OK, as a canary's alarm between two health checks; returns times just before and after."""
    since = now()
    pause()
    set_state(cloudwatch, name, "ALARM", "canary errors", {"version": "1.0", "recentDatapoints": [3.0]})
    set_state(cloudwatch, name, "OK", "recovered")
    return since, now()


def history(cloudwatch, name: str, **kwargs) -> list[dict]:
    return cloudwatch.describe_alarm_history(AlarmName=name, **kwargs)["AlarmHistoryItems"]


def alarm(cloudwatch, name: str) -> dict:
    return cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]


def client_speaking(monkeypatch, protocol: str):
    """A CloudWatch client that speaks `protocol` (botocore's own serializer and parser for it)."""
    order = (protocol,) + tuple(p for p in botocore.model.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS if p != protocol)
    monkeypatch.setattr(botocore.model, "PRIORITY_ORDERED_SUPPORTED_PROTOCOLS", order)
    cw = boto3.client("cloudwatch", endpoint_url=ENDPOINT, region_name=REGION, config=NO_RETRY)
    assert cw.meta.service_model.resolved_protocol == protocol
    return cw


def test_ok_alarm_ok_gives_two_state_updates_in_order(cloudwatch, make_alarm):
    name = make_alarm(state="OK")
    since, until = flicker(cloudwatch, name)
    items = history(cloudwatch, name, HistoryItemType="StateUpdate", StartDate=since, EndDate=until)
    # Newest first by default (ScanBy TimestampDescending).
    assert [i["HistorySummary"] for i in items] == ["Alarm updated from ALARM to OK", "Alarm updated from OK to ALARM"]
    assert all((i["AlarmName"], i["AlarmType"], i["HistoryItemType"]) == (name, "MetricAlarm", "StateUpdate")
               for i in items)
    back, fired = items
    assert since <= fired["Timestamp"] < back["Timestamp"] <= until
    # HistoryData is a JSON string; stateReasonData is an object in it, and absent when the state had none.
    alarm_state = {"stateValue": "ALARM", "stateReason": "canary errors",
                   "stateReasonData": {"version": "1.0", "recentDatapoints": [3.0]}}
    assert json.loads(fired["HistoryData"]) == {
        "version": "1.0", "oldState": {"stateValue": "OK", "stateReason": "set by test harness"},
        "newState": alarm_state}
    assert json.loads(back["HistoryData"]) == {
        "version": "1.0", "oldState": alarm_state, "newState": {"stateValue": "OK", "stateReason": "recovered"}}
    assert history(cloudwatch, name, HistoryItemType="StateUpdate", StartDate=since,
                   ScanBy="TimestampAscending") == [fired, back]


def test_start_date_after_the_first_change_filters_it_out(cloudwatch, make_alarm):
    name = make_alarm(state="OK")
    set_state(cloudwatch, name, "ALARM", "canary errors")
    between = now()
    pause()
    set_state(cloudwatch, name, "OK", "recovered")
    (item,) = history(cloudwatch, name, HistoryItemType="StateUpdate", StartDate=between)
    assert item["HistorySummary"] == "Alarm updated from ALARM to OK"
    # Both bounds are inclusive: an item stamped exactly at StartDate = EndDate is returned.
    exact = history(cloudwatch, name, StartDate=item["Timestamp"], EndDate=item["Timestamp"])
    assert exact == [item]
    assert history(cloudwatch, name, EndDate=between - dt.timedelta(days=1)) == []


def test_setting_the_same_state_twice_records_nothing(cloudwatch, make_alarm, harness):
    name = make_alarm(state="OK")
    since = now()
    pause()
    set_state(cloudwatch, name, "OK", "still fine")
    set_state(cloudwatch, name, "ALARM", "canary errors")
    set_state(cloudwatch, name, "ALARM", "still failing")
    (item,) = history(cloudwatch, name, HistoryItemType="StateUpdate", StartDate=since)
    assert item["HistorySummary"] == "Alarm updated from OK to ALARM"
    assert json.loads(item["HistoryData"])["oldState"]["stateReason"] == "still fine"
    recorded = harness.alarm_history(name)
    assert [r["summary"] for r in recorded] == [f'Alarm "{name}" created', "Alarm updated from INSUFFICIENT_DATA to OK",
                                                "Alarm updated from OK to ALARM"]
    assert all(r["alarm_arn"].endswith(f":alarm:{name}") for r in recorded)


def test_a_new_alarm_starts_in_insufficient_data_with_a_creation_item(cloudwatch, unique):
    name = unique("created")
    before = now()
    cloudwatch.put_metric_alarm(
        AlarmName=name, Namespace="AWS/Lambda", MetricName="Errors", Statistic="Sum", Period=60, EvaluationPeriods=1,
        Threshold=1.0, ComparisonOperator="GreaterThanOrEqualToThreshold",
        Dimensions=[{"Name": "FunctionName", "Value": "f"}])
    created = alarm(cloudwatch, name)
    assert (created["StateValue"], created["StateReason"]) == ("INSUFFICIENT_DATA", CREATED)
    assert created["StateTransitionedTimestamp"] == created["StateUpdatedTimestamp"]
    assert history(cloudwatch, name, HistoryItemType="StateUpdate") == []
    (item,) = history(cloudwatch, name, HistoryItemType="ConfigurationUpdate")
    assert item["HistorySummary"] == f'Alarm "{name}" created'
    assert item["Timestamp"] == created["StateTransitionedTimestamp"]
    assert before - dt.timedelta(milliseconds=1) <= item["Timestamp"] <= now()
    data = json.loads(item["HistoryData"])
    assert (data["version"], data["type"]) == ("1.0", "Create")
    assert data["createdAlarm"]["alarmName"] == name
    assert data["createdAlarm"]["dimensions"] == [{"name": "FunctionName", "value": "f"}]


def test_state_transitioned_timestamp_moves_only_on_a_value_change(cloudwatch, make_alarm):
    name = make_alarm(state="OK")
    first = alarm(cloudwatch, name)
    assert first["StateTransitionedTimestamp"] == first["StateUpdatedTimestamp"]
    set_state(cloudwatch, name, "OK", "same value, new reason")
    same = alarm(cloudwatch, name)
    assert same["StateUpdatedTimestamp"] > first["StateUpdatedTimestamp"]
    assert same["StateTransitionedTimestamp"] == first["StateTransitionedTimestamp"]
    set_state(cloudwatch, name, "ALARM", "canary errors")
    fired = alarm(cloudwatch, name)
    assert fired["StateTransitionedTimestamp"] == fired["StateUpdatedTimestamp"] > same["StateUpdatedTimestamp"]
    (item,) = history(cloudwatch, name, HistoryItemType="StateUpdate", MaxRecords=1)
    assert item["Timestamp"] == fired["StateTransitionedTimestamp"]


def test_updating_an_alarm_keeps_its_state(cloudwatch, make_alarm):
    """moto resets an updated alarm to OK; AWS leaves its state unchanged, and so does the proxy."""
    name = make_alarm(state="ALARM")
    fired = alarm(cloudwatch, name)
    cloudwatch.put_metric_alarm(
        AlarmName=name, Namespace="AWS/Lambda", MetricName="Errors", Statistic="Sum", Period=60, EvaluationPeriods=1,
        Threshold=5.0, ComparisonOperator="GreaterThanOrEqualToThreshold")
    updated = alarm(cloudwatch, name)
    assert (updated["StateValue"], updated["StateReason"], updated["Threshold"]) == ("ALARM", fired["StateReason"], 5.0)
    assert updated["StateTransitionedTimestamp"] == fired["StateTransitionedTimestamp"]


def test_history_filters_by_alarm_and_type(cloudwatch, make_alarm):
    one, two = make_alarm(state="ALARM"), make_alarm(state="ALARM")
    since = now() - dt.timedelta(seconds=30)
    everything = cloudwatch.describe_alarm_history(StartDate=since)["AlarmHistoryItems"]
    assert {one, two} <= {i["AlarmName"] for i in everything}
    assert {i["AlarmName"] for i in history(cloudwatch, one)} == {one}
    # AWS: without AlarmTypes only metric alarms' history is returned; moto has no composite alarms at all.
    assert history(cloudwatch, one, AlarmTypes=["CompositeAlarm"]) == []
    assert len(history(cloudwatch, one, AlarmTypes=ALARM_TYPES)) == 2  # created, INSUFFICIENT_DATA -> ALARM


def test_pages_follow_next_token(cloudwatch, make_alarm):
    name = make_alarm(state="OK")
    flicker(cloudwatch, name)
    whole = history(cloudwatch, name)
    assert len(whole) == 4  # created, INSUFFICIENT_DATA -> OK, OK -> ALARM, ALARM -> OK
    pages, token = [], None
    while True:
        more = {"NextToken": token} if token else {}
        page = cloudwatch.describe_alarm_history(AlarmName=name, MaxRecords=3, **more)
        pages.append(page["AlarmHistoryItems"])
        token = page.get("NextToken")
        if not token:
            break
    assert [len(p) for p in pages] == [3, 1]
    assert [i for p in pages for i in p] == whole


def test_bad_requests_get_aws_errors(cloudwatch, make_alarm):
    name = make_alarm()
    with pytest.raises(botocore.exceptions.ClientError) as err:
        cloudwatch.describe_alarm_history(AlarmName=name, NextToken="not-a-token")
    assert err.value.response["Error"]["Code"] == "InvalidNextToken"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(botocore.exceptions.ClientError) as err:
        cloudwatch.describe_alarm_history(AlarmName=name, MaxRecords=101)
    assert err.value.response["Error"]["Code"] == "ValidationError"


def test_cbor_history_is_what_the_rust_sdk_reads(cloudwatch, make_alarm):
    """The exact request the engine sends (aws-sdk-cloudwatch: Smithy RPC-v2 CBOR, timestamps as tag 1)."""
    name = make_alarm(state="OK")
    since, until = flicker(cloudwatch, name)
    params = {"AlarmName": name, "AlarmTypes": ALARM_TYPES, "HistoryItemType": "StateUpdate", "StartDate": since,
              "EndDate": until, "ScanBy": "TimestampDescending", "MaxRecords": 100}
    status, headers, raw = cloudwatch_cbor_raw("DescribeAlarmHistory", params)
    assert status == 200, raw
    assert (headers["smithy-protocol"], headers["Content-Type"]) == ("rpc-v2-cbor", "application/cbor")
    # Keep tag 1 visible instead of letting cbor2 turn it into a datetime.
    body = cbor2.loads(raw, semantic_decoders={1: lambda value, _immutable: ("tag1", value)})
    assert "NextToken" not in body
    expected = history(cloudwatch, name, HistoryItemType="StateUpdate", StartDate=since, EndDate=until)
    assert len(body["AlarmHistoryItems"]) == len(expected) == 2
    for got, want in zip(body["AlarmHistoryItems"], expected):
        tag, seconds = got.pop("Timestamp")
        assert tag == "tag1" and seconds == pytest.approx(want.pop("Timestamp").timestamp(), abs=1e-6)
        assert got == want
    assert json.loads(body["AlarmHistoryItems"][1]["HistoryData"])["newState"]["stateValue"] == "ALARM"


def test_cbor_pages_and_describe_alarms(cloudwatch, make_alarm):
    name = make_alarm(state="OK")
    flicker(cloudwatch, name)
    status, _, first = cloudwatch_cbor("DescribeAlarmHistory", {"AlarmName": name, "MaxRecords": 2})
    assert status == 200 and len(first["AlarmHistoryItems"]) == 2 and first["NextToken"]
    _, _, rest = cloudwatch_cbor("DescribeAlarmHistory", {"AlarmName": name, "MaxRecords": 2,
                                                          "NextToken": first["NextToken"]})
    assert len(rest["AlarmHistoryItems"]) == 2 and "NextToken" not in rest
    stamps = [i["Timestamp"] for i in first["AlarmHistoryItems"] + rest["AlarmHistoryItems"]]
    assert stamps == sorted(stamps, reverse=True)
    _, _, described = cloudwatch_cbor("DescribeAlarms", {"AlarmNames": [name], "AlarmTypes": ALARM_TYPES})
    (metric,) = described["MetricAlarms"]
    assert metric["StateTransitionedTimestamp"] == stamps[0]  # the ALARM -> OK change
    status, headers, body = cloudwatch_cbor("DescribeAlarmHistory", {"AlarmName": name, "NextToken": "nope"})
    assert status == 400 and body["__type"].endswith("#InvalidNextToken")
    assert headers["x-amzn-query-error"] == "InvalidNextToken;Sender"


@pytest.mark.parametrize("protocol", ["smithy-rpc-v2-cbor", "query"])
def test_other_protocols_read_the_same_history(monkeypatch, cloudwatch, make_alarm, protocol):
    """Cross-check with botocore's own CBOR and query serializers and parsers."""
    other = client_speaking(monkeypatch, protocol)
    name = make_alarm(state="OK")
    # The changes go through the other protocol too: they are recorded whatever protocol sends them.
    since = now()
    pause()
    set_state(other, name, "ALARM", "canary errors", {"version": "1.0"})
    set_state(other, name, "OK", "recovered")
    items = history(other, name, HistoryItemType="StateUpdate", StartDate=since, AlarmTypes=ALARM_TYPES)
    assert items == history(cloudwatch, name, HistoryItemType="StateUpdate", StartDate=since)
    assert [json.loads(i["HistoryData"])["newState"]["stateValue"] for i in items] == ["OK", "ALARM"]
    assert alarm(other, name)["StateTransitionedTimestamp"] == alarm(cloudwatch, name)["StateTransitionedTimestamp"]
    assert alarm(other, name)["StateTransitionedTimestamp"] == items[0]["Timestamp"]
