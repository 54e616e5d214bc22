#!/usr/bin/env python3
"""Lint every IAM policy of a translated (plain CloudFormation) template with parliament.

    .venv-sec/bin/python tests/lint/iam_lint.py TEMPLATE.json ALLOW.yaml

Takes the template `tests/lint/sam_translate.py` writes (SAM's policy templates, e.g. LambdaInvokePolicy, already
expanded into inline policies) and finds every policy document in it: roles' trust policies and inline
`Policies`, `AWS::IAM::ManagedPolicy` and `AWS::IAM::Policy`, and the resource policies of SQS queues, SNS topics
and EventBridge buses. Intrinsic functions are resolved the way CloudFormation would, with stub values
(account 123456789012, us-east-1, stack `shifter`, resources' ARNs made from their logical ids), once per
parameter scenario below: the defaults (every pattern empty, so every `Fn::If` takes its "any" branch) and
"scoped" (every pattern, extra topic, KMS key and the custom event bus set, so the other branches and the
conditional resources are linted too).

Trust policies are not permission policies (no Resource), which parliament cannot read: they are checked here
instead, to let only an AWS service assume the role (sts:AssumeRole, a `Service` principal, no wildcard).

Every parliament finding (all severities, community auditors included) fails the lint unless ALLOW.yaml lists
it: `issue`, `resource` (the logical id of the resource that holds the policy), optionally `action`, and `why`
(required). An entry that matches nothing is an error too, so the list cannot go stale.
"""

import json
import re
import sys

import yaml
import parliament
from parliament import analyze_policy_string, enhance_finding, override_config

ACCOUNT = "123456789012"
REGION = "us-east-1"
PARTITION = "aws"
STACK = "shifter"

