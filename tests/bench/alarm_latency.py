#!/usr/bin/env python3
"""Benchmark: alarm state change -> alias restored, on the local stack (`make local-up`).

Each run: a fresh function with two versions and an alias on the first, an alarm on it, a canary (20%, long
bake) to the second version; once the bake is under way the alarm is set to ALARM (SetAlarmState) and the clock
runs until GetAlias reads the alias back on the old version alone (polled every 10 ms).

  state machine  the real ASL on moto (tests/harness/stack_local.py). The path measured: the harness proxy emits
                 the "CloudWatch Alarm State Change" event, AlarmStateChangeRule (SQS target, long-polled)
                 delivers it to shifter-alarm-watcher, which fails the Bake's task token; moto's Catch runs
                 Rollback. The alarm is set once the Bake's token is on the lease (the rollout listens).
  local          `shifter deploy --local --check-interval N` as a subprocess: its own alarm reads every N s
                 (integer seconds, 1 at least: the CLI takes no less). The alarm is set once the alias is weighted.

Prints a Markdown table (median, p90, max). Also reported: the restore write's time in the proxy's alias history
(`write`), which excludes the 10 ms polling. Absolute numbers are this machine's and the emulator's (moto, cargo
lambda watch, a Python proxy), not AWS's: on AWS, add EventBridge's delivery and Lambda cold starts.

    make local-up   # SHIFTER_PORT=... etc. as usual; then, with SHIFTER_ENDPOINT pointing at it:
    .venv/bin/python tests/bench/alarm_latency.py [--runs 20] [--mode both|sm|local] [--check-interval 1]
                                                  [--fire-after 2] [--jitter 1] [--bake 60] [--write PATH]

Needs the workspace's binaries built (`cargo build --workspace --bins`; SHIFTER_BIN names the CLI if
CARGO_TARGET_DIR is elsewhere). Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
import aws_local  # noqa: E402
import stack_local  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SHIFTER = os.environ.get("SHIFTER_BIN", os.path.join(ROOT, "target", "debug", "shifter"))
TABLE = aws_local.REGISTRY_TABLE


def log(msg: str):
    print(f"[alarm-latency] {msg}", file=sys.stderr, flush=True)


class Bench:
    def __init__(self, args):
        self.args = args
        self.lam, self.sfn = aws_local.client("lambda"), aws_local.client("stepfunctions")
        self.cw, self.ddb = aws_local.client("cloudwatch"), aws_local.client("dynamodb")
        self.harness = aws_local.HarnessApi(aws_local.ENDPOINT)
        self.role = aws_local.ensure_lambda_role(aws_local.client("iam"))
        self.stack = None

    def target(self):
        fn = aws_local.create_function(self.lam, self.role, f"bench-{uuid.uuid4().hex[:8]}", versions=2)
        old, new = fn.versions
        self.lam.create_alias(FunctionName=fn.name, Name="live", FunctionVersion=old)
        alarm = aws_local.create_alarm(self.cw, function=fn.name, alias="live")
        return fn.name, old, new, alarm

    def routing(self, function: str):
        return aws_local.alias_state(self.lam, function, "live")

    def poll(self, predicate, timeout: float, poll: float = 0.01) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(poll)
        return False

    def fire_and_time(self, function: str, old: str, alarm: str) -> dict:
        # A random phase: local mode checks every N s from the shift, so a fixed delay would always land at the
        # same point between two checks.
        time.sleep(self.args.fire_after + random.uniform(0, self.args.jitter))
        wall0, t0 = time.time(), time.monotonic()
        self.cw.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="bench: canary errors")
        if not self.poll(lambda: self.routing(function) == (old, {}), self.args.timeout):
            return {"error": f"alias not restored in {self.args.timeout} s"}
        restored = time.monotonic() - t0
        writes = [h for h in self.harness.alias_history(function, "live")
                  if h["functionVersion"] == old and not h["additionalVersionWeights"] and h["at"] >= wall0]
        return {"restored": restored, "write": (writes[0]["at"] - wall0) if writes else None}

    def run_state_machine(self) -> dict:
        if self.stack is None:
            self.stack = stack_local.deploy()
        function, old, new, alarm = self.target()
        request = {"functionName": function, "alias": "live", "targetVersion": new, "alarms": [alarm],
                   "strategy": {"type": "canary", "percent": 20, "bakeSeconds": self.args.bake}}
        arn = self.sfn.start_execution(stateMachineArn=self.stack.state_machine_arn,
                                       name=f"bench-{uuid.uuid4().hex[:8]}", input=json.dumps(request))["executionArn"]
        key = {"pk": {"S": f"ALIAS#{function}:live"}, "sk": {"S": "LEASE"}}
        listening = lambda: "waiting" in (self.ddb.get_item(  # noqa: E731
            TableName=TABLE, Key=key, ConsistentRead=True).get("Item") or {})
        if not self.poll(listening, 60, 0.05):
            self.sfn.stop_execution(executionArn=arn, cause="bench: never listened")
            return {"error": "the Bake never registered its token"}
        out = self.fire_and_time(function, old, alarm)
        desc = stack_local.wait(self.sfn, arn, timeout=30)
        if desc["status"] != "FAILED" or desc.get("error") != "RolledBack":
            out.setdefault("error", f"execution ended {desc['status']} {desc.get('error')}")
        return out

    def run_local(self) -> dict:
        function, old, new, alarm = self.target()
        strategy = json.dumps({"type": "canary", "percent": 20, "bakeSeconds": self.args.bake})
        proc = subprocess.Popen([SHIFTER, "deploy", "--local", "--function", function, "--alias", "live",
                                 "--version", new, "--strategy", strategy, "--alarm", alarm, "--check-interval",
                                 str(self.args.check_interval), "--output", "json"],
                                env=dict(os.environ, **aws_local.client_env()), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            if not self.poll(lambda: bool(self.routing(function)[1]) or proc.poll() is not None, 60, 0.02):
                return {"error": "the alias never became weighted"}
            if proc.poll() is not None:
                return {"error": f"shifter exited {proc.returncode} early: {proc.stderr.read()[-500:]}"}
            out = self.fire_and_time(function, old, alarm)
            proc.wait(timeout=60)
            if proc.returncode != 1:
                out.setdefault("error", f"shifter exited {proc.returncode} (expected 1, rolled back)")
            return out
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def row(label: str, results: list[dict]) -> str:
    ok = [r for r in results if "error" not in r]
    if not ok:
        return f"| {label} | {len(results)} | {len(results)} | - | - | - | - | - |"
    restored = [r["restored"] for r in ok]
    writes = [r["write"] for r in ok if r.get("write") is not None]
    ms = lambda s: f"{s * 1000:.0f} ms"  # noqa: E731
    return (f"| {label} | {len(results)} | {len(results) - len(ok)} | {ms(statistics.median(restored))} | "
            f"{ms(percentile(restored, 90))} | {ms(max(restored))} | {ms(min(restored))} | "
            f"{ms(statistics.median(writes)) if writes else '-'} |")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--mode", choices=["both", "sm", "local"], default="both")
    p.add_argument("--check-interval", type=int, default=1, help="local mode: shifter deploy --check-interval (s)")
    p.add_argument("--fire-after", type=float, default=2.0, help="seconds into the bake before the alarm fires")
    p.add_argument("--jitter", type=float, default=1.0, help="plus a random 0..JITTER s (default 1)")
    p.add_argument("--bake", type=int, default=60, help="bake seconds (the alarm must come before its end)")
    p.add_argument("--timeout", type=float, default=30.0, help="give up on a run after this many seconds")
    p.add_argument("--write", help="also write the table (Markdown) to this file")
    args = p.parse_args()
    bench = Bench(args)
    if not bench.harness.health():
        sys.exit(f"local stack not reachable at {aws_local.ENDPOINT}: `make local-up` first")
    modes = [("state machine", bench.run_state_machine), (f"local, --check-interval {args.check_interval}",
                                                          bench.run_local)]
    modes = [m for m in modes if args.mode == "both" or (args.mode == "sm") == (m[0] == "state machine")]
    lines = ["| mode | runs | failed | median | p90 | max | min | median (restore write, proxy clock) |",
             "|---|---|---|---|---|---|---|---|"]
    for label, run in modes:
        results = []
        for i in range(args.runs):
            r = run()
            results.append(r)
            log(f"{label} run {i + 1}/{args.runs}: " + (r.get("error") or f"{r['restored'] * 1000:.0f} ms"))
        lines.append(row(label, results))
    table = "\n".join(lines)
    print(f"Alarm state change -> alias restored (SetAlarmState until GetAlias shows the old version alone), "
          f"{args.runs} runs per mode, alarm {args.fire_after:g}-{args.fire_after + args.jitter:g} s into a "
          f"{args.bake} s bake.\n\n{table}")
    if args.write:
        with open(args.write, "w") as f:
            f.write(report(args, table))


def report(args, table: str) -> str:
    """The Markdown document `make bench-latency` writes (docs/alarm-latency.md; bench.py copies it into
    docs/benchmarks.md)."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return f"""# Alarm state change -> alias restored (measured)

