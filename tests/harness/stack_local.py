"""Deploys shifter's state machine on the local emulator the way SAM would: the real ASL file, with every
DefinitionSubstitutions entry of template.yaml pointing at a function that the harness proxy routes to the real
binary under cargo lambda watch. Used by the e2e tests and the demo."""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from dataclasses import dataclass

import yaml

import aws_local

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short tags (!GetAtt, !Ref, !Sub, ...) as {"Tag": value} instead of failing."""


def _tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node)
    else:
        value = loader.construct_mapping(node)
    return {suffix: value}


_CfnLoader.add_multi_constructor("!", _tag)


def template() -> dict:
    with open(os.path.join(ROOT, "template.yaml")) as f:
        return yaml.load(f, Loader=_CfnLoader)


def substitutions() -> dict[str, str]:
    """placeholder -> binary name, from DefinitionSubstitutions (`!GetAtt XFunction.Arn`) and each function's
    `Metadata.BuildProperties.Binary`."""
    resources = template()["Resources"]
    machine = next(r for r in resources.values() if r["Type"] == "AWS::Serverless::StateMachine")
    out = {}
    for placeholder, ref in machine["Properties"]["DefinitionSubstitutions"].items():
        logical = ref["GetAtt"].split(".")[0] if isinstance(ref["GetAtt"], str) else ref["GetAtt"][0]
        out[placeholder] = resources[logical]["Metadata"]["BuildProperties"]["Binary"]
    return out


def definition(function_arns: dict[str, str]) -> str:
    """The ASL with `${Placeholder}` replaced, as CloudFormation does at deploy time."""
    with open(os.path.join(ROOT, "statemachine", "rollout.asl.json")) as f:
        text = f.read()
    subs = substitutions()
    missing = set(re.findall(r"\$\{(\w+)\}", text)) - set(subs)
    if missing:
        raise ValueError(f"ASL placeholders without a substitution in template.yaml: {sorted(missing)}")
    for placeholder, binary in subs.items():
        text = text.replace("${" + placeholder + "}", function_arns[binary])
    json.loads(text)
    return text


@dataclass
class LocalStack:
    state_machine_arn: str
    function_arns: dict[str, str]


def deploy(name: str | None = None, default_topic_arn: str | None = None) -> LocalStack:
    """Creates the six functions (their invokes go to the real binaries) and the state machine."""
    lam, sfn = aws_local.client("lambda"), aws_local.client("stepfunctions")
    role = aws_local.ensure_lambda_role(aws_local.client("iam"))
    arns = {}
    for binary in sorted(set(substitutions().values())):
        arns[binary] = aws_local.create_function(lam, role, binary, versions=0).arn
    name = name or f"shifter-rollout-{uuid.uuid4().hex[:6]}"
    arn = sfn.create_state_machine(name=name, definition=definition(arns), roleArn=role,
                                   type="STANDARD")["stateMachineArn"]
    return LocalStack(arn, arns)


def wait(sfn, execution_arn: str, timeout: float = 120, poll: float = 0.1) -> dict:
    """describe_execution once the execution has ended, or once `timeout` passed (still RUNNING)."""
    deadline = time.monotonic() + timeout
    while True:
        desc = sfn.describe_execution(executionArn=execution_arn)
        if desc["status"] != "RUNNING" or time.monotonic() > deadline:
            return desc
        time.sleep(poll)


def history(sfn, execution_arn: str) -> list[dict]:
    events, token = [], None
    while True:
        page = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000,
                                         **({"nextToken": token} if token else {}))
        events += page["events"]
        token = page.get("nextToken")
        if not token:
            return events


def transitions(events: list[dict]) -> int:
    """State transitions as Step Functions bills them: one per state entered."""
    return sum(1 for e in events if e["type"].endswith("StateEntered"))
