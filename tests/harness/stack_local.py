"""Deploys shifter's stack on the local emulator the way SAM would: every function of template.yaml (the harness proxy
routes their invokes to the real binaries under cargo lambda watch), the real ASL file with every
DefinitionSubstitutions entry pointing at one of them, and template.yaml's EventBridge rules that target a function
(AlarmStateChangeRule, ExecutionEndedRule), registered with the harness proxy, which creates them in moto with an
SQS target and delivers what they match to the function (tests/harness/event_delivery.py). Used by the e2e tests,
the demo and the benchmarks."""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from dataclasses import dataclass, field

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


def function_binaries() -> dict[str, str]:
    """logical id -> binary name, for every AWS::Serverless::Function of template.yaml."""
    return {logical: r["Metadata"]["BuildProperties"]["Binary"] for logical, r in template()["Resources"].items()
            if r["Type"] == "AWS::Serverless::Function"}


def resolve(value, refs: dict[str, str]):
    """A template value with `!Ref X` replaced by refs[X]; any other intrinsic function is an error."""
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)) in ("Ref", "GetAtt", "Sub", "If", "Join", "ImportValue"):
            tag, arg = next(iter(value.items()))
            if tag == "Ref" and arg in refs:
                return refs[arg]
            raise ValueError(f"cannot resolve {{{tag}: {arg}}} locally")
        return {k: resolve(v, refs) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, refs) for v in value]
    return value


def function_rules(state_machine_arn: str, state_machine_name: str) -> list[dict]:
    """template.yaml's EventBridge rules whose target is one of its functions, as POST /_harness/event-rules specs:
    the EventPattern with `!Ref <the state machine>` replaced by this machine's ARN. A rule naming the machine is
    this machine's own (named after it); the others are shared by every local stack (they share the functions and
    the registry table), so they keep the template's logical id and are registered once."""
    resources = template()["Resources"]
    machine = next(k for k, r in resources.items() if r["Type"] == "AWS::Serverless::StateMachine")
    binaries = function_binaries()
    specs = []
    for logical, r in resources.items():
        if r["Type"] != "AWS::Events::Rule":
            continue
        for target in r["Properties"].get("Targets", []):
            ref = target.get("Arn")
            function = isinstance(ref, dict) and binaries.get(str(ref.get("GetAtt", "")).split(".")[0])
            if not function:
                continue  # e.g. RolloutRequestedRule targets the state machine (tests/e2e/test_eventbridge.py)
            pattern = resolve(r["Properties"]["EventPattern"], {machine: state_machine_arn})
            own = pattern != resolve(r["Properties"]["EventPattern"], {machine: machine})
            specs.append({"name": f"{state_machine_name}-{logical}" if own else f"shifter-{logical}",
                          "eventPattern": pattern, "function": function,
                          "retryPolicy": target.get("RetryPolicy")})
    return specs


@dataclass
class LocalStack:
    state_machine_arn: str
    function_arns: dict[str, str]
    rules: list[dict] = field(default_factory=list)


def deploy(name: str | None = None, default_topic_arn: str | None = None) -> LocalStack:
    """Creates every function of the template (their invokes go to the real binaries), the state machine, and the
    rules that deliver alarm state changes and execution status changes to the functions."""
    lam, sfn = aws_local.client("lambda"), aws_local.client("stepfunctions")
    role = aws_local.ensure_lambda_role(aws_local.client("iam"))
    arns = {}
    for binary in sorted(set(function_binaries().values())):
        arns[binary] = aws_local.create_function(lam, role, binary, versions=0).arn
    name = name or f"shifter-rollout-{uuid.uuid4().hex[:6]}"
    arn = sfn.create_state_machine(name=name, definition=definition(arns), roleArn=role,
                                   type="STANDARD")["stateMachineArn"]
    harness = aws_local.HarnessApi(aws_local.ENDPOINT)
    rules = [harness.register_rule(spec) for spec in function_rules(arn, name)]
    return LocalStack(arn, arns, rules)


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
