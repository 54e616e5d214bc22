"""Conformance: the two drivers of a rollout write the same alias states. For each request, `shifter deploy
--local` (the real CLI) drives one fresh alias and the state machine (the real ASL on moto, real function
binaries) another fresh alias of the same function, with the same versions; the harness proxy's alias history
(every successful CreateAlias/UpdateAlias) must be the same sequence of (functionVersion, weights) for both.
The two run at the same time: they touch different aliases."""

from __future__ import annotations

import json
import os
import subprocess
import threading

import pytest

import stack_local
from aws_local import client_env, routing_history as history

SHIFTER = os.environ.get("SHIFTER_BIN", os.path.join(os.path.dirname(__file__), "..", "..", "target", "debug", "shifter"))
APP = "sample-orders"



CASES = {
    "linear-3-steps": ({"type": "linear", "percent": 34, "intervalSeconds": 1}, {}, "SUCCEEDED"),
    "steps-plan": ({"type": "steps", "steps": [{"percent": 5, "bakeSeconds": 1}, {"percent": 25, "bakeSeconds": 1},
                                               {"percent": 100}]}, {}, "SUCCEEDED"),
    "all-at-once": ("AllAtOnce", {}, "SUCCEEDED"),
    "post-hook-fails": ({"type": "linear", "percent": 50, "intervalSeconds": 1},
                        {"hooks": {"postTraffic": "example-hook-fail"}}, "FAILED"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_cli_and_state_machine_write_the_same_alias_states(case, state_machine, make_function, create_alias, sfn,
                                                           harness, unique, tmp_path):
    strategy, extra, status = CASES[case]
    if APP not in harness.functions():
        pytest.fail(f"{APP} is not served by cargo lambda watch", pytrace=False)
    fn = make_function(APP, versions=2)
    for hook in ("example-hook-smoke", "example-hook-fail"):
        make_function(hook, versions=0)
    old, new = fn.versions[-2:]
    cli_alias, sm_alias = unique("cli"), unique("sfn")
    for alias in (cli_alias, sm_alias):
        create_alias(APP, alias, old)

    def req(alias: str) -> dict:
        return {"functionName": APP, "alias": alias, "targetVersion": new, "strategy": strategy, **extra}

    path = tmp_path / "request.json"
    path.write_text(json.dumps(req(cli_alias)))
    cli: dict = {}

    def run_cli():
        cli["result"] = subprocess.run([SHIFTER, "deploy", "--local", "--request", str(path), "--check-interval", "1",
                                        "--output", "json"], env=dict(os.environ, **client_env()),
                                       capture_output=True, text=True, timeout=120)

    thread = threading.Thread(target=run_cli)
    thread.start()
    arn = sfn.start_execution(stateMachineArn=state_machine.state_machine_arn, name=unique(f"conf-{case}"),
                              input=json.dumps(req(sm_alias)))["executionArn"]
    desc = stack_local.wait(sfn, arn, timeout=120)
    thread.join(130)
    r = cli["result"]

    assert desc["status"] == status, desc
    assert r.returncode == (0 if status == "SUCCEEDED" else 1), (r.stdout, r.stderr)
    cli_states, sm_states = history(harness, APP, cli_alias), history(harness, APP, sm_alias)
    assert len(cli_states) >= 2, cli_states
    assert sm_states == cli_states
    # The lifecycle events agree too: the CLI prints them, the state machine's Tasks published them.
    cli_kinds = [json.loads(line)["eventType"] for line in r.stdout.splitlines() if line.strip()]
    assert cli_kinds[0] == "RolloutStarted"
    assert cli_kinds.count("TrafficShifted") == sum(1 for s in sm_states[1:] if s[0] == new or s[1])
