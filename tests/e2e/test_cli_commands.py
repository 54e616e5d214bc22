"""`shifter promote | pause | resume | abort` end to end: the real binary sends commands to a rollout the real
state machine runs on the offline AWS stack, through the rollout's lease in the registry table the harness
creates. Each test reads the alias and the execution back from the emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from aws_local import REGISTRY_TABLE, alias_state, client_env

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
import stack_local  # noqa: E402

SHIFTER = os.environ.get("SHIFTER_BIN", os.path.join(os.path.dirname(__file__), "..", "..", "target", "debug", "shifter"))
APP = "sample-orders"
TABLE = REGISTRY_TABLE
LONG_CANARY = '{"type":"canary","percent":20,"bakeSeconds":300}'


def shifter(*args: str, timeout: float = 180, table: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, **client_env())
    env.pop("SHIFTER_STATE_MACHINE_ARN", None)
    env.pop("SHIFTER_TABLE", None)
    if table:
        env["SHIFTER_TABLE"] = TABLE
    return subprocess.run([SHIFTER, *args], env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def machine(harness):
    missing = {"shifter-prepare", "shifter-advance", "shifter-rollback", "shifter-wait"} - set(harness.functions())
    if missing:
        pytest.fail(f"{sorted(missing)} not served by cargo lambda watch", pytrace=False)
    return stack_local.deploy()


def baking(machine, lambda_client, sfn, alias: str, old: str, new: str) -> str:
    """Starts a 20% canary that bakes 5 minutes and waits until it bakes; returns its execution ARN."""
    r = shifter("deploy", "--state-machine-arn", machine.state_machine_arn, "--function", APP, "--alias", alias,
                "--version", new, "--strategy", LONG_CANARY, "--no-wait")
    assert r.returncode == 0, r.stderr
    arn = r.stdout.strip()
    deadline = time.monotonic() + 60
    while True:
        listed = json.loads(shifter("list", "--output", "json").stdout)
        mine = [x for x in listed if x.get("executionArn") == arn]
        if mine and (mine[0].get("wait") or {}).get("kind") == "bake":
            break
        assert time.monotonic() < deadline, f"the rollout never baked: {listed}"
        time.sleep(0.2)
    assert alias_state(lambda_client, APP, alias) == (old, {new: 0.2})
    assert mine[0]["startedBy"] == "cli", mine
    return arn


def ended(sfn, arn: str, timeout: float = 60) -> dict:
    desc = stack_local.wait(sfn, arn, timeout=timeout)
    assert desc["status"] != "RUNNING", desc
    return desc


def stop(sfn, arn: str):
    if sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
        sfn.stop_execution(executionArn=arn, cause="test cleanup")


def test_promote_skips_the_bake_and_finalizes(sample_app, machine, lambda_client, sfn):
    fn, alias, old, new = sample_app
    arn = baking(machine, lambda_client, sfn, alias, old, new)
    try:
        p = shifter("promote", arn)
        assert p.returncode == 0, (p.stdout, p.stderr)
        assert p.stdout.startswith("promote delivered to rollout cli-"), p.stdout
        assert ended(sfn, arn)["status"] == "SUCCEEDED"
        assert alias_state(lambda_client, APP, alias) == (new, {})
    finally:
        stop(sfn, arn)


def test_pause_holds_the_weight_until_resume(sample_app, machine, lambda_client, sfn):
    fn, alias, old, new = sample_app
    arn = baking(machine, lambda_client, sfn, alias, old, new)
    try:
        p = shifter("pause", f"{APP}:{alias}", "--max-pause", "10m", "--output", "json")
        assert p.returncode == 0, (p.stdout, p.stderr)
        doc = json.loads(p.stdout)
        assert (doc["command"], doc["maxSeconds"], doc["delivery"]) == ("pause", 600, "delivered"), doc
        deadline = time.monotonic() + 30
        while "paused" not in shifter("list").stdout:
            assert time.monotonic() < deadline, shifter("list").stdout
            time.sleep(0.2)
        assert alias_state(lambda_client, APP, alias) == (old, {new: 0.2})
        r = shifter("resume", f"{APP}:{alias}")
        assert r.returncode == 0, (r.stdout, r.stderr)
        assert r.stdout.startswith("resume delivered"), r.stdout
        # Resumed, it goes on with its next step: the canary's last, so it finalizes.
        assert ended(sfn, arn)["status"] == "SUCCEEDED"
        assert alias_state(lambda_client, APP, alias) == (new, {})
    finally:
        stop(sfn, arn)


def test_abort_rolls_back_through_the_state_machine_and_waits_for_the_end(sample_app, machine, lambda_client, sfn):
    fn, alias, old, new = sample_app
    arn = baking(machine, lambda_client, sfn, alias, old, new)
    try:
        a = shifter("abort", f"{APP}:{alias}", "--reason", "e2e says no", "--timeout", "90s")
        assert a.returncode == 0, (a.stdout, a.stderr)
        lines = a.stdout.splitlines()
        assert lines[0].startswith("abort delivered to rollout cli-") and "it rolls back now" in lines[0], a.stdout
        assert f"{APP}:{alias} serves version {old} alone" in lines[-1], a.stdout
        assert alias_state(lambda_client, APP, alias) == (old, {})
        assert ended(sfn, arn)["status"] == "FAILED"
        again = shifter("abort", f"{APP}:{alias}")
        assert again.returncode == 2 and "no rollout is running" in again.stderr, again.stderr
    finally:
        stop(sfn, arn)


def test_abort_without_a_table_takes_the_stop_execution_path(sample_app, machine, lambda_client, sfn):
    fn, alias, old, new = sample_app
    arn = baking(machine, lambda_client, sfn, alias, old, new)
    try:
        a = shifter("abort", arn, table=False)
        assert a.returncode == 0, (a.stdout, a.stderr)
        assert "taking the StopExecution path" in a.stdout, a.stdout
        # The stack's execution cleanup reacts to the same ABORTED event and may restore the alias first.
        assert (f"rolled back {APP}:{alias} to version {old}" in a.stdout
                or f"{APP}:{alias} already served version {old} alone" in a.stdout), a.stdout
        assert alias_state(lambda_client, APP, alias) == (old, {})
        # The harness stops a callback-waiting execution as AWS does (moto alone would leave it RUNNING).
        assert sfn.describe_execution(executionArn=arn)["status"] == "ABORTED"
    finally:
        stop(sfn, arn)


def test_commands_refuse_what_they_cannot_reach(sample_app, machine):
    fn, alias, old, new = sample_app
    r = shifter("promote", f"{APP}:{alias}")
    assert r.returncode == 2 and f"no rollout is running on {APP}:{alias}" in r.stderr, r.stderr
    r = shifter("pause", f"{APP}:{alias}", table=False)
    assert r.returncode == 2 and "--table" in r.stderr, r.stderr


def test_abort_reaches_a_local_rollout_at_its_next_check(sample_app, lambda_client):
    fn, alias, old, new = sample_app
    env = dict(os.environ, **client_env(), SHIFTER_TABLE=TABLE)
    local = subprocess.Popen([SHIFTER, "deploy", "--local", "--function", APP, "--alias", alias, "--version", new,
                              "--strategy", LONG_CANARY, "--check-interval", "1"],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not alias_state(lambda_client, APP, alias)[1]:
            assert local.poll() is None and time.monotonic() < deadline, "the local rollout never weighted the alias"
            time.sleep(0.2)
        listed = shifter("list").stdout
        assert f"{APP}:{alias}" in listed and "local" in listed, listed
        a = shifter("abort", f"{APP}:{alias}", "--timeout", "60s")
        assert a.returncode == 0, (a.stdout, a.stderr)
        assert "(local): the local rollout reads it at its next check" in a.stdout, a.stdout
        assert f"serves version {old} alone" in a.stdout, a.stdout
        out, err = local.communicate(timeout=30)
        assert local.returncode == 1, (out, err)
        assert alias_state(lambda_client, APP, alias) == (old, {})
    finally:
        if local.poll() is None:
            local.terminate()
            local.wait(timeout=30)
