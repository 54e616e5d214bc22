#!/usr/bin/env python3
"""The demo's second half: the same promotion and alarm rollback, now driven by the Step Functions state machine
(the real statemachine/rollout.asl.json deployed on moto, its Tasks served by the real function binaries), then
an operator's promote-now. The alarm rollback is pushed: the alarm's state-change event reaches the alarm watcher,
which ends the bake at once, long before its 60 s are over.

It prints each state as the execution enters it (from get_execution_history), with the weight each Task's output
carries and every alias write as the harness proxy recorded it, then the SNS notifications the functions published.
About 20 s. Run alone: `.venv/bin/python tests/demo/demo_state_machine.py` (needs `make local-up`)."""
import json
import os
import shlex
import subprocess
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from common import FUNCTION, alias_line, banner, fire_alarm_once_weighted, print_notifications  # noqa: E402
import aws_local  # noqa: E402
import stack_local  # noqa: E402

BIN = os.environ.get("SHIFTER_BIN", "target/debug/shifter")
TABLE = aws_local.REGISTRY_TABLE


def shifter(*args):
    """Runs the CLI against the local stack and its registry, printing the command and its output."""
    print(f"  $ {shlex.join(['shifter', *args])}", flush=True)
    env = dict(os.environ, **aws_local.client_env(), SHIFTER_TABLE=TABLE)
    r = subprocess.run([BIN, *args], env=env, capture_output=True, text=True)
    for line in (r.stdout + r.stderr).splitlines():
        print(f"    {line}", flush=True)
    return r.returncode


def promote_once_weighted(lam, alias, delay):
    """Starts a thread that waits until the canary takes traffic, then lists the running rollouts and promotes."""

    def promote():
        deadline = time.time() + 60
        while time.time() < deadline:
            if (lam.get_alias(FunctionName=FUNCTION, Name=alias).get("RoutingConfig") or {}).get(
                    "AdditionalVersionWeights"):
                time.sleep(delay)
                shifter("list")
                thread.code = shifter("promote", f"{FUNCTION}:{alias}")
                thread.promoted_at = time.monotonic()
                return
            time.sleep(0.2)

    thread = threading.Thread(target=promote, daemon=True)
    thread.code, thread.promoted_at = None, None
    thread.start()
    return thread



def follow(sfn, lam, stack, alias, request, name):
    """Starts the execution and prints its states as they are entered; returns describe_execution()."""
    print("$ " + shlex.join(["aws", "stepfunctions", "start-execution", "--name", name, "--input", json.dumps(request)]),
          flush=True)
    arn = sfn.start_execution(stateMachineArn=stack.state_machine_arn, name=name,
                              input=json.dumps(request))["executionArn"]
    harness = aws_local.HarnessApi(aws_local.ENDPOINT)
    writes = len(harness.alias_history(FUNCTION, alias))  # the proxy records every alias write
    seen, started = 0, time.monotonic()
    while True:
        desc = sfn.describe_execution(executionArn=arn)
        events = stack_local.history(sfn, arn)
        for e in events[seen:]:
            t = f"{time.monotonic() - started:5.1f}s"
            if e["type"].endswith("StateEntered"):
                d = e["stateEnteredEventDetails"]
                extra = ""
                if d["name"] == "Bake":
                    extra = f"  (wait {json.loads(d['input']).get('waitSeconds')} s)"
                print(f"  {t}  -> {d['name']}{extra}", flush=True)
            elif e["type"] == "TaskStateExited":
                d = e["stateExitedEventDetails"]
                out = json.loads(d.get("output") or "{}")
                if d["name"] in ("Advance", "Finalize", "Rollback"):
                    weight = (out.get("rollout") or {}).get("weightBps", 0) / 100
                    verdict = out.get("verdict") or {}
                    note = "" if verdict.get("healthy", True) else f"; unhealthy: {verdict.get('failing')}"
                    if d["name"] == "Advance" and out.get("done") and verdict.get("healthy", True):
                        note = "; healthy, next: Finalize"
                    print(f"  {t}     {d['name']} output: weight {weight:g}%{note}", flush=True)
        for w in harness.alias_history(FUNCTION, alias)[writes:]:
            weights = "".join(f" + v{v} {x * 100:g}%" for v, x in w["additionalVersionWeights"].items())
            print(f"  {time.monotonic() - started:5.1f}s     alias write: -> v{w['functionVersion']}{weights}", flush=True)
            writes += 1
        seen = len(events)
        if desc["status"] != "RUNNING":
            return desc
        time.sleep(0.3)