SCENARIOS = {
    "defaults": {},
    "scoped": {
        "TargetFunctionArnPattern": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders*",
        "HookFunctionArnPattern": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders-hook*",
        "AlarmArnPattern": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:orders-*",
        "ExtraTopicArnPattern": f"arn:aws:sns:{REGION}:{ACCOUNT}:team-*",
        "ExtraTopicKmsKeyArns": [f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"],
        "RolloutEventBusName": "shifter-rollouts",
        "RolloutPublisherArns": [f"arn:aws:iam::{ACCOUNT}:role/deployer", "arn:aws:iam::210987654321:role/ci-deployer"],
        "NotificationEmail": "ops@example.com",
    },
}

NO_VALUE = object()
TRUST = "trust policy"


def trust_problems(document):
    """A role's trust policy: only AWS services may assume it, with sts:AssumeRole."""
    problems = []
    statements = document.get("Statement", [])
    for st in statements if isinstance(statements, list) else [statements]:
        if st.get("Effect") != "Allow":
            continue
        principal = st.get("Principal")
        services = principal.get("Service") if isinstance(principal, dict) else None
        services = services if isinstance(services, list) else [services]
        if set(principal or {}) != {"Service"} or not all(
                isinstance(s, str) and s.endswith(".amazonaws.com") and "*" not in s for s in services):
            problems.append(f"a principal other than an AWS service may assume the role: {principal}")
        actions = st.get("Action")
        if (actions if isinstance(actions, list) else [actions]) != ["sts:AssumeRole"]:
            problems.append(f"trust statement allows {actions}, not sts:AssumeRole alone")
    return problems


class Resolver:
    def __init__(self, template, overrides):
        self.resources = template.get("Resources", {})
        self.params = {}
        for name, p in (template.get("Parameters") or {}).items():
            value = overrides.get(name, p.get("Default", ""))
            if p.get("Type") == "CommaDelimitedList" and isinstance(value, str):
                value = [v for v in value.split(",")] if value else [""]
            self.params[name] = value
        self.conditions_src = template.get("Conditions") or {}
        self.conditions = {}

    def condition(self, name):
        if name not in self.conditions:
            self.conditions[name] = bool(self.resolve(self.conditions_src[name]))
        return self.conditions[name]

    def arn(self, logical, attribute=None):
        r = self.resources[logical]
        t = r["Type"]
        props = r.get("Properties", {})
        name = self.resolve(props.get("Name", logical)) if t in ("AWS::Events::EventBus",) else logical
        base = f"arn:{PARTITION}:{{}}:{REGION}:{ACCOUNT}:"
        return {
            "AWS::Lambda::Function": base.format("lambda") + f"function:{STACK}-{logical}",
            "AWS::DynamoDB::Table": base.format("dynamodb") + f"table/{STACK}-{logical}",
            "AWS::SQS::Queue": base.format("sqs") + f"{STACK}-{logical}",
            "AWS::SNS::Topic": base.format("sns") + f"{STACK}-{logical}",
            "AWS::Events::Rule": base.format("events") + f"rule/{STACK}-{logical}",
            "AWS::Events::EventBus": base.format("events") + f"event-bus/{name}",
            "AWS::IAM::Role": f"arn:{PARTITION}:iam::{ACCOUNT}:role/{STACK}-{logical}",
            "AWS::IAM::ManagedPolicy": f"arn:{PARTITION}:iam::{ACCOUNT}:policy/{STACK}-{logical}",
            "AWS::Logs::LogGroup": base.format("logs") + f"log-group:{STACK}-{logical}:*",
            "AWS::StepFunctions::StateMachine": base.format("states") + f"stateMachine:{STACK}-rollout",
        }.get(t, base.format("unknown") + logical)

    def ref(self, name):
        pseudo = {
            "AWS::AccountId": ACCOUNT,
            "AWS::Region": REGION,
            "AWS::Partition": PARTITION,
            "AWS::StackName": STACK,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.params:
            return self.params[name]
        t = self.resources[name]["Type"]
        if t in ("AWS::SNS::Topic", "AWS::IAM::ManagedPolicy", "AWS::StepFunctions::StateMachine"):
            return self.arn(name)
        if t == "AWS::Events::EventBus":
            return self.resolve(self.resources[name]["Properties"]["Name"])
        if t == "AWS::SQS::Queue":
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{STACK}-{name}"
        return f"{STACK}-{name}"

    def get_att(self, logical, attribute):
        if attribute == "Arn":
            return self.arn(logical)
        return f"{STACK}-{logical}-{attribute}"

    def sub(self, value):
        text, variables = (value, {}) if isinstance(value, str) else (value[0], value[1])

        def one(m):
            key = m.group(1)
            if key in variables:
                return str(self.resolve(variables[key]))
            if "." in key:
                logical, attribute = key.split(".", 1)
                return self.get_att(logical, attribute)
            return str(self.ref(key))

        return re.sub(r"\$\{([^}!]+)\}", one, text)

    def resolve(self, node):
        if isinstance(node, list):
            out = [self.resolve(v) for v in node]
            return [v for v in out if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, arg), = node.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                logical, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(logical, attribute)
            if key == "Fn::Sub":
                return self.sub(arg)
            if key == "Fn::If":
                return self.resolve(arg[1] if self.condition(arg[0]) else arg[2])
            if key == "Fn::Equals":
                a, b = (self.resolve(v) for v in arg)
                return a == b
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::And":
                return all(self.resolve(v) for v in arg)
            if key == "Fn::Or":
                return any(self.resolve(v) for v in arg)
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::Join":
                sep, items = arg
                return sep.join(str(v) for v in self.resolve(items))
            if key.startswith("Fn::"):
                sys.exit(f"iam_lint: unsupported intrinsic {key}")
        out = {k: self.resolve(v) for k, v in node.items()}
        return {k: v for k, v in out.items() if v is not NO_VALUE}


def policies(template, overrides):
    """(resource, where, policy document) for every policy of every resource the scenario creates."""
    r = Resolver(template, overrides)
    for logical, resource in r.resources.items():
        if "Condition" in resource and not r.condition(resource["Condition"]):
            continue
        t = resource["Type"]
        props = resource.get("Properties", {})
        if t == "AWS::IAM::Role":
            yield logical, TRUST, r.resolve(props["AssumeRolePolicyDocument"])
            for p in r.resolve(props.get("Policies", [])):
                yield logical, f"inline policy {p['PolicyName']}", p["PolicyDocument"]
        elif t in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
            yield logical, "policy", r.resolve(props["PolicyDocument"])
        elif t in ("AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy"):
            yield logical, "resource policy", r.resolve(props["PolicyDocument"])
        elif t == "AWS::Events::EventBusPolicy":
            if "Statement" in props:
                statement = dict(r.resolve(props["Statement"]), Sid=props.get("StatementId", "Statement"))
                yield logical, "bus policy", {"Version": "2012-10-17", "Statement": [statement]}
            else:
                yield logical, "bus policy", r.resolve(props["Policy"])
        elif t.startswith("AWS::IAM::") and t not in ("AWS::IAM::InstanceProfile",):
            sys.exit(f"iam_lint: {logical}: {t} is not handled; add it here")


def finding_text(finding):
    """Where a finding names its action(s) varies (location or detail): both, lower-cased, to match `action`."""
    return f"{finding.location} {finding.detail}".lower()


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as f:
        template = json.load(f)
    with open(sys.argv[2], encoding="utf-8") as f:
        allow = yaml.safe_load(f) or []
    for entry in allow:
        if not entry.get("why") or not entry.get("issue") or not entry.get("resource"):
            sys.exit(f"iam_lint: {sys.argv[2]}: every entry needs issue, resource and why: {entry}")
    # What the CLI's --include-community-auditors does: their findings' titles and severities.
    override_config(f"{parliament.__path__[0]}/community_auditors/config_override.yaml")
    used = set()
    failures, checked = [], 0
    for scenario, overrides in SCENARIOS.items():
        for logical, where, document in policies(template, overrides):
            checked += 1
            if where == TRUST:
                failures += [f"{scenario}: {logical} ({where}): {p}" for p in trust_problems(document)]
                continue
            policy = analyze_policy_string(json.dumps(document), include_community_auditors=True)
            for finding in policy.findings:
                finding = enhance_finding(finding)
                action = finding_text(finding)
                hit = next(
                    (i for i, e in enumerate(allow)
                     if e["issue"] == finding.issue and e["resource"] == logical
                     and ("action" not in e or e["action"].lower() in action)),
                    None,
                )
                if hit is not None:
                    used.add(hit)
                    continue
                failures.append(f"{scenario}: {logical} ({where}): {finding.severity} {finding.issue}: "
                                f"{finding.title}; {finding.detail} {finding.location}")
    stale = [allow[i] for i in range(len(allow)) if i not in used]
    for s in stale:
        failures.append(f"{sys.argv[2]}: an entry that matches no finding (remove it): {s}")
    for line in failures:
        print("parliament:", line)
    print(f"iam_lint: {checked} policy documents over {len(SCENARIOS)} parameter scenarios, "
          f"{len(used)} allow-list entries used, {len(failures)} problems")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
