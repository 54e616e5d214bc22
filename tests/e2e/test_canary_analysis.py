"""Canary analysis end to end, in both modes (`deploy --local` and the real ASL on the offline stack), with real
traffic through the alias: sample-orders' versions fail at their own rates (SAMPLE_FAIL_PERCENT, each version's
own environment, as on AWS), the traffic generator invokes the alias, the proxy routes by the alias's weights
and publishes Lambda's per-version metrics, and the rollout reads them with GetMetricData. No alarm is
configured: the analysis alone judges. Each test reads the alias back from the emulator."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
import uuid

import pytest

from aws_local import alias_state, client_env
from conftest import ENDPOINT

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from test_cli_commands import machine  # noqa: E402,F401  (the rollout state machine on the offline stack)
from traffic import Traffic  # noqa: E402

SHIFTER = os.environ.get("SHIFTER_BIN", os.path.join(os.path.dirname(__file__), "..", "..", "target", "debug", "shifter"))
APP = "sample-orders"
# 30% of the traffic for 20 s: at 15 invocations a second, about 90 on the new version and 210 on the old.
CANARY = '{"type":"canary","percent":30,"bakeSeconds":20}'
RATE = "15/s"
MODES = ["local", "state-machine"]


@pytest.fixture
def versions(make_function, create_alias, lambda_client, unique, harness):
    """publish(old_env, new_env) -> (alias, old, new): two versions of sample-orders, each with its own
    environment, both warmed (the harness starts a process per version environment), and a fresh alias on the
    old one."""
    if APP not in harness.functions():
        pytest.fail(f"{APP} is not served by cargo lambda watch", pytrace=False)
    fn = make_function(APP, versions=0)
    run = uuid.uuid4().hex[:8]  # a fresh environment, so a fresh process and failure sequence, every test

    def publish(old_env: dict, new_env: dict) -> tuple[str, str, str]:
        published = []
        for role, env in (("old", old_env), ("new", new_env)):
            # The role makes each configuration differ, so each publish makes a version (as on AWS).
            variables = {**env, "HARNESS_RUN": run, "SAMPLE_ROLE": role}
            lambda_client.update_function_configuration(FunctionName=fn.name, Environment={"Variables": variables})
            published.append(lambda_client.publish_version(FunctionName=fn.name)["Version"])
        for v in published:
            lambda_client.invoke(FunctionName=fn.name, Qualifier=v, Payload=b"{}")
        alias = unique("live")
        create_alias(fn.name, alias, published[0])
        return alias, published[0], published[1]

    yield publish
    lambda_client.update_function_configuration(FunctionName=fn.name, Environment={"Variables": {}})


def deploy_command(mode: str, machine_arn: str | None, alias: str, new: str,
                   analysis: dict | str) -> tuple[list[str], dict]:
    """`shifter deploy` of the canary with `analysis`, locally or through the state machine, and its env."""
    env = dict(os.environ, **client_env())
    env.pop("SHIFTER_STATE_MACHINE_ARN", None)
    env.pop("SHIFTER_TABLE", None)
    where = ["--local", "--check-interval", "2"] if mode == "local" else ["--state-machine-arn", machine_arn]
    argv = [SHIFTER, "deploy", *where, "--function", APP, "--alias", alias, "--version", new,
            "--strategy", CANARY, "--analysis", json.dumps(analysis), "--output", "json"]
    return argv, env


def json_lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def deploy(mode: str, machine_arn: str | None, alias: str, new: str, analysis: dict | str,
           timeout: float = 240) -> tuple[subprocess.CompletedProcess, list[dict]]:
    argv, env = deploy_command(mode, machine_arn, alias, new, analysis)
    r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
    return r, json_lines(r.stdout)


def machine_arn(mode: str, request) -> str | None:
    return request.getfixturevalue("machine").state_machine_arn if mode == "state-machine" else None


def kinds(events: list[dict]) -> list[str]:
    return [e.get("eventType") for e in events]


def analysis_events(events: list[dict]) -> list[dict]:
    return [e for e in events if str(e.get("eventType", "")).startswith("Analysis")]


@pytest.mark.parametrize("mode", MODES)
def test_a_bad_canary_rolls_back_with_no_alarm_and_the_reason_names_the_numbers(mode, versions, lambda_client,
                                                                                 request):
    arn = machine_arn(mode, request)
    alias, old, new = versions({"SAMPLE_FAIL_PERCENT": "0.5"}, {"SAMPLE_FAIL_PERCENT": "10"})
    settings = {"minInvocations": 30}  # the defaults otherwise: p99 latency read through the harness too
    with Traffic(APP, alias, rate=RATE, endpoint=ENDPOINT, workers=1) as traffic:
        r, events = deploy(mode, arn, alias, new, settings)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert alias_state(lambda_client, APP, alias) == (old, {})
    assert kinds(events)[-2:] == ["AnalysisFailed", "RolledBack"], kinds(events)
    failed = analysis_events(events)[-1]
    a = failed["analysis"]
    assert a["outcome"] == "Failed" and a["newVersion"] == new and a["oldVersion"] == old, a
    by_version = traffic.counts().by_version
    assert by_version.get(new, {}).get("error", 0) > 0, by_version
    # The evidence names the numbers: errors and invocations of each version, as CloudWatch counted them.
    errors_line = next(line for line in a["evidence"].splitlines() if line.startswith("errors:"))
    assert f"v{new} " in errors_line and f"vs v{old} " in errors_line and errors_line.endswith("→ Failed"), a
    assert f"/{a['newInvocations']})" in errors_line and f"/{a['oldInvocations']})" in errors_line, errors_line
    assert a["newInvocations"] >= 30 and a["oldInvocations"] >= 30, a
    rolled_back = events[-1]
    if mode == "local":
        assert "canary analysis failed" in rolled_back["reason"] and errors_line in rolled_back["reason"], rolled_back


@pytest.mark.parametrize("mode", MODES)
def test_a_good_canary_promotes(mode, versions, lambda_client, request):
    arn = machine_arn(mode, request)
    alias, old, new = versions({"SAMPLE_FAIL_PERCENT": "0.5"}, {"SAMPLE_FAIL_PERCENT": "0"})
    # Latency is left out: sample-orders answers in a millisecond or two, and a p99 ratio of such tiny
    # durations is noise.
    settings = {"minInvocations": 30, "latency": None}
    with Traffic(APP, alias, rate=RATE, endpoint=ENDPOINT, workers=1):
        r, events = deploy(mode, arn, alias, new, settings)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert alias_state(lambda_client, APP, alias) == (new, {})
    passed = analysis_events(events)
    assert [e["eventType"] for e in passed] == ["AnalysisPassed"], kinds(events)
    assert passed[0]["analysis"]["newInvocations"] >= 30, passed[0]
    assert kinds(events)[-1] == "RolloutSucceeded", kinds(events)


@pytest.mark.parametrize("mode,when", [("local", "fail"), ("state-machine", "fail"), ("local", "pass"),
                                       ("state-machine", "pass")])
def test_a_quiet_canary_follows_when_inconclusive(mode, when, versions, lambda_client, request):
    arn = machine_arn(mode, request)
    alias, old, new = versions({}, {})
    r, events = deploy(mode, arn, alias, new, {"whenInconclusive": when})  # no traffic at all
    inconclusive = analysis_events(events)
    assert [e["eventType"] for e in inconclusive] == ["AnalysisInconclusive"], kinds(events)
    a = inconclusive[0]["analysis"]
    assert a["newInvocations"] == 0 and a["oldInvocations"] == 0, a
    if when == "fail":
        assert r.returncode == 1, (r.stdout, r.stderr)
        assert alias_state(lambda_client, APP, alias) == (old, {})
        assert a["decision"] == {"action": "fail"}, a
    else:
        assert r.returncode == 0, (r.stdout, r.stderr)
        assert alias_state(lambda_client, APP, alias) == (new, {})
        assert a["decision"] == {"action": "pass"}, a


@pytest.mark.parametrize("mode", MODES)
def test_a_custom_metric_per_version_fails_the_rollout(mode, versions, lambda_client, cloudwatch, request):
    """The team's own metric, with the version in a dimension: v_new reports ten times the checkout failures of
    v_old, put while the canary bakes."""
    arn = machine_arn(mode, request)
    alias, old, new = versions({}, {})
    service = f"orders-{uuid.uuid4().hex[:6]}"
    settings = {"minInvocations": 30, "latency": None, "metrics": [
        {"name": "checkout-failures", "namespace": "Orders", "metricName": "CheckoutFailed",
         "dimensions": {"Service": service, "Version": "${version}"}, "stat": "Sum",
         "compare": "baseline", "maxRatio": 1.5}]}

    def put_while_weighted():
        deadline = time.monotonic() + 60
        while alias_state(lambda_client, APP, alias)[1] == {}:
            assert time.monotonic() < deadline, "the canary never weighted the alias"
            time.sleep(0.2)
        now = dt.datetime.now(dt.timezone.utc)
        for version, value in ((old, 2.0), (new, 20.0)):
            cloudwatch.put_metric_data(Namespace="Orders", MetricData=[{
                "MetricName": "CheckoutFailed", "Value": value, "Timestamp": now,
                "Dimensions": [{"Name": "Service", "Value": service}, {"Name": "Version", "Value": version}]}])

    with Traffic(APP, alias, rate=RATE, endpoint=ENDPOINT, workers=1):
        argv, env = deploy_command(mode, arn, alias, new, settings)
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            put_while_weighted()
            out, err = proc.communicate(timeout=240)
        finally:
            if proc.poll() is None:
                proc.kill()
    events = json_lines(out)
    assert proc.returncode == 1, (out, err)
    assert alias_state(lambda_client, APP, alias) == (old, {})
    failed = analysis_events(events)[-1]
    evidence = failed["analysis"]["evidence"]
    assert f"checkout-failures: v{new} 20 vs v{old} 2, ratio 10.00 > 1.50 allowed → Failed" in evidence, evidence
