"""The rollout registry end to end: the alias's lease in the DynamoDB table the harness creates (shaped as
template.yaml's RolloutTable) and gives the functions as SHIFTER_TABLE. Two rollouts started on one alias at
the same moment: exactly one proceeds, the other is refused with AliasBusy before any write. Each test reads the
alias back and the proxy's record of every alias write."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time

import pytest

import stack_local
from aws_local import REGISTRY_TABLE, alias_state, client_env, routing_history as history

SHIFTER = os.environ.get("SHIFTER_BIN", os.path.join(os.path.dirname(__file__), "..", "..", "target", "debug", "shifter"))
TABLE = REGISTRY_TABLE


def lease_of(dynamodb, function: str, alias: str) -> dict | None:
    return dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": f"ALIAS#{function}:{alias}"}, "sk": {"S": "LEASE"}},
                             ConsistentRead=True).get("Item")


def record_of(dynamodb, function: str, alias: str, rollout_id: str) -> dict | None:
    return dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": f"ALIAS#{function}:{alias}"},
                                                   "sk": {"S": f"ROLLOUT#{rollout_id}"}}).get("Item")


def test_two_executions_started_together_on_one_alias_exactly_one_proceeds(state_machine, sample_app, sfn, harness,
                                                                          lambda_client, dynamodb, unique):
    fn, alias, old, new = sample_app
    request = json.dumps({"functionName": fn.name, "alias": alias, "targetVersion": new,
                          "strategy": {"type": "canary", "percent": 10, "bakeSeconds": 3}})
    names = [unique("first"), unique("second")]
    arns: dict[str, str] = {}
    barrier = threading.Barrier(len(names))

    def start(name: str):
        barrier.wait()
        arns[name] = sfn.start_execution(stateMachineArn=state_machine.state_machine_arn, name=name,
                                         input=request)["executionArn"]

    threads = [threading.Thread(target=start, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ends = {n: stack_local.wait(sfn, arns[n], timeout=90) for n in names}
    statuses = sorted((d["status"], d.get("error")) for d in ends.values())
    assert statuses == [("FAILED", "AliasBusy"), ("SUCCEEDED", None)], ends
    loser = next(d for d in ends.values() if d["status"] == "FAILED")
    assert "holds its lease" in loser["cause"] or "another rollout owns it" in loser["cause"], loser
    assert alias_state(lambda_client, fn.name, alias) == (new, {})
    # One rollout's writes only: the canary, then the promotion.
    assert history(harness, fn.name, alias) == [(old, {}), (old, {new: 0.1}), (new, {})]
    winner = next(n for n, d in ends.items() if d["status"] == "SUCCEEDED")
    assert lease_of(dynamodb, fn.name, alias) is None, "the lease is given back when the rollout ends"
    record = record_of(dynamodb, fn.name, alias, winner)
    assert record["status"]["S"] == "Promoted" and record["startedBy"]["S"] == "start-execution", record
    assert "expiresAt" in record and "runningPk" not in record, record


def shifter(*args: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([SHIFTER, *args], env=dict(os.environ, **client_env(), **env), capture_output=True,
                          text=True, timeout=120)


def test_a_local_rollout_respects_a_live_lease_and_takes_over_an_expired_one(sample_app, dynamodb, harness,
                                                                            lambda_client, unique):
    fn, alias, old, new = sample_app
    now_ms = int(time.time() * 1000)
    held = {"pk": {"S": f"ALIAS#{fn.name}:{alias}"}, "sk": {"S": "LEASE"}, "functionName": {"S": fn.name},
            "alias": {"S": alias}, "rolloutId": {"S": "r-elsewhere"}, "startedMs": {"N": str(now_ms)},
            "leaseUntilMs": {"N": str(now_ms + 3_600_000)}}
    dynamodb.put_item(TableName=TABLE, Item=held)
    args = ["deploy", "--local", "--function", fn.name, "--alias", alias, "--version", new, "--strategy", "AllAtOnce"]
    busy = shifter(*args, SHIFTER_TABLE=TABLE)
    assert busy.returncode == 3, busy.stderr
    assert "r-elsewhere" in busy.stderr and "lease" in busy.stderr, busy.stderr
    assert history(harness, fn.name, alias) == [(old, {})], "refused before any write"
    # The same holder past its lease (its process died): taken over, and the rollout runs.
    dynamodb.put_item(TableName=TABLE, Item=dict(held, leaseUntilMs={"N": str(now_ms - 1)}))
    done = shifter(*args, SHIFTER_TABLE=TABLE)
    assert done.returncode == 0, done.stderr
    assert alias_state(lambda_client, fn.name, alias) == (new, {})
    assert lease_of(dynamodb, fn.name, alias) is None
