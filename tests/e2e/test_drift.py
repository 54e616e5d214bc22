"""Drift: someone else points the alias elsewhere in the middle of a rollout. shifter fences every alias write on the
RevisionId it read, so its next write is refused (412 PreconditionFailedException) and the rollout stops without
touching the alias again; the rollback sees a routing it did not set and leaves it alone.

These tests need the harness proxy's AWS RevisionId semantics (tests/harness/alias_revisions.py): on bare moto
every RevisionId is accepted and never changes, so the next shift would silently overwrite the other change.
Both modes: `shifter deploy --local` and the state machine on moto's Step Functions engine. Each test reads the
alias back and checks the proxy's alias history: no write by shifter after the drift."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time

import pytest

import stack_local
from aws_local import alias_state, client_env, routing_history as history

SHIFTER = os.environ.get("SHIFTER_BIN", os.path.join(os.path.dirname(__file__), "..", "..", "target", "debug", "shifter"))
APP = "sample-orders"  # a workspace binary (conftest's sample_app)
BAKE_SECONDS = 6  # long enough for the test to change the alias while the canary bakes


def shifter(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, **client_env())
    return subprocess.run([SHIFTER, *args], env=env, capture_output=True, text=True, timeout=timeout)


class Drift:
    """Once the alias is weighted (the canary is baking), points it at `version` alone, out of band: a plain
    boto3 UpdateAlias with no RevisionId, as an operator's `aws lambda update-alias` would."""

    def __init__(self, lambda_client, alias: str, version: str):
        self.lambda_client, self.alias, self.version = lambda_client, alias, version
        self.done = threading.Event()
        self.error: Exception | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.thread.join(5)

    def _run(self):
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if alias_state(self.lambda_client, APP, self.alias)[1]:
                    self.lambda_client.update_alias(FunctionName=APP, Name=self.alias, FunctionVersion=self.version,
                                                    RoutingConfig={"AdditionalVersionWeights": {}})
                    self.done.set()
                    return
                time.sleep(0.1)
        except Exception as exc:  # noqa: BLE001 - reported by the test
            self.error = exc


@pytest.fixture
def drift_app(sample_app, make_function):
    """sample_app plus a third version v3, published before the rollout starts: (alias, old, new, v3)."""
    fn, alias, old, new = sample_app
    (v3,) = make_function.publish(fn, 1)[-1:]
    return alias, old, new, v3


def test_local_rollout_leaves_a_drifted_alias_alone(drift_app, lambda_client, harness, topic_queue):
    alias, old, new, v3 = drift_app
    tq = topic_queue()
    strategy = json.dumps({"type": "canary", "percent": 20, "bakeSeconds": BAKE_SECONDS})
    with Drift(lambda_client, alias, v3) as drift:
        r = shifter("deploy", "--local", "--function", APP, "--alias", alias, "--version", new, "--strategy", strategy,
                    "--check-interval", "1", "--topic", tq.topic_arn, "--output", "json")
    assert drift.error is None, drift.error
    assert drift.done.is_set(), "the alias was never weighted"
    assert r.returncode == 3, (r.stdout, r.stderr)
    err = r.stderr.lower()
    assert "someone else" in err and "left it alone" in err, r.stderr
    # The alias is as the other change left it, and shifter wrote nothing after that change.
    assert alias_state(lambda_client, APP, alias) == (v3, {})
    assert history(harness, APP, alias) == [(old, {}), (old, {new: 0.2}), (v3, {})]
    events = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    assert [e["eventType"] for e in events] == ["RolloutStarted", "TrafficShifted", "RolloutFailed"], events
    assert events[-1]["errorType"] == "AliasChanged", events[-1]
    sent = tq.drain(expect=3)
    assert [n["MessageAttributes"]["eventType"] for n in sent] == ["RolloutStarted", "TrafficShifted",
                                                                   "RolloutFailed"]
    assert sent[-1]["Message"]["errorType"] == "AliasChanged"


def test_state_machine_leaves_a_drifted_alias_alone(state_machine, drift_app, sfn, lambda_client, harness,
                                                    topic_queue, unique):
    alias, old, new, v3 = drift_app
    tq = topic_queue()
    request = {"functionName": APP, "alias": alias, "targetVersion": new, "notificationTopicArn": tq.topic_arn,
               "strategy": {"type": "canary", "percent": 20, "bakeSeconds": BAKE_SECONDS}}
    with Drift(lambda_client, alias, v3) as drift:
        ex_arn = sfn.start_execution(stateMachineArn=state_machine.state_machine_arn, name=unique("drift"),
                                     input=json.dumps(request))["executionArn"]
        desc = stack_local.wait(sfn, ex_arn, timeout=90)
    assert drift.error is None, drift.error
    assert drift.done.is_set(), "the alias was never weighted"
    assert desc["status"] == "FAILED", desc
    assert desc["error"] == "AliasChanged", desc
    assert alias_state(lambda_client, APP, alias) == (v3, {})
    assert history(harness, APP, alias) == [(old, {}), (old, {new: 0.2}), (v3, {})]
    entered = [e["stateEnteredEventDetails"]["name"] for e in stack_local.history(sfn, ex_arn)
               if e["type"].endswith("StateEntered")]
    assert "Bake" in entered and entered[-2:] == ["Rollback", "RolledBack"], entered
    assert "NotifyRollbackFailed" not in entered
    kinds = ["RolloutStarted", "TrafficShifted", "RolloutFailed"]
    sent = tq.drain(expect=len(kinds))
    assert [n["MessageAttributes"]["eventType"] for n in sent] == kinds, [n["Message"] for n in sent]
    assert sent[-1]["Message"]["errorType"] == "AliasChanged", sent[-1]["Message"]
    assert tq.drain() == [], "nothing more, and never RollbackFailed"