def main():
    lam, cw, sfn = aws_local.client("lambda"), aws_local.client("cloudwatch"), aws_local.client("stepfunctions")
    role = aws_local.ensure_lambda_role(aws_local.client("iam"))
    run = uuid.uuid4().hex[:6]
    alias, alarm = f"sfn-{run}", f"sample-orders-sfn-errors-{run}"

    banner("Step Functions: deploying the state machine (real ASL, its functions as Tasks, the event listeners)")
    stack = stack_local.deploy(f"shifter-demo-{run}")
    print(f"state machine {stack.state_machine_arn}", flush=True)
    versions = aws_local.create_function(lam, role, FUNCTION, versions=3).versions[-3:]
    aws_local.create_function(lam, role, "example-hook-smoke", versions=0)
    lam.create_alias(FunctionName=FUNCTION, Name=alias, FunctionVersion=versions[0])
    aws_local.create_alarm(cw, alarm, function=FUNCTION, alias=alias, state="OK")
    queue = aws_local.create_topic_queue(aws_local.client("sns"), aws_local.client("sqs"), f"shifter-sfn-demo-{run}")
    print(alias_line(lam, alias), flush=True)

    banner("execution 1: linear 25% every 2 s, smoke hook before traffic -> expect promotion")
    desc = follow(sfn, lam, stack, alias, {
        "functionName": FUNCTION, "alias": alias, "targetVersion": versions[1],
        "strategy": {"type": "linear", "percent": 25, "intervalSeconds": 2},
        "hooks": {"preTraffic": "example-hook-smoke"}, "alarms": [alarm], "notificationTopicArn": queue.topic_arn,
    }, f"demo-promote-{run}")
    print(f"execution {desc['status']}; now {alias_line(lam, alias)}", flush=True)
    if desc["status"] != "SUCCEEDED":
        sys.exit(f"demo: the execution was expected to succeed, got {desc['status']} {desc.get('error')}")

    banner("execution 2: canary 20% baking 60 s; the alarm fires 2 s in -> expect a rollback within seconds")

    firing = fire_alarm_once_weighted(lam, cw, alias, alarm, delay=2, prefix="  ")
    desc = follow(sfn, lam, stack, alias, {
        "functionName": FUNCTION, "alias": alias, "targetVersion": versions[2],
        "strategy": {"type": "canary", "percent": 20, "bakeSeconds": 60},
        "alarms": [alarm], "notificationTopicArn": queue.topic_arn,
    }, f"demo-alarm-{run}")
    ended = time.monotonic()
    firing.join(timeout=5)
    final = alias_line(lam, alias)
    print(f"execution {desc['status']} ({desc.get('error')}: {desc.get('cause')}); now {final}", flush=True)
    if desc["status"] != "FAILED" or desc.get("error") != "RolledBack" or not final.endswith(f"-> v{versions[1]}"):
        sys.exit(f"demo: expected a rollback to v{versions[1]}, got {desc['status']} and {final}")
    pushed = ended - firing.fired_at
    print(f"pushed: the execution had rolled back {pushed:.1f} s after the alarm fired, "
          f"with {60 - 2 - pushed:.0f} s of the bake still to go", flush=True)
    if pushed > 10:
        sys.exit(f"demo: the alarm should end the bake at once, it took {pushed:.1f} s")

    banner("execution 3: canary 20% baking 60 s; an operator promotes it now -> expect promotion at once")
    cw.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="demo: fixed")
    promoting = promote_once_weighted(lam, alias, delay=1)
    desc = follow(sfn, lam, stack, alias, {
        "functionName": FUNCTION, "alias": alias, "targetVersion": versions[2],
        "strategy": {"type": "canary", "percent": 20, "bakeSeconds": 60},
        "alarms": [alarm], "notificationTopicArn": queue.topic_arn,
    }, f"demo-promote-now-{run}")
    ended = time.monotonic()
    promoting.join(timeout=30)
    final = alias_line(lam, alias)
    print(f"execution {desc['status']}; now {final}", flush=True)
    if promoting.code != 0 or desc["status"] != "SUCCEEDED" or not final.endswith(f"-> v{versions[2]}"):
        sys.exit(f"demo: expected promote to exit 0 and v{versions[2]} to be promoted, got exit {promoting.code}, "
                 f"{desc['status']} and {final}")
    print(f"promoted {ended - promoting.promoted_at:.1f} s after `shifter promote`, skipping the rest of the "
          f"60 s bake", flush=True)

    banner("SNS notifications the state machine's functions published")
    print_notifications(queue)
    print("\nstate machine demo finished: one promotion, one pushed rollback on an alarm, one promote-now.",
          flush=True)


if __name__ == "__main__":
    main()
