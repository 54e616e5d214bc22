"""Harness fidelity for canary analysis (issue 9, part 3): percentile statistics served by the proxy (moto answers
them with 500), sample-orders' per-version failure rate and added latency under real invokes of a weighted alias,
and the traffic generator (tests/harness/traffic.py)."""

from __future__ import annotations

import datetime as dt
import os
import sys
import uuid

import boto3
import botocore.model
import pytest

from conftest import ENDPOINT

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from aws_local import NO_RETRY, REGION, cloudwatch_cbor  # noqa: E402
from traffic import Traffic, parse_rate  # noqa: E402

NOW = lambda: dt.datetime.now(dt.timezone.utc)  # noqa: E731


def query(qid: str, namespace: str, metric: str, dims: dict, stat: str, period: int = 3600) -> dict:
    return {"Id": qid, "ReturnData": True, "MetricStat": {"Period": period, "Stat": stat, "Metric": {
        "Namespace": namespace, "MetricName": metric, "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()]}}}


def results(out: dict) -> dict:
    return {r["Id"]: r["Values"] for r in out["MetricDataResults"]}


@pytest.fixture
def latencies(cloudwatch):
    """100 values 1..100 ms (one datum each, so botocore gzips the request) plus 1000 ms three times in a
    Values/Counts datum, under a fresh dimension; a second metric with a superset of the dimensions."""
    service = f"svc-{uuid.uuid4().hex[:8]}"
    at = NOW() - dt.timedelta(seconds=30)
    dims = [{"Name": "Service", "Value": service}]
    cloudwatch.put_metric_data(Namespace="Harness/Test", MetricData=[
        {"MetricName": "Latency", "Dimensions": dims, "Timestamp": at, "Value": float(v), "Unit": "Milliseconds"}
        for v in range(1, 101)])
    cloudwatch.put_metric_data(Namespace="Harness/Test", MetricData=[
        {"MetricName": "Latency", "Dimensions": dims + [{"Name": "Version", "Value": "2"}], "Timestamp": at,
         "Values": [1000.0], "Counts": [3.0], "Unit": "Milliseconds"}])
    return service


def test_percentiles_are_answered_from_the_recorded_values(cloudwatch, latencies):
    ns, dims = "Harness/Test", {"Service": latencies}
    out = cloudwatch.get_metric_data(StartTime=NOW() - dt.timedelta(minutes=10), EndTime=NOW() + dt.timedelta(
        minutes=1), MetricDataQueries=[
        query("p50", ns, "Latency", dims, "p50"), query("p99", ns, "Latency", dims, "p99"),
        query("sum", ns, "Latency", dims, "Sum"),  # answered by moto, in the same call
        query("p999", ns, "Latency", dims, "p99.9"),
        query("v2", ns, "Latency", dict(dims, Version="2"), "p99"),  # the exact dimension set only
        query("none", ns, "Latency", {"Service": "nobody"}, "p99")])
    assert [r["Id"] for r in out["MetricDataResults"]] == ["p50", "p99", "sum", "p999", "v2", "none"]
    assert results(out) == {"p50": [50.0], "p99": [99.0], "sum": [5050.0], "p999": [100.0], "v2": [1000.0],
                            "none": []}
    assert all(r["StatusCode"] == "Complete" for r in out["MetricDataResults"])
    assert out["MetricDataResults"][0]["Label"] == "Latency p50"
    # Outside [StartTime, EndTime): nothing.
    later = cloudwatch.get_metric_data(StartTime=NOW() + dt.timedelta(minutes=1), EndTime=NOW() + dt.timedelta(
        minutes=5), MetricDataQueries=[query("p99", ns, "Latency", dims, "p99")])
    assert results(later) == {"p99": []}


def test_percentiles_through_cbor_as_the_rust_sdk_reads_them(monkeypatch, latencies):
    """The Rust SDK's protocol (Smithy RPC-v2 CBOR): by hand, as aws-sdk-cloudwatch sends it, and through
    botocore's own CBOR serializer and parser."""
    ns, dims = "Harness/Test", {"Service": latencies}
    params = {"StartTime": NOW() - dt.timedelta(minutes=10), "EndTime": NOW() + dt.timedelta(minutes=1),
              "MetricDataQueries": [query("v0_dur", ns, "Latency", dims, "p99", 60),
                                    query("v0_inv", ns, "Latency", dims, "SampleCount", 60)]}
    status, headers, body = cloudwatch_cbor("GetMetricData", params)
    assert status == 200, body
    assert (headers["smithy-protocol"], headers["Content-Type"]) == ("rpc-v2-cbor", "application/cbor")
    got = {r["Id"]: r for r in body["MetricDataResults"]}
    assert got["v0_dur"]["Values"] == [99.0] and got["v0_inv"]["Values"] == [100.0]
    # Both series have the same period timestamp (an aware datetime: CBOR tag 1).
    assert got["v0_dur"]["Timestamps"] == got["v0_inv"]["Timestamps"] and len(got["v0_dur"]["Timestamps"]) == 1

    order = ("smithy-rpc-v2-cbor",) + tuple(p for p in botocore.model.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS
                                           if p != "smithy-rpc-v2-cbor")
    monkeypatch.setattr(botocore.model, "PRIORITY_ORDERED_SUPPORTED_PROTOCOLS", order)
    cbor = boto3.client("cloudwatch", endpoint_url=ENDPOINT, region_name=REGION, config=NO_RETRY)
    assert cbor.meta.service_model.resolved_protocol == "smithy-rpc-v2-cbor"
    out = cbor.get_metric_data(**params)
    assert results(out) == {"v0_dur": [99.0], "v0_inv": [100.0]}
    # A PutMetricData sent in CBOR is recorded too.
    at = NOW() - dt.timedelta(seconds=20)
    cbor.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "Cbor", "Dimensions": [
        {"Name": "Service", "Value": latencies}], "Timestamp": at, "Value": v} for v in (5.0, 7.0)])
    out = cbor.get_metric_data(StartTime=params["StartTime"], EndTime=params["EndTime"],
                               MetricDataQueries=[query("p50", ns, "Cbor", dims, "p50")])
    assert results(out) == {"p50": [5.0]}


