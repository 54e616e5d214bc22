"""`shifter abort FUNCTION:ALIAS` when the rollout that weighted the alias is gone: a `shifter deploy --local`
killed with SIGKILL mid-bake (what a cancelled CI runner does once its grace period is over), with and without
the registry. And what `deploy --local` does on SIGINT and SIGTERM itself. The real binary against the offline
AWS stack; the alias, its write history and the registry are read back from the emulator."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

from aws_local import REGISTRY_TABLE, alias_state, client_env, routing_history as history

SHIFTER = os.environ.get("SHIFTER_BIN", os.path.join(os.path.dirname(__file__), "..", "..", "target", "debug", "shifter"))
APP = "sample-orders"
LONG_CANARY = '{"type":"canary","percent":20,"bakeSeconds":300}'


def env(table: bool) -> dict:
    e = dict(os.environ, **client_env())
    e.pop("SHIFTER_TABLE", None)
    e.pop("SHIFTER_STATE_MACHINE_ARN", None)
    if table:
        e["SHIFTER_TABLE"] = REGISTRY_TABLE
    return e


def shifter(*args: str, table: bool = True, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([SHIFTER, *args], env=env(table), capture_output=True, text=True, timeout=timeout)


def baking_locally(lambda_client, alias: str, new: str, *extra: str, table: bool = True) -> subprocess.Popen:
    """Starts `shifter deploy --local` on a 20% canary that bakes 5 minutes, checking every second, and waits
    until it has weighted the alias."""
    local = subprocess.Popen([SHIFTER, "deploy", "--local", "--function", APP, "--alias", alias, "--version", new,
                              "--strategy", LONG_CANARY, "--check-interval", "1", *extra],
                             env=env(table), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not alias_state(lambda_client, APP, alias)[1]:
        assert local.poll() is None and time.monotonic() < deadline, "the local rollout never weighted the alias"
        time.sleep(0.2)
    return local


def killed(local: subprocess.Popen):
    local.send_signal(signal.SIGKILL)
    local.communicate(timeout=30)
    assert local.returncode == -signal.SIGKILL


def records(alias: str) -> list[dict]:
    r = shifter("history", f"{APP}:{alias}", "--output", "json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_abort_restores_the_alias_of_a_local_rollout_killed_mid_bake(sample_app, lambda_client, harness, topic_queue):
    fn, alias, old, new = sample_app
    tq = topic_queue()
    local = baking_locally(lambda_client, alias, new, "--topic", tq.topic_arn)
    # Killed once it has said so (the alias is written before TrafficShifted is published).
    before = tq.drain(expect=2, timeout=10)
    assert [n["MessageAttributes"]["eventType"] for n in before] == ["RolloutStarted", "TrafficShifted"], before
    try:
        killed(local)
    finally:
        if local.poll() is None:
            local.kill()
    # Nothing rolled it back: the alias stays weighted, and the registry still shows the rollout running.
    assert alias_state(lambda_client, APP, alias) == (old, {new: 0.2})
    [running] = records(alias)
    assert running["status"] == "Running" and running["startedBy"] == "local", running
    listed = json.loads(shifter("list", "--output", "json").stdout)
    assert [x["rolloutId"] for x in listed if x["alias"] == alias] == [running["rolloutId"]]

    started = time.monotonic()
    a = shifter("abort", f"{APP}:{alias}", "--reason", "runner cancelled")
    waited = time.monotonic() - started
    assert a.returncode == 0, (a.stdout, a.stderr)
    lines = a.stdout.splitlines()
    rid = running["rolloutId"]
    assert lines[0] == f"abort recorded for rollout {rid} (local): the local rollout reads it at its next check", lines
    assert lines[1].startswith(f"rollout {rid} (local): its process stopped checking in on the lease: none for "), lines
    assert lines[1].endswith(f", it checks in every 1s; restoring {APP}:{alias} from here"), lines
    assert lines[2] == (f"rollout {rid} ended RolledBack: restored {APP}:{alias} to version {old} alone "
                        f"(it routed version {old} 80% + version {new} 20%)"), lines
    # It gave the process its grace (2 x 1 s + 60 s) before writing, and wrote once.
    assert 62 <= waited < 120, waited
    assert alias_state(lambda_client, APP, alias) == (old, {})
    assert history(harness, APP, alias) == [(old, {}), (old, {new: 0.2}), (old, {})]
    [ended] = records(alias)
    assert ended["rolloutId"] == rid and ended["status"] == "RolledBack", ended
    assert ended["reason"].startswith("aborted by an operator: runner cancelled (its process stopped checking in"), ended
    assert ended["reason"].endswith(f"shifter abort restored version {old} alone"), ended
    listed = json.loads(shifter("list", "--output", "json").stdout)
    assert not [x for x in listed if x["alias"] == alias], listed
    # The notification every rollback path sends, on the rollout's topic.
    sent = tq.drain(expect=1, timeout=10)
    assert [n["MessageAttributes"]["eventType"] for n in sent] == ["RolledBack"], sent
    assert sent[0]["Message"]["reason"] == ended["reason"], sent[0]
    assert sent[0]["Message"]["weightPercent"] == 0.0, sent[0]

    # Nothing left to abort: said so, exit 2, nothing written.
    again = shifter("abort", f"{APP}:{alias}", "--output", "json")
    assert again.returncode == 2, (again.stdout, again.stderr)
    doc = json.loads(again.stdout)
    assert (doc["path"], doc["weighted"], doc["aliasChanged"], doc["owner"]) == ("unowned", False, False, None), doc
    assert len(history(harness, APP, alias)) == 3


def test_without_the_registry_abort_unowned_restores_what_a_killed_local_rollout_left(sample_app, lambda_client,
                                                                                      harness):
    fn, alias, old, new = sample_app
    local = baking_locally(lambda_client, alias, new, table=False)
    try:
        killed(local)
    finally:
        if local.poll() is None:
            local.kill()
    assert alias_state(lambda_client, APP, alias) == (old, {new: 0.2})
    refused = shifter("abort", f"{APP}:{alias}", table=False)
    assert refused.returncode == 2, (refused.stdout, refused.stderr)
    assert f"`shifter abort {APP}:{alias} --unowned`" in refused.stderr, refused.stderr
    assert alias_state(lambda_client, APP, alias) == (old, {new: 0.2})
    a = shifter("abort", f"{APP}:{alias}", "--unowned", "--output", "json", table=False)
    assert a.returncode == 0, (a.stdout, a.stderr)
    doc = json.loads(a.stdout)
    assert (doc["aliasRestored"], doc["aliasChanged"], doc["owner"], doc["status"]) == (True, True, None, None), doc
    assert doc["routing"] == {"functionVersion": old, "additionalVersion": None}, doc
    assert alias_state(lambda_client, APP, alias) == (old, {})
    assert history(harness, APP, alias)[-1] == (old, {})


def test_with_the_registry_an_alias_without_a_lease_is_restored_at_once(sample_app, lambda_client, harness):
    fn, alias, old, new = sample_app
    # Weighted by a local rollout that ran without the table, then killed: the registry has no lease for it.
    local = baking_locally(lambda_client, alias, new, table=False)
    try:
        killed(local)
    finally:
        if local.poll() is None:
            local.kill()
    started = time.monotonic()
    a = shifter("abort", f"{APP}:{alias}")
    assert a.returncode == 0, (a.stdout, a.stderr)
    assert time.monotonic() - started < 30
    assert a.stdout == (f"restored {APP}:{alias} to version {old} alone (it routed version {old} 80% + version {new} "
                        "20%, and no live rollout owned it)\n"), a.stdout
    assert alias_state(lambda_client, APP, alias) == (old, {})


def test_deploy_local_rolls_back_on_sigint_and_sigterm(sample_app, lambda_client, harness):
    fn, alias, old, new = sample_app
    for sig, name in ((signal.SIGINT, "interrupted (SIGINT)"), (signal.SIGTERM, "terminated (SIGTERM)")):
        local = baking_locally(lambda_client, alias, new)
        try:
            local.send_signal(sig)
            out, err = local.communicate(timeout=60)
        finally:
            if local.poll() is None:
                local.kill()
        assert local.returncode == 1, (out, err)
        assert out.splitlines()[-1] == f"rolled back {APP}:{alias} to version {old}: aborted: {name}", out
        assert alias_state(lambda_client, APP, alias) == (old, {})
        last = records(alias)[0]
        assert (last["status"], last["reason"]) == ("RolledBack", f"aborted: {name}"), last
