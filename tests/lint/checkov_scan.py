#!/usr/bin/env python3
"""Scan a translated (plain CloudFormation) template with checkov; fail on any failed check not allowed.

    .venv-sec/bin/python tests/lint/checkov_scan.py TEMPLATE.json ALLOW.yaml

Runs `checkov -f TEMPLATE.json --framework cloudformation` (every check of checkov's own, offline: no API key,
--skip-download, no guidelines fetched) and reads its JSON report. A failed check passes only when ALLOW.yaml
lists it with `check` (the id), `resources` (the logical ids it is allowed on: a new resource with the same
finding still fails) and `why` (required). An entry naming a resource that the check did not fail on is an
error too, so the list cannot go stale. Why not `--skip-check`: it skips a check for every resource.
"""

import json
import os
import subprocess
import sys

import yaml


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    template, allow_file = sys.argv[1], sys.argv[2]
    with open(allow_file, encoding="utf-8") as f:
        allow = yaml.safe_load(f) or []
    allowed = {}
    for entry in allow:
        if not entry.get("check") or not entry.get("resources") or not str(entry.get("why", "")).strip():
            sys.exit(f"checkov_scan: {allow_file}: every entry needs check, resources and why: {entry}")
        for resource in entry["resources"]:
            allowed[(entry["check"], resource)] = False
    checkov = os.path.join(os.path.dirname(sys.executable), "checkov")
    env = dict(os.environ, BC_SKIP_MAPPING="TRUE", CHECKOV_NO_GUIDE="TRUE", LOG_LEVEL="WARNING")
    run = subprocess.run(
        [checkov, "-f", template, "--framework", "cloudformation", "--output", "json", "--quiet",
         "--skip-download", "--soft-fail"],
        capture_output=True, text=True, env=env, check=False)
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        sys.exit(f"checkov_scan: checkov gave no JSON report (exit {run.returncode}):\n{run.stdout}\n{run.stderr}")
    summary = report["summary"]
    if summary.get("parsing_errors"):
        sys.exit(f"checkov_scan: checkov could not parse {template}: {summary}")
    problems = []
    for failed in report["results"]["failed_checks"]:
        logical = failed["resource"].split(".", 1)[1]
        key = (failed["check_id"], logical)
        if key in allowed:
            allowed[key] = True
            continue
        problems.append(f"{failed['check_id']} {failed['check_name']}: {failed['resource']}")
    for (check, resource), used in allowed.items():
        if not used:
            problems.append(f"{allow_file}: {check} on {resource} is allowed but did not fail (remove it)")
    for p in problems:
        print("checkov:", p)
    used = sum(allowed.values())
    print(f"checkov_scan: checkov {summary['checkov_version']}: {summary['passed']} passed, {summary['failed']} failed "
          f"({used} allowed by {allow_file}), {summary['resource_count']} resources; {len(problems)} problems")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
