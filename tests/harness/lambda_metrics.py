"""Lambda's per-version metrics, which moto never publishes: after each invoke through the proxy, put Invocations,
Errors and Duration into moto's CloudWatch (namespace AWS/Lambda) with the dimension sets Lambda uses for an
invocation of an alias: {FunctionName}, {FunctionName, Resource=function:alias} and {FunctionName,
Resource=function:alias, ExecutedVersion}. Canary analysis reads the last set (shared/src/analysis/metrics.rs).

Published from a background thread, so an invoke is not slowed by it; a failure is logged and dropped (a lost
data point shows up as missing data, which the analysis never reads as healthy). Throttles are never published:
the harness does not throttle."""

from __future__ import annotations

import datetime as dt
import queue
import threading
import traceback


class LambdaMetrics:
    def __init__(self, moto_endpoint: str, on_put=None):
        self.endpoint = moto_endpoint
        self.on_put = on_put  # on_put(namespace, metric_data) after each put (metric_percentiles records them)
        self._queue: queue.Queue = queue.Queue()
        self._client = None
        self.published = 0
        threading.Thread(target=self._run, daemon=True, name="lambda-metrics").start()

    def invoked(self, function: str, qualifier: str | None, executed_version: str, error: bool, duration_ms: float):
        """One invocation's data points (queued)."""
        self._queue.put((function, qualifier, executed_version, error, duration_ms, dt.datetime.now(dt.timezone.utc)))

    def drain(self, timeout: float = 5.0) -> bool:
        """Waits until every queued data point was published (tests)."""
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def _cloudwatch(self):
        if self._client is None:
            import boto3
            import botocore.config

            self._client = boto3.client(
                "cloudwatch", endpoint_url=self.endpoint, region_name="us-east-1",
                aws_access_key_id="testing", aws_secret_access_key="testing",
                config=botocore.config.Config(retries={"total_max_attempts": 2, "mode": "standard"}))
        return self._client

    def _run(self):
        while True:
            item = self._queue.get()
            if isinstance(item, threading.Event):
                item.set()
                continue
            try:
                self._publish(*item)
            except Exception:  # noqa: BLE001 - see the module docstring
                traceback.print_exc()

    def _publish(self, function, qualifier, executed_version, error, duration_ms, at):
        dimension_sets = [[("FunctionName", function)]]
        if qualifier and not qualifier.isdigit() and qualifier != "$LATEST":
            resource = f"{function}:{qualifier}"
            dimension_sets.append([("FunctionName", function), ("Resource", resource)])
            dimension_sets.append([("FunctionName", function), ("Resource", resource),
                                   ("ExecutedVersion", executed_version)])
        data = []
        for dims in dimension_sets:
            d = [{"Name": k, "Value": v} for k, v in dims]
            data.append({"MetricName": "Invocations", "Dimensions": d, "Timestamp": at, "Value": 1.0,
                         "Unit": "Count"})
            data.append({"MetricName": "Errors", "Dimensions": d, "Timestamp": at, "Value": 1.0 if error else 0.0,
                         "Unit": "Count"})
            data.append({"MetricName": "Duration", "Dimensions": d, "Timestamp": at, "Value": duration_ms,
                         "Unit": "Milliseconds"})
        self._cloudwatch().put_metric_data(Namespace="AWS/Lambda", MetricData=data)
        if self.on_put:
            self.on_put("AWS/Lambda", data)
        self.published += 1
