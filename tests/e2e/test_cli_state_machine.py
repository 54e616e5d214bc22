"""`shifter deploy` in state-machine mode (and `status`) end to end: the real binary against the real ASL
deployed on the offline AWS stack (`stack_local.deploy()`), whose Tasks run the real function binaries under
cargo lambda watch. Each test reads the alias back from the emulator to assert. `promote`, `pause`, `resume` and
`abort`: test_cli_commands.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from aws_local import alias_state, client_env

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
import stack_local  # noqa: E402

SHIFTER = os.environ.get("SHIFTER_BIN", os.path.join(os.path.dirname(__file__), "..", "..", "target", "debug", "shifter"))
APP = "sample-orders"
FAST_LINEAR = '{"type":"linear","percent":50,"intervalSeconds":2}'
LONG_CANARY = '{"type":"canary","percent":20,"bakeSeconds":300}'


def shifter(*args: str, timeout: float = 180, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = dict(os.environ, **client_env())
    full_env.pop("SHIFTER_STATE_MACHINE_ARN", None)
    full_env.update(env or {})
    return subprocess.run([SHIFTER, *args], env=full_env, capture_output=True, text=True, timeout=timeout)



@pytest.fixture(scope="module")
def machine(harness):
    missing = {"shifter-prepare", "shifter-advance", "shifter-rollback"} - set(harness.functions())
    if missing:
        pytest.fail(f"{sorted(missing)} not served by cargo lambda watch", pytrace=False)
    return stack_local.deploy()


@pytest.fixture
def app(sample_app):
    return sample_app


def executions(sfn, machine) -> list[dict]:
    return sfn.list_executions(stateMachineArn=machine.state_machine_arn)["executions"]


def test_deploy_follows_the_execution_to_promotion(app, machine, lambda_client, sfn, unique):
    fn, alias, old, new = app
    rid = unique("r")
    r = shifter("deploy", "--state-machine-arn", machine.state_machine_arn, "--function", APP, "--alias", alias,
                "--version", new, "--strategy", FAST_LINEAR, "--rollout-id", rid)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert alias_state(lambda_client, APP, alias) == (new, {})
    out = r.stdout
    assert f"{APP}:{alias}" in out and "step 1/2: 50% of traffic" in out, out
    assert "all traffic on version" in out and "promoted" in out, out
    first = out.splitlines()[0]
    # The CLI names its executions cli-<rollout id>, so the registry records that the CLI started them.
    assert first.startswith("execution arn:aws:states:") and first.endswith(f":cli-{rid}"), out
    arn = first.split(" ", 1)[1]
    assert sfn.describe_execution(executionArn=arn)["status"] == "SUCCEEDED"


def test_deploy_json_prints_one_lifecycle_object_per_line(app, machine, lambda_client):
    fn, alias, old, new = app
    r = shifter("deploy", "--function", APP, "--alias", alias, "--version", new, "--strategy", FAST_LINEAR,
                "--pre-traffic-hook", "example-hook-smoke", "--output", "json",
                env={"SHIFTER_STATE_MACHINE_ARN": machine.state_machine_arn})
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    kinds = [e["eventType"] for e in lines]
    assert kinds == ["RolloutStarted", "HookSucceeded", "TrafficShifted", "TrafficShifted",
                     "RolloutSucceeded"], kinds
    assert [e["weightPercent"] for e in lines if e["eventType"] == "TrafficShifted"] == [50.0, 100.0]
    assert alias_state(lambda_client, APP, alias) == (new, {})
    assert "execution arn:aws:states:" in r.stderr


def test_a_failing_hook_rolls_back_and_exits_1(app, machine, lambda_client):
    fn, alias, old, new = app
    r = shifter("deploy", "--state-machine-arn", machine.state_machine_arn, "--function", APP, "--alias", alias,
                "--version", new, "--strategy", FAST_LINEAR, "--pre-traffic-hook", "example-hook-fail",
                "--output", "json")
    assert r.returncode == 1, (r.stdout, r.stderr)
    kinds = [json.loads(line)["eventType"] for line in r.stdout.splitlines() if line.strip()]
    assert kinds[-2:] == ["HookFailed", "RolledBack"], kinds
    assert alias_state(lambda_client, APP, alias) == (old, {})


def test_no_wait_prints_the_arn_and_returns(app, machine, lambda_client, sfn):
    fn, alias, old, new = app
    started = time.monotonic()
    r = shifter("deploy", "--state-machine-arn", machine.state_machine_arn, "--function", APP, "--alias", alias,
                "--version", new, "--strategy", FAST_LINEAR, "--no-wait")
    assert r.returncode == 0, r.stderr
    assert time.monotonic() - started < 15
    arn = r.stdout.strip()
    assert arn.startswith("arn:aws:states:") and ":execution:" in arn, r.stdout
    desc = stack_local.wait(sfn, arn, timeout=120)
    assert desc["status"] == "SUCCEEDED", desc
    assert alias_state(lambda_client, APP, alias) == (new, {})

    s = shifter("status", arn)
    assert s.returncode == 0, s.stderr
    assert "SUCCEEDED" in s.stdout and f"{APP}:{alias}" in s.stdout, s.stdout
    sj = shifter("status", arn, "--output", "json")
    assert sj.returncode == 0, sj.stderr
    doc = json.loads(sj.stdout)
    assert doc["status"] == "SUCCEEDED" and doc["rollout"]["weightPercent"] == 100.0, doc
    assert doc["rollout"]["alias"] == alias and doc["rollout"]["targetVersion"] == new


def test_no_wait_json_is_one_object_with_the_arn(app, machine, lambda_client, sfn, unique):
    fn, alias, old, new = app
    rid = unique("r")
    r = shifter("deploy", "--state-machine-arn", machine.state_machine_arn, "--function", APP, "--alias", alias,
                "--version", new, "--strategy", "AllAtOnce", "--rollout-id", rid, "--no-wait", "--output", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["rolloutId"] == f"cli-{rid}" and doc["executionArn"].endswith(f":cli-{rid}"), doc
    assert stack_local.wait(sfn, doc["executionArn"])["status"] == "SUCCEEDED"
    assert alias_state(lambda_client, APP, alias) == (new, {})


def test_status_of_an_alias_says_whether_it_is_weighted(app, lambda_client):
    fn, alias, old, new = app
    r = shifter("status", f"{APP}:{alias}")
    assert r.returncode == 0, r.stderr
    assert f"version {old}" in r.stdout and "not weighted" in r.stdout, r.stdout
    lambda_client.update_alias(FunctionName=APP, Name=alias, FunctionVersion=old,
                               RoutingConfig={"AdditionalVersionWeights": {new: 0.25}})
    r = shifter("status", f"{APP}:{alias}")
    assert r.returncode == 0, r.stderr
    assert "weighted: a rollout owns it" in r.stdout and "25%" in r.stdout, r.stdout
    j = shifter("status", f"{APP}:{alias}", "--output", "json")
    doc = json.loads(j.stdout)
    assert doc["weighted"] is True and doc["additionalVersion"] == {"version": new, "weightPercent": 25.0}, doc


def test_an_invalid_request_exits_2_and_starts_nothing(app, machine, lambda_client, sfn):
    fn, alias, old, new = app
    before = len(executions(sfn, machine))
    r = shifter("deploy", "--state-machine-arn", machine.state_machine_arn, "--function", APP, "--alias", alias,
                "--version", new, "--strategy", "Canary10Percent7Minutes")
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "strategy" in r.stderr, r.stderr
    assert len(executions(sfn, machine)) == before
    assert alias_state(lambda_client, APP, alias) == (old, {})


def test_a_missing_state_machine_arn_exits_2_naming_both_ways(app):
    fn, alias, old, new = app
    r = shifter("deploy", "--function", APP, "--alias", alias, "--version", new, "--strategy", "AllAtOnce")
    assert r.returncode == 2
    assert "--state-machine-arn" in r.stderr and "SHIFTER_STATE_MACHINE_ARN" in r.stderr, r.stderr


def test_a_request_prepare_refuses_ends_with_exit_2(app, machine, lambda_client):
    fn, alias, old, new = app
    r = shifter("deploy", "--state-machine-arn", machine.state_machine_arn, "--function", APP, "--alias", alias,
                "--version", "999", "--strategy", "AllAtOnce", "--output", "json")
    assert r.returncode == 2, (r.stdout, r.stderr)
    last = json.loads(r.stdout.splitlines()[-1])
    assert last["eventType"] == "RequestRejected" and last["errorType"] == "ResourceNotFound", last
    assert alias_state(lambda_client, APP, alias) == (old, {})
