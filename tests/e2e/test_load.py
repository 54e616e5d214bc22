"""Load on the offline stack (issue "Proven under faults…", part 4): 50 rollouts started at once through the real
state machine on moto, each on its own alias of one function, every Task served by the real function binaries
under cargo lambda watch. Every execution must succeed and every alias end on the new version alone, with each
step's weight written once (the proxy records every alias write)."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import stack_local
from aws_local import alias_state, routing_history as history
from test_cli_commands import machine  # noqa: F401  (the rollout state machine on the offline stack)

ROLLOUTS = 50
STRATEGY = {"type": "linear", "percent": 50, "intervalSeconds": 1}


def test_fifty_concurrent_rollouts_all_end_on_the_new_version(machine, make_function, create_alias, sfn,  # noqa: F811
                                                              lambda_client, harness, unique):
    fn = make_function(versions=2)
    old, new = fn.versions[-2:]
    aliases = [unique(f"load{i}") for i in range(ROLLOUTS)]
    for alias in aliases:
        create_alias(fn.name, alias, old)

    def start(alias: str) -> str:
        request = {"functionName": fn.name, "alias": alias, "targetVersion": new, "strategy": STRATEGY}
        return sfn.start_execution(stateMachineArn=machine.state_machine_arn, name=unique("load"),
                                   input=json.dumps(request))["executionArn"]

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=10) as pool:
        arns = list(pool.map(start, aliases))
        ended = list(pool.map(lambda arn: stack_local.wait(sfn, arn, timeout=600, poll=0.5), arns))
    elapsed = time.monotonic() - started
    statuses = [d["status"] for d in ended]
    failed = [(d["executionArn"], d.get("error"), d.get("cause")) for d in ended if d["status"] != "SUCCEEDED"]
    assert not failed, f"{len(failed)} of {ROLLOUTS} did not succeed: {failed[:3]}"
    assert statuses.count("SUCCEEDED") == ROLLOUTS
    for alias in aliases:
        assert alias_state(lambda_client, fn.name, alias) == (new, {}), alias
        # One write per step: 50%, then the new version alone; nothing written twice, nothing else.
        assert history(harness, fn.name, alias) == [(old, {}), (old, {new: 0.5}), (new, {})], alias
    print(f"{ROLLOUTS} rollouts in {elapsed:.0f} s")
