"""Percentile statistics (`p99`, `p99.9`, ...) of GetMetricData, answered by the proxy from the data points it saw.

moto 5.2.5 answers any GetMetricData query with a percentile statistic with HTTP 500 (and GetMetricStatistics'
ExtendedStatistics with nothing). So the proxy keeps every data point put through it (PutMetricData in AWS JSON,
as boto3 sends it, or Smithy RPC-v2 CBOR, as the Rust SDK sends it; and the Lambda metrics the proxy publishes
itself, lambda_metrics.py), and for a GetMetricData with percentile queries:
- the other queries go to moto (through the CBOR bridge for CBOR) in one call, as they would have;
- each percentile query is answered here: data points of its namespace, metric name and exactly its dimension
  set (and Unit when the query names one), timestamps in [StartTime, EndTime), in periods of the query's Period
  starting at StartTime truncated to the second (moto's bucketing, so percentile and Sum series line up), one
  value per period that has data;
- the answer merges both in the order of the request, in the request's protocol, ScanBy honoured (default
  TimestampDescending, as moto and AWS).
Percentile definition: nearest rank over the raw values (a datum with Values/Counts counts each value Counts
times): the smallest value v such that at least p% of the values are <= v, i.e. sorted[ceil(p/100*N) - 1].
CloudWatch computes percentiles from its own histograms and may differ slightly; the tests use values for which
both agree.
Not recorded: PutMetricData sent in the query protocol, and StatisticValues data (a percentile cannot be
computed from them); data put straight to moto's own port.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import math
import re
import threading
from typing import Callable

import cbor2

from cbor_bridge import CBOR_HEADERS, encode as cbor_encode

PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?|100(?:\.0+)?)$")
Forward = Callable[[bytes], tuple]


def percentile_of(stat: str) -> float | None:
    m = PERCENTILE.match(stat or "")
    return float(m.group(1)) if m else None


def nearest_rank(values: list[float], p: float) -> float:
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100.0 * len(ordered)))
    return ordered[rank - 1]


def _epoch(value) -> float:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.timestamp()
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return float(value)


def _dims(dimensions) -> frozenset:
    return frozenset((d["Name"], d["Value"]) for d in dimensions or [])


class MetricRecorder:
    def __init__(self):
        self._points: list[tuple] = []  # (namespace, metric, dims, unit, epoch seconds, value)
        self._lock = threading.Lock()

    def clear(self):
        with self._lock:
            self._points.clear()

    def record(self, namespace: str, metric_data: list[dict], now: float | None = None):
        """One PutMetricData's data (botocore/CBOR member names)."""
        points = []
        for datum in metric_data or []:
            at = _epoch(datum["Timestamp"]) if datum.get("Timestamp") is not None else (
                now or dt.datetime.now(dt.timezone.utc).timestamp())
            key = (namespace, datum.get("MetricName"), _dims(datum.get("Dimensions")), datum.get("Unit"))
            if datum.get("Value") is not None:
                points.append((*key, at, float(datum["Value"])))
            values, counts = datum.get("Values") or [], datum.get("Counts") or []
            for i, value in enumerate(values):
                points += [(*key, at, float(value))] * int(counts[i] if i < len(counts) else 1)
        with self._lock:
            self._points.extend(points)

    def series(self, stat: dict, p: float, start: float, end: float, scan_by: str | None):
        """(timestamps, values) of one percentile MetricStat."""
        metric = stat["Metric"]
        ns, name, dims, unit = metric.get("Namespace"), metric.get("MetricName"), _dims(metric.get("Dimensions")), \
            stat.get("Unit")
        period = int(stat["Period"])
        with self._lock:
            matching = [(at, v) for (n, m, d, u, at, v) in self._points
                        if n == ns and m == name and d == dims and (unit is None or u == unit) and start <= at < end]
        buckets: dict[int, list[float]] = {}
        for at, value in matching:
            buckets.setdefault(int((at - start) // period), []).append(value)
        order = sorted(buckets, reverse=(scan_by or "TimestampDescending") == "TimestampDescending")
        return [start + k * period for k in order], [nearest_rank(buckets[k], p) for k in order]


class Codec:
    """Decode a request / encode an answer in one protocol (AWS JSON 1.0 or Smithy RPC-v2 CBOR)."""

    def __init__(self, protocol: str):
        self.protocol = protocol

    def loads(self, body: bytes, headers) -> dict:
        if (headers.get("Content-Encoding") or "").lower() == "gzip":
            body = gzip.decompress(body)
        if not body:
            return {}
        return (json.loads(body) if self.protocol == "json" else cbor2.loads(body)) or {}

    def dumps(self, obj: dict) -> bytes:
        if self.protocol == "json":
            return json.dumps(obj, default=lambda t: t.timestamp()).encode()
        return cbor_encode(obj)

    def timestamp(self, epoch: float):
        return epoch if self.protocol == "json" else dt.datetime.fromtimestamp(epoch, dt.timezone.utc)


class Percentiles:
    """The proxy's hook: records PutMetricData, answers percentile queries of GetMetricData."""

    def __init__(self, recorder: MetricRecorder):
        self.recorder = recorder

    @staticmethod
    def handles(call) -> bool:
        return call.protocol in ("json", "cbor") and call.target == "GraniteServiceVersion20100801" and \
            call.operation in ("PutMetricData", "GetMetricData")

    def handle(self, call, headers, body: bytes, forward: Forward) -> tuple[int, list, bytes]:
        """forward(body) sends a request body of the same protocol on to moto and returns (status, headers, body)."""
        codec = Codec(call.protocol)
        try:
            params = codec.loads(body, headers)
        except Exception:  # noqa: BLE001 - let moto (or the bridge) answer what it cannot parse
            return forward(body)
        if call.operation == "PutMetricData":
            status, out_headers, data = forward(body)
            if 200 <= status < 300:
                self.recorder.record(params.get("Namespace"), params.get("MetricData"))
            return status, out_headers, data
        queries = params.get("MetricDataQueries") or []
        local = [q for q in queries if percentile_of((q.get("MetricStat") or {}).get("Stat")) is not None]
        if not local:
            return forward(body)
        try:
            start = math.floor(_epoch(params["StartTime"]))
            end = math.floor(_epoch(params["EndTime"]))
        except (KeyError, TypeError, ValueError):
            return forward(body)  # moto's validation error
        if end <= start:
            return forward(body)
        rest = [q for q in queries if q not in local]
        out = {"MetricDataResults": [], "Messages": []}
        out_headers = list(CBOR_HEADERS) if call.protocol == "cbor" else [
            ("Content-Type", headers.get("Content-Type") or "application/x-amz-json-1.0")]
        if rest:
            fwd = dict(params, MetricDataQueries=rest)
            status, out_headers, data = forward(codec.dumps(fwd))
            if not 200 <= status < 300:
                return status, out_headers, data
            out = codec.loads(data, {}) or out
            out_headers = [(k, v) for k, v in out_headers if k.lower() != "content-encoding"]
        moto_results = {r.get("Id"): r for r in out.get("MetricDataResults") or []}
        if params.get("NextToken"):
            local = []  # a later page: the percentile results were all on the first one
        results = []
        for q in queries:
            if q in local:
                if q.get("ReturnData", True) is False:
                    continue
                stat = q["MetricStat"]
                stamps, values = self.recorder.series(stat, percentile_of(stat["Stat"]), start, end,
                                                      params.get("ScanBy"))
                results.append({"Id": q["Id"], "Label": q.get("Label") or f"{stat['Metric']['MetricName']} "
                                                                          f"{stat['Stat']}",
                                "Timestamps": [codec.timestamp(t) for t in stamps], "Values": values,
                                "StatusCode": "Complete"})
            elif q.get("Id") in moto_results:
                results.append(moto_results[q["Id"]])
        out["MetricDataResults"] = results
        return 200, out_headers, codec.dumps(out)
