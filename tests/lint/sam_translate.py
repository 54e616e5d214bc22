#!/usr/bin/env python3
"""Translate a SAM template to plain CloudFormation, offline, for cfn-lint to check the result.

    .venv-sam/bin/python tests/lint/sam_translate.py TEMPLATE OUT.json

Why: cfn-lint on a SAM template (also what `sam validate --lint` runs) accepts any `Ref` that starts with a SAM
function's logical id, since `!Ref Fn.Version` and `!Ref Fn.Alias` are valid there; so a typo such as
`!Ref OrdersSmokeHok` or `!Ref Orders.Versoin` passes when a function `Orders` exists. On the translated
template every reference is to a real resource, and cfn-lint checks them all. `sam validate` without `--lint`
translates too, but asks IAM for the managed policies: here a stub answers (no managed policy names, only
ARNs and SAM policy templates, which need no lookup). Local CodeUri, ContentUri and DefinitionUri paths are replaced with S3 URIs
as `sam validate` does. Uses the SAM translator of the SAM CLI's venv; needs AWS_DEFAULT_REGION set.
"""

import json
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

LOCAL_URI_PROPERTIES = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
    "AWS::Serverless::StateMachine": "DefinitionUri",
}


class NoManagedPolicies:
    """The managed-policy loader: an empty map, so a managed policy given by name fails the translation."""

    def load(self):
        return {}


def to_s3(uri):
    if isinstance(uri, str) and not uri.startswith("s3://"):
        return "s3://local-bucket/" + uri
    return uri


def replace_local_uris(template):
    for resource in (template.get("Resources") or {}).values():
        prop = LOCAL_URI_PROPERTIES.get(resource.get("Type"))
        props = resource.get("Properties") or {}
        if prop and prop in props:
            props[prop] = to_s3(props[prop])
    function_globals = (template.get("Globals") or {}).get("Function") or {}
    if "CodeUri" in function_globals:
        function_globals["CodeUri"] = to_s3(function_globals["CodeUri"])


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    source, out = sys.argv[1], sys.argv[2]
    with open(source, encoding="utf-8") as f:
        template = yaml_parse(f.read())
    replace_local_uris(template)
    try:
        translated = transform(template, {}, NoManagedPolicies())
    except Exception as e:  # the translator's InvalidDocumentException lists every problem
        sys.exit(f"{source}: the SAM transform failed: {e}")
    with open(out, "w", encoding="utf-8") as f:
        json.dump(translated, f, indent=1)
        f.write("\n")
    print(f"{source}: translated to {out}")


if __name__ == "__main__":
    main()
