"""Operators and alarms against rollouts in both modes, read back from the emulator: a pause still rolls back on an
alarm in the state machine; a `deploy --local --table` rollout obeys promote, pause and resume through its lease;
and a local rollout polling every second restores the alias within 5 s of an alarm's state change."""

from __future__ import annotations

import json
import os
import subprocess
import time

from aws_local import alias_state, client_env
from test_cli_commands import APP, SHIFTER, TABLE, baking, ended, machine, shifter, stop  # noqa: F401

LONG_CANARY = '{"type":"canary","percent":20,"bakeSeconds":300}'
REACTION_S = 5.0


def until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def local_rollout(alias: str, new: str, *extra: str) -> subprocess.Popen:
    """`shifter deploy --local` with the registry, checking every second, as a background process."""
    env = dict(os.environ, **client_env(), SHIFTER_TABLE=TABLE)
    env.pop("SHIFTER_STATE_MACHINE_ARN", None)
    return subprocess.Popen([SHIFTER, "deploy", "--local", "--function", APP, "--alias", alias, "--version", new,
                             "--strategy", LONG_CANARY, "--check-interval", "1", "--output", "json", *extra],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def weighted(lambda_client, local: subprocess.Popen, alias: str, old: str, new: str):
    until(lambda: local.poll() is not None or alias_state(lambda_client, APP, alias) == (old, {new: 0.2}), 60,
          "the local rollout to weight the alias")
    assert local.poll() is None, local.communicate()


def finish(local: subprocess.Popen, timeout: float = 30) -> tuple[int, list[dict]]:
    out, err = local.communicate(timeout=timeout)
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return local.returncode, events


def is_baking(arn: str) -> bool:
    listed = json.loads(shifter("list", "--output", "json").stdout)
    return any(x.get("executionArn") == arn and (x.get("wait") or {}).get("kind") == "bake" for x in listed)


def test_state_machine_pause_then_alarm_rolls_back(sample_app, machine, lambda_client, sfn, make_alarm, cloudwatch):
    fn, alias, old, new = sample_app
    alarm = make_alarm(function=APP, alias=alias)
    r = shifter("deploy", "--state-machine-arn", machine.state_machine_arn, "--function", APP, "--alias", alias,
                "--version", new, "--strategy", LONG_CANARY, "--alarm", alarm, "--no-wait")
    assert r.returncode == 0, r.stderr
    arn = r.stdout.strip()
    try:
        until(lambda: is_baking(arn), 60, "the bake")
        p = shifter("pause", arn)
        assert p.returncode == 0 and p.stdout.startswith("pause delivered"), (p.stdout, p.stderr)
        until(lambda: "paused" in shifter("list").stdout, 30, "the pause")
        cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="test: errors while paused")
        fired = time.monotonic()
        until(lambda: alias_state(lambda_client, APP, alias) == (old, {}), REACTION_S, "the alias restored")
        assert time.monotonic() - fired < REACTION_S
        desc = ended(sfn, arn)
        assert desc["status"] == "FAILED" and desc["error"] == "RolledBack" and alarm in desc["cause"], desc
    finally:
        stop(sfn, arn)


def test_local_promote_skips_the_bake(sample_app, lambda_client):
    fn, alias, old, new = sample_app
    local = local_rollout(alias, new)
    weighted(lambda_client, local, alias, old, new)
    p = shifter("promote", f"{APP}:{alias}")
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert "the local rollout reads it at its next check" in p.stdout, p.stdout
    code, events = finish(local)
    assert code == 0, events
    assert [e["eventType"] for e in events if e["eventType"] == "PromoteRequested"] == ["PromoteRequested"]
    assert alias_state(lambda_client, APP, alias) == (new, {})


def test_local_pause_holds_until_resume_then_promotes(sample_app, lambda_client):
    fn, alias, old, new = sample_app
    local = local_rollout(alias, new)
    weighted(lambda_client, local, alias, old, new)
    assert shifter("pause", f"{APP}:{alias}", "--max-pause", "10m").returncode == 0
    until(lambda: "paused" in shifter("list").stdout, 15, "the local rollout to pause")
    time.sleep(2)
    assert local.poll() is None and alias_state(lambda_client, APP, alias) == (old, {new: 0.2})
    assert shifter("resume", f"{APP}:{alias}").returncode == 0
    code, events = finish(local)
    kinds = [e["eventType"] for e in events]
    assert code == 0 and "Paused" in kinds and "Resumed" in kinds, kinds
    assert alias_state(lambda_client, APP, alias) == (new, {})


def test_local_pause_then_alarm_rolls_back(sample_app, lambda_client, make_alarm, cloudwatch):
    fn, alias, old, new = sample_app
    alarm = make_alarm(function=APP, alias=alias)
    local = local_rollout(alias, new, "--alarm", alarm)
    weighted(lambda_client, local, alias, old, new)
    assert shifter("pause", f"{APP}:{alias}").returncode == 0
    until(lambda: "paused" in shifter("list").stdout, 15, "the local rollout to pause")
    cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="test: errors while paused")
    code, events = finish(local)
    assert code == 1 and events[-1]["eventType"] == "RolledBack" and alarm in events[-1]["reason"], events
    assert alias_state(lambda_client, APP, alias) == (old, {})


def test_local_alarm_mid_bake_restores_the_alias_within_seconds(sample_app, lambda_client, make_alarm, cloudwatch):
    fn, alias, old, new = sample_app
    alarm = make_alarm(function=APP, alias=alias)
    local = local_rollout(alias, new, "--alarm", alarm)
    weighted(lambda_client, local, alias, old, new)
    time.sleep(1.5)  # into the bake
    cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="test: canary errors")
    fired = time.monotonic()
    until(lambda: alias_state(lambda_client, APP, alias) == (old, {}), REACTION_S, "the alias restored")
    assert time.monotonic() - fired < REACTION_S
    code, events = finish(local)
    assert code == 1 and events[-1]["eventType"] == "RolledBack", events
