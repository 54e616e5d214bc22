"""Smithy RPC-v2 CBOR -> boto3 -> moto bridge.

Why: aws-sdk-cloudwatch >= 1.100 (Rust) speaks only Smithy RPC-v2 CBOR
(`POST /service/GraniteServiceVersion20100801/operation/<Op>`, header `smithy-protocol: rpc-v2-cbor`).
moto 5.2.5 answers those with 404 and will not add it (moto issue 9195). boto3 1.44 prefers the AWS JSON
protocol for CloudWatch, which moto does speak, so we decode the CBOR input (member names -> values),
call the same operation through a boto3 client pointed at moto's internal port, and CBOR-encode the output.

Wire details a Smithy client expects (smithy.io rpcv2Cbor spec; checked against botocore's RpcV2CBORParser
and aws-sdk-cloudwatch 1.140's generated deserialisers):
- Success: HTTP 200, `smithy-protocol: rpc-v2-cbor`, `Content-Type: application/cbor`, body = output map.
  Timestamps are CBOR tag 1 (epoch seconds, int or float). botocore hands us tz-aware datetimes; naive ones
  are taken as UTC (cbor2 `timezone=`).
- Errors: body `{"__type": "<namespace>#<ShapeName>", "message": ...}`; clients strip the `namespace#` prefix.
  CloudWatch is `awsQueryCompatible`: AWS also sends `x-amzn-query-error: <QueryCode>;Sender|Receiver` and the
  Rust SDK (and botocore) take the error code from that header, e.g. shape `ValidationException` has query code
  `ValidationError`, and the Rust SDK matches on `ValidationError`. The HTTP status is moto's (the modelled
  httpError: 404 for ResourceNotFound), falling back to 400/500.
"""

from __future__ import annotations

import datetime as dt
import threading

import boto3
import botocore.config
import botocore.exceptions
import cbor2

# Smithy service target (first path segment after /service/) -> (botocore service, Smithy namespace).
SERVICES = {"GraniteServiceVersion20100801": ("cloudwatch", "com.amazonaws.cloudwatch")}

CBOR_HEADERS = [("smithy-protocol", "rpc-v2-cbor"), ("Content-Type", "application/cbor")]


def encode(obj) -> bytes:
    return cbor2.dumps(obj, datetime_as_timestamp=True, timezone=dt.timezone.utc)


class CborBridge:
    def __init__(self, moto_url: str, region: str = "us-east-1"):
        self._moto_url = moto_url
        self._region = region
        self._clients: dict = {}
        self._lock = threading.Lock()

    def _client(self, service: str):
        # botocore clients are thread-safe once built; building them is not, hence the lock.
        with self._lock:
            if service not in self._clients:
                self._clients[service] = boto3.client(
                    service,
                    endpoint_url=self._moto_url,
                    region_name=self._region,
                    aws_access_key_id="testing",
                    aws_secret_access_key="testing",
                    config=botocore.config.Config(retries={"total_max_attempts": 1, "mode": "standard"}),
                )
            return self._clients[service]

    def _shape_name(self, service: str, operation: str | None, code: str) -> str:
        """Map a query error code back to its shape name (ValidationError -> ValidationException). Codes can
        be shared (ResourceNotFound: shapes ResourceNotFound and DashboardNotFoundError), so prefer the shape
        named like the code, then the operation's own errors."""
        model = self._client(service).meta.service_model
        shapes = list(model.error_shapes)
        if any(s.name == code for s in shapes):
            return code
        if operation in model.operation_names:
            shapes = list(model.operation_model(operation).error_shapes) + shapes
        for shape in shapes:
            if shape.metadata.get("error", {}).get("code") == code:
                return shape.name
        return code

    def error(self, target: str, status: int, code: str, message: str,
              operation: str | None = None) -> tuple[int, list, bytes]:
        """A Smithy RPC-v2 CBOR error response; `code` is the AWS (query) error code, e.g. ResourceNotFound."""
        service, namespace = SERVICES.get(target, (None, "com.amazonaws.unknown"))
        shape = self._shape_name(service, operation, code) if service else code
        kind = "Receiver" if status >= 500 else "Sender"
        headers = CBOR_HEADERS + [("x-amzn-query-error", f"{code};{kind}")]
        return status, headers, encode({"__type": f"{namespace}#{shape}", "message": message})

    def handle(self, target: str, operation: str, body: bytes) -> tuple[int, list, bytes]:
        if target not in SERVICES:
            return self.error(target, 404, "UnknownOperationException", f"harness has no CBOR bridge for {target}")
        client = self._client(SERVICES[target][0])
        method = {api: py for py, api in client.meta.method_to_api_mapping.items()}.get(operation)
        if method is None:
            return self.error(target, 404, "UnknownOperationException", f"unknown operation {operation}")
        try:
            params = cbor2.loads(body) if body else {}
        except Exception as exc:  # noqa: BLE001 - any decode failure is the client's fault
            return self.error(target, 400, "SerializationException", f"bad CBOR body: {exc}")
        if params is None:
            params = {}
        try:
            out = getattr(client, method)(**params)
        except botocore.exceptions.ParamValidationError as exc:
            return self.error(target, 400, "ValidationError", str(exc), operation)
        except botocore.exceptions.ClientError as exc:
            err = exc.response.get("Error", {})
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 400
            if status < 400:
                status = 400
            code = err.get("Code") or "InternalFailure"
            return self.error(target, status, code, err.get("Message") or "", operation)
        out.pop("ResponseMetadata", None)
        return 200, list(CBOR_HEADERS), encode(out)
