"""The EventBridge events AWS services emit and moto 5.2.5 does not, built in AWS's exact format.

- "CloudWatch Alarm State Change" (source aws.cloudwatch): CloudWatch sends one when an alarm's state VALUE changes.
  Shape: events/eventbridge/alarm-state-change.json (AWS's documented example, and what aws_lambda_events parses).
- "Step Functions Execution Status Change" (source aws.states): Step Functions sends one when a Standard
  execution starts (RUNNING) and when it ends (SUCCEEDED, FAILED, TIMED_OUT, ABORTED).
  Shape: events/eventbridge/execution-status-change.json.

Each builder returns the whole event minus `id`, which EventBridge assigns on PutEvents (event_delivery.py
puts it there). Pure functions: no I/O.
"""

from __future__ import annotations

import datetime as dt
import uuid

ACCOUNT = "123456789012"  # moto's default account
ALARM_DETAIL_TYPE = "CloudWatch Alarm State Change"
EXECUTION_DETAIL_TYPE = "Step Functions Execution Status Change"
TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


def utc(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc)


def event_time(ms: int) -> str:
    """The envelope's `time`: whole seconds, `Z` (as EventBridge writes it, and as moto formats `Time`)."""
    return utc(ms).strftime("%Y-%m-%dT%H:%M:%SZ")


def alarm_timestamp(ms: int) -> str:
    """CloudWatch's state timestamps in the event: milliseconds and `+0000` (2026-11-30T15:04:05.123+0000)."""
    return utc(ms).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}+0000"


def region_of_arn(arn: str | None, default: str = "us-east-1") -> str:
    parts = (arn or "").split(":")
    return parts[3] if len(parts) > 4 and parts[3] else default


def envelope(detail_type: str, source: str, region: str, at_ms: int, resources: list[str], detail: dict) -> dict:
    return {"version": "0", "detail-type": detail_type, "source": source, "account": ACCOUNT,
            "time": event_time(at_ms), "region": region, "resources": resources, "detail": detail}


# ---------------------------------------------------------------- CloudWatch
def alarm_state(value: str, reason: str | None, reason_data: str | None, at_ms: int) -> dict:
    """`state` / `previousState`: reasonData is the JSON string CloudWatch has, absent when it has none."""
    out = {"value": value, "reason": reason or ""}
    if reason_data:
        out["reasonData"] = reason_data
    out["timestamp"] = alarm_timestamp(at_ms)
    return out


def alarm_configuration(alarm: dict) -> dict:
    """`configuration` of a metric alarm from its DescribeAlarms entry: `metrics` as CloudWatch writes them (a single
    metric becomes one query with a stable generated id; a metric-math alarm keeps its queries), and the
    description when the alarm has one."""
    out = {}
    if alarm.get("AlarmDescription"):
        out["description"] = alarm["AlarmDescription"]
    if alarm.get("Metrics"):
        out["metrics"] = [metric_query(q) for q in alarm["Metrics"]]
    else:
        stat = alarm.get("Statistic") or alarm.get("ExtendedStatistic")
        out["metrics"] = [{
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, alarm.get("AlarmArn") or alarm.get("AlarmName", ""))),
            "metricStat": {"metric": {"namespace": alarm.get("Namespace"), "name": alarm.get("MetricName"),
                                      "dimensions": {d["Name"]: d["Value"] for d in alarm.get("Dimensions") or []}},
                           "period": alarm.get("Period"), "stat": stat},
            "returnData": True,
        }]
    return out


def metric_query(q: dict) -> dict:
    out = {"id": q.get("Id")}
    if q.get("MetricStat"):
        ms = q["MetricStat"]
        metric = ms.get("Metric") or {}
        out["metricStat"] = {"metric": {"namespace": metric.get("Namespace"), "name": metric.get("MetricName"),
                                        "dimensions": {d["Name"]: d["Value"] for d in metric.get("Dimensions") or []}},
                             "period": ms.get("Period"), "stat": ms.get("Stat")}
    if q.get("Expression"):
        out["expression"] = q["Expression"]
    if q.get("Label"):
        out["label"] = q["Label"]
    out["returnData"] = q.get("ReturnData", True)
    return out


def alarm_state_change(alarm: dict, previous: dict, current: dict) -> dict:
    """`alarm`: the alarm as DescribeAlarms showed it before the change; `previous` / `current`: dicts with value,
    reason, reason_data, at_ms (when that state was entered)."""
    arn = alarm.get("AlarmArn") or f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:{alarm['AlarmName']}"
    detail = {
        "alarmName": alarm["AlarmName"],
        "state": alarm_state(current["value"], current.get("reason"), current.get("reason_data"), current["at_ms"]),
        "previousState": alarm_state(previous["value"], previous.get("reason"), previous.get("reason_data"),
                                     previous["at_ms"]),
        "configuration": alarm_configuration(alarm),
    }
    return envelope(ALARM_DETAIL_TYPE, "aws.cloudwatch", region_of_arn(arn), current["at_ms"], [arn], detail)


# ---------------------------------------------------------------- Step Functions
def epoch_ms(value) -> int | None:
    """A DescribeExecution date (epoch seconds as moto's JSON has it, or a datetime) as epoch milliseconds."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return int(round(value.timestamp() * 1000))
    if isinstance(value, str):
        return int(round(dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000))
    return int(round(float(value) * 1000))


def execution_status_change(desc: dict, status: str | None = None, stop_ms: int | None = None,
                            error: str | None = None, cause: str | None = None, at_ms: int | None = None) -> dict:
    """From a DescribeExecution answer; `status`, `stop_ms`, `error`, `cause` override it (an execution the harness
    aborted while moto still runs it). startDate/stopDate are epoch milliseconds, stopDate null while RUNNING."""
    status = status or desc["status"]
    start = epoch_ms(desc.get("startDate"))
    stop = None if status == "RUNNING" else (stop_ms if stop_ms is not None else epoch_ms(desc.get("stopDate")))
    output = desc.get("output") if status == "SUCCEEDED" else None
    detail = {
        "executionArn": desc["executionArn"],
        "stateMachineArn": desc["stateMachineArn"],
        "name": desc["name"],
        "status": status,
        "startDate": start,
        "stopDate": stop,
        "input": desc.get("input"),
        "output": output,
        "inputDetails": {"included": True},
        "outputDetails": {"included": True} if output is not None else None,
    }
    error = error if error is not None else (desc.get("error") if status in ("FAILED", "TIMED_OUT") else None)
    cause = cause if cause is not None else (desc.get("cause") if status in ("FAILED", "TIMED_OUT") else None)
    if error is not None:
        detail["error"] = error
    if cause is not None:
        detail["cause"] = cause
    when = at_ms if at_ms is not None else (stop if stop is not None else start)
    return envelope(EXECUTION_DETAIL_TYPE, "aws.states", region_of_arn(desc["executionArn"]), when,
                    [desc["executionArn"]], detail)
