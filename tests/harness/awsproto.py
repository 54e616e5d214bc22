"""Tell which AWS API call a raw HTTP request is, and build AWS-style error responses for its protocol.

Used by proxy.py for fault injection and routing. Protocols seen on the local stack:
- Lambda REST-JSON: `/2015-03-31/functions/...`, the operation follows from method + path.
- Smithy RPC-v2 CBOR: `POST /service/<target>/operation/<Op>` (aws-sdk-cloudwatch >= 1.100).
- AWS JSON 1.0/1.1: `X-Amz-Target: <Prefix>.<Op>` (Step Functions, SQS, EventBridge, CloudWatch via boto3).
- Query: form body `Action=<Op>` (SNS, IAM).
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote
from xml.sax.saxutils import escape

LAMBDA_PATH = re.compile(
    r"^/(?P<ver>\d{4}-\d{2}-\d{2})/functions"
    r"(?:/(?P<fn>[^/]+)(?:/(?P<sub>[^/]+)(?:/(?P<rest>[^/]+))?)?)?/?$"
)
CBOR_PATH = re.compile(r"^/service/(?P<target>[^/]+)/operation/(?P<op>[^/]+)$")

# (method, sub-resource) -> operation. "aliases/" means "aliases/<name>" (one more path segment).
LAMBDA_OPS = {
    ("POST", None): "CreateFunction",
    ("GET", None): "ListFunctions",
    ("GET", ""): "GetFunction",
    ("DELETE", ""): "DeleteFunction",
    ("GET", "configuration"): "GetFunctionConfiguration",
    ("PUT", "configuration"): "UpdateFunctionConfiguration",
    ("PUT", "code"): "UpdateFunctionCode",
    ("POST", "versions"): "PublishVersion",
    ("GET", "versions"): "ListVersionsByFunction",
    ("POST", "aliases"): "CreateAlias",
    ("GET", "aliases"): "ListAliases",
    ("GET", "aliases/"): "GetAlias",
    ("PUT", "aliases/"): "UpdateAlias",
    ("DELETE", "aliases/"): "DeleteAlias",
    ("POST", "invocations"): "Invoke",
    ("POST", "policy"): "AddPermission",
    ("GET", "policy"): "GetPolicy",
    ("DELETE", "policy/"): "RemovePermission",
}


@dataclass
class Call:
    protocol: str  # "lambda" | "cbor" | "json" | "query" | "other"
    operation: str | None = None
    function: str | None = None  # Lambda function NAME (never an ARN)
    qualifier: str | None = None  # version or alias from the ARN / NAME:QUALIFIER / ?Qualifier=
    alias: str | None = None  # alias name from the path (GetAlias/UpdateAlias/DeleteAlias)
    # Which service: the Smithy target for CBOR calls, the X-Amz-Target prefix for AWS JSON calls (both e.g.
    # "GraniteServiceVersion20100801" for CloudWatch), the API Version for query calls (CloudWatch: "2010-08-01").
    target: str | None = None
    content_type: str | None = None


def parse_function_ref(ref: str) -> tuple[str, str | None]:
    """Split what Lambda accepts as FunctionName into (name, qualifier).

    Accepted forms: NAME, NAME:QUALIFIER, ACCOUNT:function:NAME[:Q], arn:aws:lambda:REGION:ACCOUNT:function:NAME[:Q].
    """
    parts = unquote(ref).split(":")
    if "function" in parts:
        i = parts.index("function")
        name = parts[i + 1] if len(parts) > i + 1 else ""
        qualifier = parts[i + 2] if len(parts) > i + 2 else None
        return name, qualifier or None
    if len(parts) == 2:
        return parts[0], parts[1] or None
    return parts[0], None


def classify(method: str, path: str, query: str, headers, body: bytes) -> Call:
    """Work out protocol, operation and (for Lambda) function name/qualifier of one request."""
    ctype = headers.get("Content-Type")
    m = CBOR_PATH.match(path)
    if m:
        return Call("cbor", m.group("op"), target=m.group("target"), content_type=ctype)
    m = LAMBDA_PATH.match(path)
    if m:
        fn, sub, rest = m.group("fn"), m.group("sub"), m.group("rest")
        key = None if fn is None else (sub or "")
        if rest is not None:
            key = f"{sub}/"
        call = Call("lambda", LAMBDA_OPS.get((method, key)), content_type=ctype)
        if fn is not None:
            call.function, call.qualifier = parse_function_ref(fn)
        q = parse_qs(query)
        if q.get("Qualifier"):
            call.qualifier = q["Qualifier"][0]
        if sub == "aliases" and rest is not None:
            call.alias = unquote(rest)
        return call
    target = headers.get("X-Amz-Target")
    if target:
        prefix, _, operation = target.rpartition(".")
        return Call("json", operation, target=prefix or None, content_type=ctype)
    params = parse_qs(query)
    if not params.get("Action") and ctype and ctype.startswith("application/x-www-form-urlencoded"):
        params = parse_qs(body.decode("utf-8", "replace"))
    if params.get("Action"):
        return Call("query", params["Action"][0], target=(params.get("Version") or [None])[0], content_type=ctype)
    return Call("other", content_type=ctype)


def error_response(call: Call, status: int, code: str, message: str) -> tuple[int, list, bytes]:
    """An AWS-shaped error for the request's protocol (CBOR errors are built by cbor_bridge)."""
    request_id = str(uuid.uuid4())
    if call.protocol == "json":
        # AWS JSON: error code in `__type` (botocore and the Rust SDK both read it; the header is a fallback).
        body = json.dumps({"__type": code, "message": message}).encode()
        ctype = call.content_type or "application/x-amz-json-1.0"
        headers = [("Content-Type", ctype), ("x-amzn-ErrorType", code), ("x-amzn-RequestId", request_id)]
        return status, headers, body
    if call.protocol == "query":
        kind = "Receiver" if status >= 500 else "Sender"
        body = (
            f'<ErrorResponse xmlns="https://aws.amazon.com/"><Error><Type>{kind}</Type>'
            f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        return status, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body
    # Lambda REST-JSON (and anything else): code in the x-amzn-ErrorType header, Lambda's body shape.
    kind = "Service" if status >= 500 else "User"
    body = json.dumps({"Type": kind, "message": message}).encode()
    headers = [
        ("Content-Type", "application/json"),
        ("x-amzn-ErrorType", code),
        ("x-amzn-RequestId", request_id),
    ]
    return status, headers, body
