"""The bad-input catalogue (events/requests/invalid/README.md) end to end: the real `shifter deploy --local
--request FILE` against the offline AWS stack, for every file but those under state-machine/, which go through the
state machine (`shifter deploy --state-machine-arn ARN --request FILE`, with the harness's HookFunctionArnPattern).
Each is refused: exit 2, the field named, the fix its row gives and a hint on stderr; the alias still on its
version with no routing, the function's versions unchanged, and no alias write or publish reaching the proxy.

The cases under aws/ and state-machine/ name placeholders, replaced in a temporary copy: FUNCTION_NAME (versions 1
and 2, ALIAS_NAME on 1), OTHER_FUNCTION (versions 1 to 3) and OTHER_REGION_ALARM (an alarm in eu-west-1 only,
created in moto directly: set MOTO_INTERNAL_PORT to its port if it is not 5556). The other cases run with the same
names in the environment, so one that got past validation would meet a real alias."""

from __future__ import annotations

import os
import subprocess
import time
import uuid

import boto3
import pytest

from aws_local import client_env, create_function

SHIFTER = os.environ.get("SHIFTER_BIN", os.path.join(os.path.dirname(__file__), "..", "..", "target", "debug", "shifter"))
CATALOGUE = os.path.join(os.path.dirname(__file__), "..", "..", "events", "requests", "invalid")
WRITES = ("UpdateAlias", "CreateAlias", "DeleteAlias", "PublishVersion", "UpdateFunctionConfiguration",
          "UpdateFunctionCode")


def cases() -> list[tuple[str, str, str]]:
    """(file, field, fix phrase) from the README's table."""
    rows = []
    with open(os.path.join(CATALOGUE, "README.md"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("| `"):
                cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
                rows.append((cells[0].strip("`"), cells[2].strip("`"), cells[3]))
    return rows


@pytest.fixture(scope="module")
def world(harness, lambda_client, lambda_role):
    suffix = uuid.uuid4().hex[:8]
    fn = create_function(lambda_client, lambda_role, f"badinput-{suffix}", versions=2)
    other = create_function(lambda_client, lambda_role, f"badinput-other-{suffix}", versions=3)
    alias = f"live-{suffix}"
    lambda_client.create_alias(FunctionName=fn.name, Name=alias, FunctionVersion=fn.versions[0])
    alarm = f"badinput-eu-{suffix}"
    # The proxy creates alarms in the harness's region only: this one goes to moto itself.
    moto = os.environ.get("MOTO_INTERNAL_PORT", "5556")
    eu = boto3.client("cloudwatch", endpoint_url=f"http://127.0.0.1:{moto}", region_name="eu-west-1")
    eu.put_metric_alarm(AlarmName=alarm, Namespace="AWS/Lambda", MetricName="Errors", Statistic="Sum", Period=60,
                        EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanOrEqualToThreshold")
    assert fn.versions == ["1", "2"] and other.versions == ["1", "2", "3"], (fn, other)
    return {"FUNCTION_NAME": fn.name, "OTHER_FUNCTION": other.name, "ALIAS_NAME": alias,
            "OTHER_REGION_ALARM": alarm}


def through_the_state_machine(case: str) -> bool:
    return case.startswith("state-machine/")


LOCAL_CASES = [c for c in cases() if not through_the_state_machine(c[0])]
STATE_MACHINE_CASES = [c for c in cases() if through_the_state_machine(c[0])]


def request_file(case: str, world: dict, tmp_path) -> str:
    path = os.path.join(CATALOGUE, case)
    if "/" not in case:
        return path
    with open(path, "rb") as f:
        data = f.read()
    for placeholder, value in world.items():
        data = data.replace(placeholder.encode(), value.encode())
    copy = tmp_path / os.path.basename(case)
    copy.write_bytes(data)
    return str(copy)


def aliases_and_versions(lambda_client, world: dict) -> tuple:
    fn = world["FUNCTION_NAME"]
    alias = lambda_client.get_alias(FunctionName=fn, Name=world["ALIAS_NAME"])
    versions = [v["Version"] for v in lambda_client.list_versions_by_function(FunctionName=fn)["Versions"]]
    return alias["FunctionVersion"], alias.get("RoutingConfig", {}).get("AdditionalVersionWeights", {}), versions


def refused_untouched(mode: list[str], case, field, fix, world, harness, lambda_client, tmp_path):
    before = aliases_and_versions(lambda_client, world)
    assert before == ("1", {}, ["$LATEST", "1", "2"])
    history = harness.alias_history(function=world["FUNCTION_NAME"])
    started = time.time()
    env = dict(os.environ, **client_env())
    env.pop("SHIFTER_TABLE", None)
    env.pop("SHIFTER_STATE_MACHINE_ARN", None)
    r = subprocess.run([SHIFTER, "deploy", *mode, "--request", request_file(case, world, tmp_path)], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.splitlines()
    assert any(line.startswith(f"error: {field}: ") for line in lines), r.stderr
    assert fix in r.stderr, r.stderr
    assert any(line.startswith("hint: nothing was changed") for line in lines), r.stderr
    assert aliases_and_versions(lambda_client, world) == before
    assert harness.alias_history(function=world["FUNCTION_NAME"]) == history
    writes = [c for c in harness.calls(since=started) if c.get("operation") in WRITES]
    assert writes == [], writes


@pytest.mark.parametrize("case,field,fix", LOCAL_CASES, ids=[c[0] for c in LOCAL_CASES])
def test_refused_untouched(case, field, fix, world, harness, lambda_client, tmp_path):
    refused_untouched(["--local", "--check-interval", "1"], case, field, fix, world, harness, lambda_client,
                      tmp_path)


@pytest.mark.parametrize("case,field,fix", STATE_MACHINE_CASES, ids=[c[0] for c in STATE_MACHINE_CASES])
def test_refused_untouched_by_the_state_machine(case, field, fix, state_machine, world, harness, lambda_client,
                                                 tmp_path):
    refused_untouched(["--state-machine-arn", state_machine.state_machine_arn], case, field, fix, world, harness,
                      lambda_client, tmp_path)
