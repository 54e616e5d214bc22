#!/usr/bin/env python3
"""Benchmark: state transitions (Step Functions' billing unit) per rollout, measured on the local stack.

Runs Linear10PercentEvery1Minute and Canary10Percent5Minutes concurrently through the real state machine
(statemachine/rollout.asl.json deployed on moto by tests/harness/stack_local.py, Tasks served by the real
binaries), and beside them two Canary10Percent5Minutes rollouts with canary analysis on a function that gets
no traffic (so every analysis is inconclusive and the bake is extended): one with `maxExtensionSeconds: 120`,
one with `intervalSeconds: 60, maxExtensionSeconds: 60`. The Wait states really sleep: this takes about 9-10
minutes. It is not part of `make test`.

Counts transitions from each execution's real history (one per state entered), checks the documented
formula 3N + 7 (N = steps in the plan, the final 100% one included) for the rollouts without analysis, and
3N + 7 + 3E for those with it (E = Bake states entered beyond the N - 1 of the plan: extensions and extra
chunks), and prints a Markdown table with the Standard-workflow price at $0.025 per 1,000 transitions.

    .venv/bin/python tests/bench/transitions.py [--write docs/transitions.md]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
import aws_local  # noqa: E402
import stack_local  # noqa: E402

PRICE_PER_TRANSITION = 0.025 / 1000
# (label, strategy, analysis settings or None)
RUNS = [
    ("Linear10PercentEvery1Minute", "Linear10PercentEvery1Minute", None),
    ("Canary10Percent5Minutes", "Canary10Percent5Minutes", None),
    ("Canary10Percent5Minutes + analysis, no traffic (maxExtensionSeconds 120)", "Canary10Percent5Minutes",
     {"maxExtensionSeconds": 120}),
    ("Canary10Percent5Minutes + analysis, no traffic (intervalSeconds 60, maxExtensionSeconds 60)",
     "Canary10Percent5Minutes", {"intervalSeconds": 60, "maxExtensionSeconds": 60}),
]
# The extra bakes each run must take, predicted from its settings rather than read from its history: two
# extensions of 60 s; four more 60 s chunks of the 300 s bake and one extension of 60 s.
PREDICTED_EXTRA_BAKES = {RUNS[0][0]: 0, RUNS[1][0]: 0, RUNS[2][0]: 2, RUNS[3][0]: 5}


def bakes(events: list[dict]) -> int:
    return sum(1 for e in events if e["type"].endswith("StateEntered")
               and (e.get("stateEnteredEventDetails") or {}).get("name") == "Bake")


def run_one(sfn, lam, role, stack, label: str, strategy: str, analysis, results: dict):
    fn = aws_local.create_function(lam, role, f"bench-{uuid.uuid4().hex[:8]}", versions=2)
    old, new = fn.versions[-2:]
    alias = "live"
    lam.create_alias(FunctionName=fn.name, Name=alias, FunctionVersion=old)
    request = {"functionName": fn.name, "alias": alias, "targetVersion": new, "strategy": strategy}
    if analysis is not None:
        request["analysis"] = analysis
    name = f"bench-{strategy.lower()}-{uuid.uuid4().hex[:6]}"
    started = time.monotonic()
    arn = sfn.start_execution(stateMachineArn=stack.state_machine_arn, name=name,
                              input=json.dumps(request))["executionArn"]
    desc = stack_local.wait(sfn, arn, timeout=30 * 60)
    elapsed = time.monotonic() - started
    events = stack_local.history(sfn, arn)
    steps = None
    for e in events:  # the plan, from Prepare's output
        out = (e.get("taskStateExitedEventDetails") or e.get("stateExitedEventDetails") or {}).get("output")
        if out:
            try:
                steps = len(json.loads(out)["rollout"]["plan"]["steps"])
                break
            except (ValueError, KeyError, TypeError):
                pass
    final = lam.get_alias(FunctionName=fn.name, Name=alias)
    results[label] = {"status": desc["status"], "steps": steps, "transitions": stack_local.transitions(events),
                      "bakes": bakes(events), "analysis": analysis is not None,
                      "events": len(events), "seconds": elapsed, "final_version": final["FunctionVersion"],
                      "target": new}
    print(f"{label}: {desc['status']} in {elapsed:.0f} s, {results[label]['transitions']} transitions",
          file=sys.stderr, flush=True)


def expected(r: dict) -> int | None:
    """3N + 7, plus 3 per Bake beyond the plan's N - 1 (an extension or an extra chunk) with analysis."""
    n = r["steps"]
    if not n:
        return None
    extra = r["bakes"] - (n - 1) if r["analysis"] else 0
    return 3 * n + 7 + 3 * extra


