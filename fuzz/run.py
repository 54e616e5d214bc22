#!/usr/bin/env python3
"""Runs every cargo fuzz target for a fixed number of executions and writes the counts to docs/reliability.md.

`make fuzz` calls it after building the targets (`cargo +nightly fuzz build -O`) and seeding the corpora
(fuzz/seed.sh). Each target runs `-runs=N` executions of libFuzzer with the JSON dictionary (fuzz/json.dict),
up to --jobs targets at a time. A crash (a panic: a failed assertion or a bug) stops that target and leaves the
input in fuzz/artifacts/<target>/. Logs: fuzz/logs/<target>.log. Exit status 1 when any target crashed.

Only the standard library: it needs no venv.
"""

import argparse
import concurrent.futures
import datetime
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# What each asserts: the targets' own doc comments, and the table in docs/reliability.md.
TARGETS = ["rollout_request", "state", "hook_reply", "alarm_event", "rollout_requested", "custom_resource",
           "plan", "analysis_settings"]

BEGIN = "<!-- fuzz table: written by `make fuzz` (fuzz/run.py); edit the script, not the table -->"
END = "<!-- end fuzz table -->"


def run_target(name, runs, extra):
    corpus = os.path.join(HERE, "corpus", name)
    artifacts = os.path.join(HERE, "artifacts", name)
    os.makedirs(corpus, exist_ok=True)
    os.makedirs(artifacts, exist_ok=True)
    os.makedirs(os.path.join(HERE, "logs"), exist_ok=True)
    before = set(os.listdir(artifacts))
    cmd = ["cargo", "+nightly", "fuzz", "run", "-O", name, corpus, "--",
           f"-runs={runs}", "-dict=json.dict", "-print_final_stats=1", "-timeout=10",
           f"-artifact_prefix={artifacts}/"] + extra
    start = time.monotonic()
    with open(os.path.join(HERE, "logs", f"{name}.log"), "w") as log:
        status = subprocess.run(cmd, cwd=HERE, stdout=log, stderr=subprocess.STDOUT).returncode
    seconds = time.monotonic() - start
    with open(os.path.join(HERE, "logs", f"{name}.log")) as log:
        text = log.read()
    executed = re.findall(r"stat::number_of_executed_units:\s*(\d+)", text)
    crashes = sorted(set(os.listdir(artifacts)) - before)
    return {
        "name": name,
        "executions": int(executed[-1]) if executed else 0,
        "seconds": seconds,
        "crashes": len(crashes) if crashes else (0 if status == 0 else 1),
        "artifacts": crashes,
        "status": status,
    }


def version(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, cwd=HERE).stdout.strip()
    except OSError:
        return "unknown"


def table(results, runs):
    commit = version(["git", "rev-parse", "--short", "HEAD"])
    lines = [
        BEGIN,
        "",
        f"Run of {datetime.date.today().isoformat()} at commit {commit}, `-runs={runs}` per target, seeded from "
        f"`events/` ({version(['rustc', '+nightly', '--version'])}, {version(['cargo', 'fuzz', '--version'])}, "
        f"{os.cpu_count()} CPUs).",
        "",
        "| Target | Executions | Time (s) | Exec/s | Crashes |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in results:
        rate = r["executions"] / r["seconds"] if r["seconds"] else 0
        lines.append(f"| `{r['name']}` | {r['executions']:,} | {r['seconds']:.0f} | {rate:,.0f} | {r['crashes']} |")
    total = sum(r["executions"] for r in results)
    crashes = sum(r["crashes"] for r in results)
    lines += ["", f"In all: {total:,} executions, {crashes} crashes.", "", END]
    return "\n".join(lines)


def write(path, block):
    text = open(path).read() if os.path.exists(path) else "# Reliability\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        text = head + block + tail
    else:
        raise SystemExit(f"{path}: no fuzz table markers under ## Fuzzing")
    with open(path, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=1_000_000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--targets", nargs="*", default=TARGETS)
    ap.add_argument("--write", help="the markdown file whose fuzz table to replace")
    ap.add_argument("extra", nargs="*", help="more libFuzzer flags, after --")
    args = ap.parse_args()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(lambda t: run_target(t, args.runs, args.extra), args.targets))
    for r in results:
        print(f"{r['name']:20} {r['executions']:>10,} executions {r['seconds']:7.0f} s  crashes {r['crashes']}"
              + (f"  {r['artifacts']}" if r["artifacts"] else ""))
    block = table(results, args.runs)
    if args.write:
        write(os.path.join(ROOT, args.write), block)
        print(f"wrote {args.write}")
    else:
        print(block)
    return 1 if any(r["crashes"] or r["status"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
