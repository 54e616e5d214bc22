"""`shifter deploy --local` end to end: the real binary against the offline AWS stack, with the real hook
functions served by cargo lambda watch. Every test reads the alias back from the emulator, and the alias
history recorded by the harness proxy (every successful CreateAlias/UpdateAlias), to assert."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time

import pytest

from aws_local import alias_state, client_env, routing_history as history

SHIFTER = os.environ.get("SHIFTER_BIN", os.path.join(os.path.dirname(__file__), "..", "..", "target", "debug", "shifter"))
APP = "sample-orders"  # a workspace binary: the smoke hook's invokes of its versions really run it
FAST_LINEAR = '{"type":"linear","percent":50,"intervalSeconds":1}'


def shifter(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, **client_env())
    return subprocess.run([SHIFTER, *args], env=env, capture_output=True, text=True, timeout=timeout)


def events_of(result: subprocess.CompletedProcess) -> list[dict]:
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    return [json.loads(line) for line in lines]  # --output json: every stdout line is one JSON object




@pytest.fixture
def app(sample_app):
    return sample_app


def test_promotes_step_by_step_with_a_smoke_hook(app, make_alarm, topic_queue, lambda_client, harness):
    fn, alias, old, new = app
    alarm = make_alarm(function=APP, alias=alias)
    tq = topic_queue()
    r = shifter("deploy", "--local", "--function", APP, "--alias", alias, "--version", new, "--strategy", FAST_LINEAR,
                "--alarm", alarm, "--pre-traffic-hook", "example-hook-smoke", "--topic", tq.topic_arn,
                "--check-interval", "1", "--output", "json")
    assert r.returncode == 0, r.stderr
    assert alias_state(lambda_client, APP, alias) == (new, {})
    assert history(harness, APP, alias) == [(old, {}), (old, {new: 0.5}), (new, {})]
    kinds = ["RolloutStarted", "HookSucceeded", "TrafficShifted", "TrafficShifted", "RolloutSucceeded"]
    assert [e["eventType"] for e in events_of(r)] == kinds
    sent = tq.drain(expect=len(kinds))
    assert [n["MessageAttributes"]["eventType"] for n in sent] == kinds
    shifted = [n for n in sent if n["Message"]["eventType"] == "TrafficShifted"]
    assert [n["Message"]["weightPercent"] for n in shifted] == [50.0, 100.0]
    assert all(n["MessageAttributes"]["functionName"] == APP and n["MessageAttributes"]["alias"] == alias for n in sent)
    assert sent[-1]["Subject"].startswith("shifter RolloutSucceeded")


def test_an_alarm_mid_bake_rolls_the_alias_back(app, make_alarm, lambda_client, cloudwatch, harness):
    fn, alias, old, new = app
    alarm = make_alarm(function=APP, alias=alias)

    def fire_when_weighted():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if alias_state(lambda_client, APP, alias)[1]:
                cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="test: canary errors")
                return
            time.sleep(0.1)

    trigger = threading.Thread(target=fire_when_weighted, daemon=True)
    trigger.start()
    started = time.monotonic()
    r = shifter("deploy", "--local", "--function", APP, "--alias", alias, "--version", new,
                "--strategy", '{"type":"canary","percent":20,"bakeSeconds":60}', "--alarm", alarm,
                "--check-interval", "1", "--output", "json")
    trigger.join(5)
    assert r.returncode == 1, r.stderr
    assert time.monotonic() - started < 30, "the rollback must not wait for the end of the bake"
    assert alias_state(lambda_client, APP, alias) == (old, {})
    assert history(harness, APP, alias) == [(old, {}), (old, {new: 0.2}), (old, {})]
    last = events_of(r)[-1]
    assert last["eventType"] == "RolledBack" and alarm in last["reason"]


def test_a_failing_pre_traffic_hook_moves_no_traffic(app, lambda_client, harness):
    fn, alias, old, new = app
    r = shifter("deploy", "--local", "--function", APP, "--alias", alias, "--version", new, "--strategy", FAST_LINEAR,
                "--pre-traffic-hook", "example-hook-fail", "--output", "json")
    assert r.returncode == 1, r.stderr
    assert alias_state(lambda_client, APP, alias) == (old, {})
    assert history(harness, APP, alias) == [(old, {})]
    kinds = [e["eventType"] for e in events_of(r)]
    assert kinds == ["RolloutStarted", "HookFailed", "RolledBack"]
    assert "on purpose" in events_of(r)[1]["reason"]


def test_a_failing_post_traffic_hook_rolls_back_from_full_traffic(app, lambda_client, harness):
    fn, alias, old, new = app
    # example-hook-fail raises a function error after traffic: the proxy turns cargo lambda's HTTP 500 into
    # AWS's 200 + X-Amz-Function-Error, and shifter must treat it as a failed hook.
    r = shifter("deploy", "--local", "--function", APP, "--alias", alias, "--version", new, "--strategy", FAST_LINEAR,
                "--post-traffic-hook", "example-hook-fail", "--check-interval", "1", "--output", "json")
    assert r.returncode == 1, r.stderr
    assert alias_state(lambda_client, APP, alias) == (old, {})
    assert history(harness, APP, alias) == [(old, {}), (old, {new: 0.5}), (new, {}), (old, {})]
    failed = [e for e in events_of(r) if e["eventType"] == "HookFailed"]
    assert failed and failed[0]["phase"] == "postTraffic" and "function error" in failed[0]["reason"]


@pytest.mark.parametrize("args, field", [
    (["--strategy", "Canary10Percent7Minutes"], "strategy"),
    (["--strategy", '{"type":"linear","percent":0,"intervalSeconds":60}'], "strategy.percent"),
    (["--version", "999"], "targetVersion"),
    (["--version", "$LATEST"], "targetVersion"),
    (["--alarm", "no-such-alarm"], "alarms[0]"),
    (["--pre-traffic-hook", "no-such-hook"], "hooks.preTraffic"),
    (["--function", "no-such-function"], "functionName"),
    (["--topic", "not-an-arn"], "notificationTopicArn"),
])
def test_invalid_requests_exit_2_and_leave_the_alias_alone(app, lambda_client, harness, args, field):
    fn, alias, old, new = app
    base = {"--function": APP, "--alias": alias, "--version": new, "--strategy": "AllAtOnce"}
    for flag, value in zip(args[::2], args[1::2]):
        base[flag] = value
    flat = [x for kv in base.items() for x in kv]
    r = shifter("deploy", "--local", *flat)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert field in r.stderr, r.stderr
    assert alias_state(lambda_client, APP, alias) == (old, {})
    assert history(harness, APP, alias) == [(old, {})]


def test_a_request_file_with_an_unknown_field_is_refused(app, tmp_path, lambda_client, harness):
    fn, alias, old, new = app
    req = tmp_path / "req.json"
    req.write_text(json.dumps({"functionName": APP, "alias": alias, "targetVersion": new, "strategy": "AllAtOnce",
                               "colour": "blue"}))
    r = shifter("deploy", "--local", "--request", str(req), "--output", "json")
    assert r.returncode == 2
    rejected = events_of(r)
    assert rejected[-1]["eventType"] == "RequestRejected" and rejected[-1]["field"] == "colour"
    assert history(harness, APP, alias) == [(old, {})]


def test_a_weighted_alias_belongs_to_another_rollout(app, make_function, lambda_client, harness):
    fn, alias, old, new = app
    lambda_client.update_alias(FunctionName=APP, Name=alias, FunctionVersion=old,
                               RoutingConfig={"AdditionalVersionWeights": {new: 0.3}})
    r = shifter("deploy", "--local", "--function", APP, "--alias", alias, "--version", new, "--strategy", "AllAtOnce")
    assert r.returncode == 3, r.stderr
    assert alias_state(lambda_client, APP, alias) == (old, {new: 0.3})
    assert len(history(harness, APP, alias)) == 2, "no write after the out-of-band one"


def test_without_a_version_latest_is_published_and_rolled_out(app, lambda_client, harness):
    fn, alias, old, new = app
    lambda_client.update_function_configuration(FunctionName=APP, Description=f"new code for {alias}")
    r = shifter("deploy", "--local", "--function", APP, "--alias", alias, "--strategy", "AllAtOnce", "--output", "json")
    assert r.returncode == 0, r.stderr
    version, weights = alias_state(lambda_client, APP, alias)
    assert int(version) > int(new) and weights == {}
    assert events_of(r)[0]["targetVersion"] == version
