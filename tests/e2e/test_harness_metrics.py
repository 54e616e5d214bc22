"""Lambda's per-version metrics on the harness: moto publishes none, so the proxy puts Invocations, Errors and
Duration into moto's CloudWatch after each invoke, with Lambda's dimensions (tests/harness/lambda_metrics.py). An
invoke of a weighted alias runs the version the weights pick (X-Amz-Executed-Version), and the metrics with
ExecutedVersion count exactly those invocations: what canary analysis reads."""

from __future__ import annotations

import collections
import datetime as dt
import json


def sums(cloudwatch, function: str, alias: str, versions, metric: str, start, end) -> dict[str, float]:
    queries = [{"Id": f"v{i}", "ReturnData": True, "MetricStat": {"Period": 3600, "Stat": "Sum", "Metric": {
        "Namespace": "AWS/Lambda", "MetricName": metric, "Dimensions": [
            {"Name": "FunctionName", "Value": function}, {"Name": "Resource", "Value": f"{function}:{alias}"},
            {"Name": "ExecutedVersion", "Value": v}]}}} for i, v in enumerate(versions)]
    out = cloudwatch.get_metric_data(MetricDataQueries=queries, StartTime=start, EndTime=end)
    by_id = {r["Id"]: sum(r["Values"]) for r in out["MetricDataResults"]}
    return {v: by_id.get(f"v{i}", 0.0) for i, v in enumerate(versions)}


def test_invokes_of_a_weighted_alias_publish_per_version_metrics(sample_app, lambda_client, cloudwatch, harness):
    fn, alias, old, new = sample_app
    lambda_client.update_alias(FunctionName=fn.name, Name=alias,
                               RoutingConfig={"AdditionalVersionWeights": {new: 0.5}})
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    executed = collections.Counter()
    for _ in range(40):
        out = lambda_client.invoke(FunctionName=fn.name, Qualifier=alias, Payload=json.dumps({}).encode())
        executed[out["ResponseMetadata"]["HTTPHeaders"]["x-amz-executed-version"]] += 1
    assert set(executed) <= {old, new} and sum(executed.values()) == 40, executed
    assert executed[old] > 0 and executed[new] > 0, executed  # 40 draws at 50%: both with near certainty
    assert harness.drain_metrics()["drained"] is True
    end = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)
    invocations = sums(cloudwatch, fn.name, alias, [old, new], "Invocations", start, end)
    assert invocations == {old: float(executed[old]), new: float(executed[new])}, (invocations, executed)
    errors = sums(cloudwatch, fn.name, alias, [old, new], "Errors", start, end)
    assert errors == {old: 0.0, new: 0.0}