def test_parse_rate():
    assert parse_rate("600/min") == 10.0 and parse_rate("5/s") == 5.0 and parse_rate(2.5) == 2.5
    for bad in ("0", "fast", "-1/s", 0):
        with pytest.raises(ValueError):
            parse_rate(bad)


def lambda_sums(cloudwatch, fn: str, alias: str, versions, start, end) -> dict:
    queries = []
    for i, v in enumerate(versions):
        dims = {"FunctionName": fn, "Resource": f"{fn}:{alias}", "ExecutedVersion": v}
        queries += [query(f"v{i}_inv", "AWS/Lambda", "Invocations", dims, "Sum"),
                    query(f"v{i}_err", "AWS/Lambda", "Errors", dims, "Sum"),
                    query(f"v{i}_dur", "AWS/Lambda", "Duration", dims, "p99"),
                    query(f"v{i}_p50", "AWS/Lambda", "Duration", dims, "p50")]
    got = results(cloudwatch.get_metric_data(StartTime=start, EndTime=end, MetricDataQueries=queries))
    return {v: {what: got[f"v{i}_{what}"] for what in ("inv", "err", "dur", "p50")} for i, v in enumerate(versions)}


def test_a_weighted_alias_of_sample_orders_fails_and_slows_per_version(make_function, create_alias, lambda_client,
                                                                       cloudwatch, harness, unique):
    """v1: no failures; v2: SAMPLE_FAIL_PERCENT=10 and SAMPLE_EXTRA_LATENCY_MS=200, each version with its own
    environment (as on AWS). Real invokes through the alias, from the traffic generator; the per-version
    Invocations/Errors in CloudWatch (all three dimensions) are the counts the sequence predicts."""
    if "sample-orders" not in harness.functions():
        pytest.fail("sample-orders is not served by cargo lambda watch", pytrace=False)
    fn = make_function("sample-orders", versions=0)
    run = uuid.uuid4().hex[:8]  # a fresh environment each run: a fresh process, its failure sequence from 1
    try:
        versions = []
        for env in ({"SAMPLE_FAIL_PERCENT": "0", "HARNESS_RUN": run},
                    {"SAMPLE_FAIL_PERCENT": "10", "SAMPLE_EXTRA_LATENCY_MS": "200", "HARNESS_RUN": run}):
            lambda_client.update_function_configuration(FunctionName=fn.name, Environment={"Variables": env})
            versions.append(lambda_client.publish_version(FunctionName=fn.name)["Version"])
        v1, v2 = versions
        assert lambda_client.get_function_configuration(FunctionName=fn.name, Qualifier=v2)["Environment"][
            "Variables"]["SAMPLE_FAIL_PERCENT"] == "10"
        # Warm both (each starts a process): the first invocation of each version, outside the window.
        for v in (v1, v2):
            out = lambda_client.invoke(FunctionName=fn.name, Qualifier=v, Payload=b"{}")
            assert "FunctionError" not in out, out["Payload"].read()
        alias = unique("live")
        create_alias(fn.name, alias, v1, {v2: 0.5})
        start = NOW() - dt.timedelta(seconds=1)
        # One worker: one invocation at a time, so each version runs in one process and its sequence is exact.
        counts = Traffic(fn.name, alias, rate="25/s", endpoint=ENDPOINT, workers=1).run(seconds=8)
        end = NOW() + dt.timedelta(seconds=5)
    finally:
        lambda_client.update_function_configuration(FunctionName=fn.name, Environment={"Variables": {}})
    assert counts.failed == 0, counts.failures
    assert counts.scheduled == 200 and counts.total == 200, counts
    assert set(counts.by_version) == {v1, v2}, counts
    n1, n2 = (sum(counts.by_version[v].values()) for v in (v1, v2))
    assert n1 > 50 and n2 > 50, counts  # 200 draws at 50%
    # v2's process served the warm-up invocation (1) then n2: invocations 2..n2+1 fail when floor(n/10) steps.
    expected_v2_errors = (n2 + 1) // 10
    assert counts.by_version[v1]["error"] == 0
    assert counts.by_version[v2]["error"] == expected_v2_errors, counts
    assert harness.drain_metrics()["drained"] is True
    got = lambda_sums(cloudwatch, fn.name, alias, [v1, v2], start, end)
    assert got[v1]["inv"] == [float(n1)] and got[v2]["inv"] == [float(n2)], got
    assert got[v1]["err"] == [0.0] and got[v2]["err"] == [float(expected_v2_errors)], got
    # Duration: v2 waits 200 ms on every call, v1 not at all.
    (p99_v1,), (p99_v2,), (p50_v2,) = got[v1]["dur"], got[v2]["dur"], got[v2]["p50"]
    assert p50_v2 >= 200.0 and p99_v2 >= 200.0, got
    assert p99_v1 < 150.0, got
