"""`shifter analyze FUNCTION:ALIAS --versions OLD,NEW` end to end: Lambda-shaped per-version metrics (namespace
AWS/Lambda, Invocations/Errors/Duration with FunctionName, Resource = function:alias and ExecutedVersion) are put
into the emulator's CloudWatch directly, then the real binary reads them back with GetMetricData through the
proxy and judges. Each test names its own function, so no other test's data points are in its series.

The latency check reads Duration's Average here: moto answers GetMetricData for a percentile (p99) with HTTP 500
(see docs/local-aws.md)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess

from aws_local import client_env

SHIFTER = os.environ.get("SHIFTER_BIN", os.path.join(os.path.dirname(__file__), "..", "..", "target", "debug", "shifter"))
AVERAGE_LATENCY = json.dumps({"latency": {"stat": "Average", "maxRatio": 1.25}})


def shifter(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, **client_env())
    return subprocess.run([SHIFTER, *args], env=env, capture_output=True, text=True, timeout=60)


def put_version(cloudwatch, function: str, alias: str, version: str, invocations: int, errors: int,
                durations: list[float]):
    """What Lambda would have published for one version of a weighted alias, two minutes ago."""
    at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=2)
    dims = [{"Name": "FunctionName", "Value": function}, {"Name": "Resource", "Value": f"{function}:{alias}"},
            {"Name": "ExecutedVersion", "Value": version}]
    data = [{"MetricName": "Invocations", "Dimensions": dims, "Timestamp": at, "Value": invocations, "Unit": "Count"},
            {"MetricName": "Errors", "Dimensions": dims, "Timestamp": at, "Value": errors, "Unit": "Count"}]
    data += [{"MetricName": "Duration", "Dimensions": dims, "Timestamp": at, "Value": d, "Unit": "Milliseconds"}
             for d in durations]
    cloudwatch.put_metric_data(Namespace="AWS/Lambda", MetricData=data)


def test_the_issues_bad_canary_fails_with_its_numbers(cloudwatch, unique):
    fn = unique("orders")
    put_version(cloudwatch, fn, "live", "6", 3702, 15, [110.0, 126.0])
    put_version(cloudwatch, fn, "live", "7", 407, 33, [120.0, 124.0])
    r = shifter("analyze", f"{fn}:live", "--versions", "6,7", "--since", "15m", "--analysis", AVERAGE_LATENCY)
    assert r.returncode == 1, (r.stdout, r.stderr)
    lines = r.stdout.splitlines()
    assert lines[0].startswith("errors: v7 8.1% (33/407) vs v6 0.4% (15/3702), increase 7.7 pts > 1.0 allowed"), lines
    assert lines[0].endswith("→ Failed"), lines
    assert "latency Average: v7 122 ms vs v6 118 ms, ratio 1.03 ≤ 1.25 allowed → Passed" in lines, lines
    verdict = f"Failed: version 7 against version 6 of {fn}:live: 407 invocations of v7, 3702 of v6, from "
    assert lines[-1].startswith(verdict) and lines[-1].endswith(" (15m)"), lines

    j = shifter("analyze", f"{fn}:live", "--versions", "6,7", "--analysis", AVERAGE_LATENCY, "--output", "json")
    assert j.returncode == 1, (j.stdout, j.stderr)
    v = json.loads(j.stdout)
    assert v["outcome"] == "Failed" and v["error"] is None, v
    assert (v["baselineVersion"], v["newVersion"], v["window"]["seconds"]) == ("6", "7", 900), v
    assert v["versions"]["6"] == {"invocations": 3702, "errors": 15, "throttles": 0, "latencyMs": 118.0, "custom": {}}
    assert v["versions"]["7"] == {"invocations": 407, "errors": 33, "throttles": 0, "latencyMs": 122.0, "custom": {}}
    assert [(c["check"], c["outcome"]) for c in v["checks"]] == [
        ("errorRate", "Failed"), ("latency", "Passed"), ("throttles", "Passed")], v["checks"]


def test_a_good_canary_passes_and_a_slow_one_fails_on_latency(cloudwatch, unique):
    fn = unique("orders")
    put_version(cloudwatch, fn, "live", "6", 3702, 15, [118.0])
    put_version(cloudwatch, fn, "live", "7", 1010, 5, [121.0])
    r = shifter("analyze", f"{fn}:live", "--versions", "6,7", "--analysis", AVERAGE_LATENCY)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert r.stdout.splitlines()[-1].startswith("Passed: version 7 against version 6"), r.stdout

    slow = unique("orders")
    put_version(cloudwatch, slow, "live", "6", 3702, 15, [118.0])
    put_version(cloudwatch, slow, "live", "7", 1010, 5, [300.0])
    r = shifter("analyze", f"{slow}:live", "--versions", "6,7", "--analysis", AVERAGE_LATENCY)
    assert r.returncode == 1, (r.stdout, r.stderr)
    slower = "latency Average: v7 300 ms vs v6 118 ms, ratio 2.54 > 1.25 allowed → Failed"
    assert r.stdout.splitlines()[0] == slower, r.stdout


def test_a_quiet_version_is_inconclusive_and_a_version_with_no_data_too(cloudwatch, unique):
    fn = unique("orders")
    put_version(cloudwatch, fn, "live", "6", 3702, 15, [118.0])
    put_version(cloudwatch, fn, "live", "7", 12, 0, [119.0])
    r = shifter("analyze", f"{fn}:live", "--versions", "6,7", "--analysis", '{"latency": null}')
    assert r.returncode == 3, (r.stdout, r.stderr)
    assert "12 invocations of v7, 3702 of v6" in r.stdout, r.stdout
    assert "more traffic on version 7" in r.stderr, r.stderr
    # Version 8 never ran: no data is zero invocations, never healthy.
    r = shifter("analyze", f"{fn}:live", "--versions", "6,8", "--analysis", '{"latency": null}')
    assert r.returncode == 3, (r.stdout, r.stderr)
    assert "0 invocations of v8, 3702 of v6" in r.stdout, r.stdout


def test_invalid_arguments_read_nothing_and_exit_2():
    r = shifter("analyze", "orders:live", "--versions", "6,7", "--analysis", '{"confidence": 2}')
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stderr.startswith("error: analysis.confidence: must be above 0.5"), r.stderr
    r = shifter("analyze", "orders:7", "--versions", "6,7")
    assert r.returncode == 2 and "names a version, not an alias" in r.stderr, r.stderr


def test_a_refused_read_is_an_error_exit_4(cloudwatch, unique, faults):
    fn = unique("orders")
    put_version(cloudwatch, fn, "live", "6", 3702, 15, [118.0])
    put_version(cloudwatch, fn, "live", "7", 407, 33, [122.0])
    faults("GetMetricData", status=400, code="AccessDenied",
           message="not authorized to perform cloudwatch:GetMetricData")
    r = shifter("analyze", f"{fn}:live", "--versions", "6,7", "--analysis", '{"latency": null}', "--output", "json")
    assert r.returncode == 4, (r.stdout, r.stderr)
    v = json.loads(r.stdout)
    assert (v["outcome"], v["versions"], v["checks"]) == ("Error", None, []), v
    assert "AccessDenied" in v["error"], v
    assert r.stderr.startswith("error: cannot read the metrics: AWS rejected GetMetricData"), r.stderr
    # The fault was used up: the same read now judges.
    r = shifter("analyze", f"{fn}:live", "--versions", "6,7", "--analysis", '{"latency": null}')
    assert r.returncode == 1, (r.stdout, r.stderr)
