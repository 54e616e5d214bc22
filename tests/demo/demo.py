#!/usr/bin/env python3
"""make demo: two real rollouts on the local AWS stack (moto behind the harness proxy).

1. A promotion: sample-orders v1 -> v2 on a seconds-scale linear strategy, with the smoke hook before traffic.
2. A rollback: v2 -> v3 on a canary; the demo sets the alarm to ALARM mid-bake and the alias returns to v2.
3. A rollback with no alarm: a version that fails 10% goes out with canary analysis under real traffic
   (demo_analysis.py); the analysis compares it with v2 from per-version metrics and rolls back, with evidence.

It then prints the SNS notifications the rollouts published, read from an SQS queue subscribed to the topic, and
runs the state-machine half (demo_state_machine.py): the same two rollouts through Step Functions, the alarm
rollback pushed by the alarm's event, and an operator's `shifter promote` that ends a 60 s bake at once.
"""
import os
import shlex
import subprocess
import sys
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from common import FUNCTION, alias_line, banner, fire_alarm_once_weighted, print_notifications  # noqa: E402
import aws_local  # noqa: E402  (the harness's boto3 helpers)
import demo_analysis  # noqa: E402  (a rollback on the canary analysis, with no alarm)
import demo_state_machine  # noqa: E402  (the same two rollouts through Step Functions)

BIN = os.environ.get("SHIFTER_BIN", "target/debug/shifter")


def deploy(env, *args):
    cmd = [BIN, "deploy", "--local", *args]
    print("$ " + shlex.join(["shifter", *cmd[1:]]), flush=True)
    return subprocess.run(cmd, env=env).returncode


def main():
    lam, cw = aws_local.client("lambda"), aws_local.client("cloudwatch")
    role = aws_local.ensure_lambda_role(aws_local.client("iam"))
    run = uuid.uuid4().hex[:6]
    alias, alarm = f"live-{run}", f"sample-orders-errors-{run}"

    banner("setting up: function, 3 versions, alias, alarm, smoke hook, SNS topic -> SQS queue")
    versions = aws_local.create_function(lam, role, FUNCTION, versions=3).versions[-3:]
    aws_local.create_function(lam, role, "example-hook-smoke", versions=0)  # served by cargo lambda watch
    lam.create_alias(FunctionName=FUNCTION, Name=alias, FunctionVersion=versions[0])
    aws_local.create_alarm(cw, alarm, function=FUNCTION, alias=alias, state="OK")
    queue = aws_local.create_topic_queue(aws_local.client("sns"), aws_local.client("sqs"), f"shifter-demo-{run}")
    topic_arn = queue.topic_arn
    print(alias_line(lam, alias), flush=True)
    env = dict(os.environ, **aws_local.client_env())

    banner("rollout 1: linear 25% every 3 s, smoke hook before traffic -> expect promotion")
    code = deploy(env, "--function", FUNCTION, "--alias", alias, "--version", versions[1],
                  "--strategy", '{"type":"linear","percent":25,"intervalSeconds":3}',
                  "--pre-traffic-hook", "example-hook-smoke", "--alarm", alarm,
                  "--topic", topic_arn, "--check-interval", "1")
    print(f"exit code {code}; now {alias_line(lam, alias)}", flush=True)
    if code != 0:
        sys.exit(f"demo: the promotion was expected to succeed (exit 0), got {code}")

    banner("rollout 2: canary 20% for 30 s; the alarm fires mid-bake -> expect rollback")

    firing = fire_alarm_once_weighted(lam, cw, alias, alarm, delay=3, prefix="\n")
    code = deploy(env, "--function", FUNCTION, "--alias", alias, "--version", versions[2],
                  "--strategy", '{"type":"canary","percent":20,"bakeSeconds":30}',
                  "--alarm", alarm, "--topic", topic_arn, "--check-interval", "1")
    firing.join(timeout=5)
    final = alias_line(lam, alias)
    print(f"exit code {code}; now {final}", flush=True)
    if code != 1 or not final.endswith(f"-> v{versions[1]}"):
        sys.exit(f"demo: expected a rollback to v{versions[1]} with exit 1, got exit {code} and {final}")

    demo_analysis.run(lam, env, alias, topic_arn, deploy)

    banner("SNS notifications received on the queue")
    print_notifications(queue)
    print("\ndemo finished: one promotion, one rollback on an alarm, one rollback on the canary analysis.")

    demo_state_machine.main()


if __name__ == "__main__":
    main()