Generated by `tests/bench/alarm_latency.py` (`make bench-latency`) on the local stack, {when}, commit `{commit}`;
do not edit by hand, re-run it. {args.runs} runs per mode: a canary at 20% baking {args.bake} s, the alarm set to
ALARM {args.fire_after:g}-{args.fire_after + args.jitter:g} s into the bake (SetAlarmState), the clock stopped when
GetAlias reads the old version alone (polled every 10 ms).

{table}

- **state machine**: push. The harness emits the "CloudWatch Alarm State Change" event as AWS would, the stack's
  rule delivers it to `shifter-alarm-watcher`, which fails the bake's task token (`AlarmFired`); the execution's
  Rollback restores the alias. On AWS add EventBridge's own delivery time (not measured here) and a possible
  cold start of the watcher (this machine's start-up to handler-ready: docs/benchmarks.md, section 2).
- **local**: poll. `shifter deploy --local` reads the alarms every `--check-interval` ({args.check_interval} s
  here): the wait is up to one interval, then one read and one write.
- **CodeDeploy** polls a deployment's alarms about once a minute: up to ~60 s, as often quoted (the interval is
  not documented). Before this design, shifter's state machine read alarms only when a bake ended: up to the
  whole bake (measured 117.5 s for a 120 s bake).
- The absolute figures are this machine's and the emulator's (moto, cargo lambda watch, a Python proxy).
"""


if __name__ == "__main__":
    main()