def table(results: dict) -> str:
    lines = ["| Rollout | Steps (N) | Extra bakes (E) | Status | Transitions (measured) | 3N + 7 + 3E | Check | "
             "History events | Wall time | Price per rollout (Standard, $0.025 / 1,000) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for label, _, _ in RUNS:
        r = results.get(label)
        if r is None:
            lines.append(f"| {label} | ? | | not run | | | | | | |")
            continue
        n, t = r["steps"], r["transitions"]
        formula = expected(r)
        extra = r["bakes"] - (n - 1) if n and r["analysis"] else 0
        ok = "ok" if formula == t else "MISMATCH"
        lines.append(f"| {label} | {n} | {extra} | {r['status']} | {t} | {formula} | {ok} | {r['events']} | "
                     f"{r['seconds']:.0f} s | ${t * PRICE_PER_TRANSITION:.5f} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", metavar="PATH", help="also write the Markdown report to PATH")
    args = parser.parse_args()

    if not aws_local.HarnessApi(aws_local.ENDPOINT).health():
        sys.exit(f"offline AWS stack not reachable at {aws_local.ENDPOINT}: run `make local-up` first")
    sfn, lam = aws_local.client("stepfunctions"), aws_local.client("lambda")
    role = aws_local.ensure_lambda_role(aws_local.client("iam"))
    stack = stack_local.deploy(f"shifter-bench-{uuid.uuid4().hex[:6]}")
    results: dict = {}
    threads = [threading.Thread(target=run_one, args=(sfn, lam, role, stack, label, strategy, analysis, results))
               for label, strategy, analysis in RUNS]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    body = table(results)
    report = "\n".join([
        "# State transitions per rollout (measured)",
        "",
        "Generated by `tests/bench/transitions.py` on the local stack (moto's Step Functions engine running",
        "`statemachine/rollout.asl.json`, Tasks served by the real function binaries, real Waits). Transitions",
        "are counted from each execution's history (one per state entered, as Step Functions bills them).",
        "All executions ran concurrently and promoted, with no hooks, no alarms and no retries. The last two",
        "have canary analysis (`analysis` in the request) on a function that got no traffic: every analysis is",
        "inconclusive, so the bake is extended (60 s at a time, or `intervalSeconds`) up to `maxExtensionSeconds`,",
        "then the rollout goes on (`whenInconclusive: extend`, the default). Without `intervalSeconds` the bake is",
        "one Wait and one analysis at its end, as before, so the first two rows do not change with issue 9.",
        "",
        body,
        "",
        "N counts the plan's steps including the final 100% one. The formula (docs/state-machine.md): each",
        "non-final step costs Advance + AdvanceChoice + Bake, the final one Advance + AdvanceChoice + Finalize,",
        "plus 7 fixed states. With canary analysis, each extension of the bake, and with `intervalSeconds` each",
        "chunk after the first, is one more turn of Bake, Advance and AdvanceChoice: E counts them (Bake states",
        "entered beyond the plan's N - 1). 4,000 transitions a month are free; each retry adds one transition.",
        "",
    ])
    print(report)
    if args.write:
        with open(args.write, "w") as f:
            f.write(report)
    failed = [s for s, r in results.items() if r["status"] != "SUCCEEDED" or r["final_version"] != r["target"]
              or r["transitions"] != expected(r)]
    if failed or len(results) != len(RUNS):
        sys.exit(f"unexpected results for {failed or 'missing runs'}")
    mispredicted = [label for label, r in results.items()
                    if r["steps"] and r["bakes"] - (r["steps"] - 1) != PREDICTED_EXTRA_BAKES[label]]
    if mispredicted:
        sys.exit(f"extra bakes other than predicted (PREDICTED_EXTRA_BAKES) for {mispredicted}")


if __name__ == "__main__":
    main()
