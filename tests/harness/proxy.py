"""Reverse proxy on the public port (SHIFTER_PORT) in front of moto and `cargo lambda watch`.

Clients (boto3, the Rust SDK, moto's own Step Functions engine via MOTO_PORT) all talk to this port:
- Lambda Invoke of a workspace binary -> cargo lambda watch, with AWS semantics restored (see invoke()).
- Smithy RPC-v2 CBOR (aws-sdk-cloudwatch >= 1.100) -> cbor_bridge -> boto3 -> moto.
- CloudWatch alarm history, which moto lacks, is kept here (alarm_history.py): every alarm state change forwarded is
  recorded (GET /_harness/alarm-history), DescribeAlarmHistory is answered from that record, and DescribeAlarms
  answers carry StateTransitionedTimestamp. /moto-api/reset clears the record.
- Lambda alias RevisionIds behave as on AWS (alias_revisions.py): a new one on every CreateAlias/UpdateAlias, a
  stale one on UpdateAlias answers 412 PreconditionFailedException, AWS's success status codes.
  /moto-api/reset forgets them.
- CreateAlias / UpdateAlias successes are recorded (GET /_harness/alias-history), with the RevisionId served.
- Injected faults (POST /_harness/faults) answer matching calls with AWS-style errors.
- EventBridge events moto does not emit, in AWS's format (aws_events.py): "CloudWatch Alarm State Change" on every
  alarm state value change made through SetAlarmState, "Step Functions Execution Status Change" when an execution
  starts and ends (executions.py). They go to moto's bus; the rules registered with POST /_harness/event-rules
  (template.yaml's, by stack_local.deploy) deliver them to the functions as EventBridge would (event_delivery.py).
  GET /_harness/events lists them with their deliveries.
- StopExecution ends an execution waiting in a callback Task at once (ABORTED), as on AWS (executions.py).
- Percentile statistics of GetMetricData, which moto answers with 500, are served from the data points recorded
  here (metric_percentiles.py).
- A version with its own environment variables runs in a `cargo lambda watch` started with them
  (version_env.py; GET /_harness/version-environments).
- Every call received is logged (GET /_harness/calls).
- Everything else -> moto, verbatim.
Stdlib only apart from boto3/cbor2 (from the harness venv). Run by harness.py; binds 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import socket
import sys
import threading
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import aws_events  # noqa: E402
from alarm_history import CloudWatchAlarms  # noqa: E402
from alias_revisions import AliasRevisions  # noqa: E402
from awsproto import Call, classify, error_response, parse_function_ref  # noqa: E402
from cbor_bridge import CborBridge  # noqa: E402
from event_delivery import EventBus  # noqa: E402
from lambda_metrics import LambdaMetrics  # noqa: E402
from metric_percentiles import MetricRecorder, Percentiles  # noqa: E402
from version_env import VersionEnvironments, parse_env_list  # noqa: E402
from executions import Executions  # noqa: E402
from proxy_state import AliasHistory, CallLog, Faults  # noqa: E402

HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
    "te", "trailer", "trailers", "transfer-encoding", "upgrade", "content-length",
    "expect",  # http.server already answered any `Expect: 100-continue`; upstream gets the whole body at once
}
LAMBDA_TIMEOUT_S = 900  # a Lambda may run up to 15 minutes
MOTO_TIMEOUT_S = 300


def upstream(port: int, method: str, path: str, headers, body: bytes, timeout: float):
    """One HTTP exchange with 127.0.0.1:port. TCP_NODELAY: without it each call costs ~70 ms (Nagle +
    delayed ACK on the split header/body writes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.connect()
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        has_host = False
        for key, value in headers:
            if key.lower() in HOP_BY_HOP:
                continue
            has_host |= key.lower() == "host"
            conn.putheader(key, value)
        if not has_host:
            conn.putheader("Host", f"127.0.0.1:{port}")
        if body or method in ("POST", "PUT", "PATCH"):
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body or None)
        resp = conn.getresponse()
        data = resp.read()
        out_headers = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP]
        return resp.status, out_headers, data
    finally:
        conn.close()


class Stack:
    """Shared state of one proxy process."""

    def __init__(self, args):
        self.moto_port = args.moto_port
        self.watch_port = args.watch_port
        self.functions = set(filter(None, args.functions.split(",")))
        self.faults = Faults()
        self.history = AliasHistory()
        self.revisions = AliasRevisions(self.history)
        self.bridge = CborBridge(f"http://127.0.0.1:{args.moto_port}")
        self.alarms = CloudWatchAlarms(f"http://127.0.0.1:{args.moto_port}", self.bridge)
        self.port = args.port
        self.calls = CallLog()
        self.events = EventBus(f"http://127.0.0.1:{args.moto_port}", self.invoke_function)
        self.alarms.on_transition = self.alarm_changed
        self.executions = Executions(f"http://127.0.0.1:{args.moto_port}", self.events.emit)
        self.recorded_metrics = MetricRecorder()
        self.percentiles = Percentiles(self.recorded_metrics)
        self.metrics = LambdaMetrics(f"http://127.0.0.1:{args.moto_port}", on_put=self.recorded_metrics.record)
        self.version_envs = VersionEnvironments(self.lambda_client, args.workspace, parse_env_list(args.watch_env),
                                                args.log_dir, args.watch_port)
        self._lambda = None
        self._lock = threading.Lock()

    def lambda_client(self):
        with self._lock:
            if self._lambda is None:
                import boto3
                import botocore.config

                self._lambda = boto3.client(
                    "lambda", endpoint_url=f"http://127.0.0.1:{self.moto_port}", region_name="us-east-1",
                    aws_access_key_id="testing", aws_secret_access_key="testing",
                    config=botocore.config.Config(retries={"total_max_attempts": 1, "mode": "standard"}),
                )
            return self._lambda

    def invoke_function(self, function: str, payload: bytes):
        """A RequestResponse Invoke through this proxy (as any client's), for EventBridge deliveries."""
        headers = [("Content-Type", "application/json"), ("X-Amz-Invocation-Type", "RequestResponse"),
                   ("Authorization", "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/lambda/aws4_request, "
                                     "SignedHeaders=host, Signature=0")]
        return upstream(self.port, "POST", f"/2015-03-31/functions/{function}/invocations", headers, payload,
                        LAMBDA_TIMEOUT_S)

    def alarm_changed(self, alarm: dict, old, old_ms: int, new, new_ms: int):
        """CloudWatch's EventBridge event for a state value change (alarm_history.CloudWatchAlarms.on_transition)."""
        state = lambda s, ms: {"value": s.value, "reason": s.reason, "reason_data": s.reason_data,  # noqa: E731
                               "at_ms": ms}
        try:
            self.events.emit(aws_events.alarm_state_change(alarm, state(old, old_ms), state(new, new_ms)))
        except Exception:  # noqa: BLE001 - the state change itself succeeded; the event's loss shows in the log
            traceback.print_exc()

    def executed_version(self, function: str, qualifier: str | None) -> str:
        """What AWS would put in X-Amz-Executed-Version. For a weighted alias, AWS picks the additional
        version with its weight's probability; do the same so ExecutedVersion-based assertions are honest."""
        if not qualifier or qualifier == "$LATEST":
            return "$LATEST"
        if qualifier.isdigit():
            return qualifier
        try:
            alias = self.lambda_client().get_alias(FunctionName=function, Name=qualifier)
        except Exception:  # noqa: BLE001 - function not registered in moto: behave like an unqualified call
            return "$LATEST"
        for version, weight in ((alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}).items():
            if random.random() < float(weight):
                return version
        return alias.get("FunctionVersion") or "$LATEST"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive for SDK clients; every answer carries Content-Length
    stack: Stack  # set in main()

    def setup(self):
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().setup()

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (time.strftime("%H:%M:%S"), fmt % args))

    def read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send(self, status: int, headers: list, body: bytes):
        self.send_response(status)
        for key, value in headers:
            if key.lower() not in HOP_BY_HOP:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def send_json(self, status: int, obj):
        self.send(status, [("Content-Type", "application/json")], json.dumps(obj).encode())

    def do_any(self):
        try:
            self.route()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:  # noqa: BLE001 - answer like AWS would, keep the proxy alive
            traceback.print_exc()
            self.send(500, [("Content-Type", "application/json"), ("x-amzn-ErrorType", "ServiceException")],
                      json.dumps({"Type": "Service", "message": f"harness proxy error: {exc!r}"}).encode())

    def route(self):
        body = self.read_body()
        url = urlsplit(self.path)
        if url.path.startswith("/_harness/"):
            return self.harness_api(url.path, parse_qs(url.query), body)
        stack = self.stack
        call = classify(self.command, url.path, url.query, self.headers, body)
        stack.calls.record(call, body)
        fault = stack.faults.take(call)
        if fault:
            self.log_message("fault injected: %s %s", call.operation, fault["code"])
            if call.protocol == "cbor":
                return self.send(*stack.bridge.error(
                    call.target, fault["status"], fault["code"], fault["message"], call.operation))
            return self.send(*error_response(call, fault["status"], fault["code"], fault["message"]))
        if stack.alarms.handles(call):
            return self.send(*stack.alarms.handle(call, url.query, body, lambda: self.forward(call, body)))
        if stack.percentiles.handles(call):
            return self.send(*stack.percentiles.handle(call, self.headers, body, lambda b: self.forward(call, b)))
        if call.protocol == "cbor":
            return self.send(*stack.bridge.handle(call.target, call.operation, body))
        if stack.executions.handles(call):
            return self.send(*stack.executions.handle(call, body, lambda: self.forward(call, body)))
        if call.operation == "Invoke" and call.function in stack.functions:
            return self.invoke(call, body)
        if stack.revisions.handles(call):
            # Also records successful CreateAlias/UpdateAlias in the alias history, in the order they applied.
            read_alias = lambda: upstream(stack.moto_port, "GET", url.path, self.headers.items(), b"",  # noqa: E731
                                          MOTO_TIMEOUT_S)
            return self.send(*stack.revisions.handle(call, self.headers, body, lambda: self.forward(call, body),
                                                     read_alias))
        status, headers, data = self.forward(call, body)
        if (self.command, url.path) == ("POST", "/moto-api/reset") and 200 <= status < 300:
            stack.alarms.log.clear()  # the alarms are gone, so is their history (AWS keeps it; moto forgets all)
            stack.revisions.clear()  # moto forgot the aliases
            stack.events.reset()  # ... the rules and queues
            stack.executions.reset()  # ... and the executions
            stack.recorded_metrics.clear()  # ... and the metrics
        return self.send(status, headers, data)

    def forward(self, call: Call, body: bytes) -> tuple[int, list, bytes]:
        """To moto: verbatim, or through the CBOR bridge for Smithy RPC-v2 CBOR calls."""
        if call.protocol == "cbor":
            return self.stack.bridge.handle(call.target, call.operation, body)
        return upstream(self.stack.moto_port, self.command, self.path, self.headers.items(), body, MOTO_TIMEOUT_S)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_any

    def invoke(self, call: Call, body: bytes):
        """Invoke a workspace binary on cargo lambda watch, fixing where watch differs from AWS:
        handler errors come back from watch as HTTP 500 (AWS: 200 + X-Amz-Function-Error: Unhandled);
        Event invocations are synchronous in watch (AWS: 202 at once, run later); Qualifier is ignored and no
        X-Amz-Executed-Version is sent (we resolve it through moto's GetAlias)."""
        stack = self.stack
        executed = stack.executed_version(call.function, call.qualifier)
        request_id = str(uuid.uuid4())
        headers = [("x-amzn-RequestId", request_id), ("X-Amz-Executed-Version", executed)]
        fwd = [("Content-Type", "application/json")]
        if self.headers.get("X-Amz-Client-Context"):
            fwd.append(("X-Amz-Client-Context", self.headers["X-Amz-Client-Context"]))
        path = f"/2015-03-31/functions/{call.function}/invocations"
        kind = self.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        if kind == "DryRun":
            return self.send(204, headers, b"")
        try:
            # A version with its own environment variables runs in a watch started with them (version_env.py).
            watch_port = stack.version_envs.port_for(call.function, executed)
        except OSError as exc:
            return self.send(*error_response(call, 500, "ServiceException", f"harness: {exc}"))
        if kind == "Event":
            def run():
                try:
                    status, _, data = upstream(watch_port, "POST", path, fwd, body, LAMBDA_TIMEOUT_S)
                    self.log_message("async invoke %s -> %s %s", call.function, status, data[:200])
                except OSError as exc:
                    self.log_message("async invoke %s failed: %s", call.function, exc)

            threading.Thread(target=run, daemon=True).start()
            return self.send(202, headers, b"")
        started = time.monotonic()
        try:
            status, _, data = upstream(watch_port, "POST", path, fwd, body, LAMBDA_TIMEOUT_S)
        except OSError as exc:
            return self.send(*error_response(call, 500, "ServiceException", f"cargo lambda watch: {exc}"))
        stack.metrics.invoked(call.function, call.qualifier, executed, status == 500,
                              (time.monotonic() - started) * 1000)
        headers.append(("Content-Type", "application/json"))
        if status == 200:
            return self.send(200, headers, data)
        if status == 500:
            return self.send(200, headers + [("X-Amz-Function-Error", "Unhandled")], data)
        msg = data.decode("utf-8", "replace")[:1000]
        return self.send(*error_response(call, 502, "ServiceException", f"cargo lambda watch {status}: {msg}"))

    def harness_api(self, path: str, query: dict, body: bytes):
        stack = self.stack
        one = lambda key: query.get(key, [None])[0]  # noqa: E731
        route = (self.command, path.rstrip("/"))
        if route == ("GET", "/_harness/health"):
            return self.send_json(200, {"ok": True})
        if route == ("POST", "/_harness/metrics/drain"):
            # Every invoke's data points are in moto's CloudWatch once this answers.
            return self.send_json(200, {"drained": stack.metrics.drain(), "published": stack.metrics.published})
        if route == ("GET", "/_harness/version-environments"):
            return self.send_json(200, stack.version_envs.list())
        if route == ("GET", "/_harness/functions"):
            return self.send_json(200, sorted(stack.functions))
        if route == ("GET", "/_harness/alias-history"):
            return self.send_json(200, stack.history.query(one("function"), one("alias")))
        if route == ("DELETE", "/_harness/alias-history"):
            stack.history.clear()
            return self.send_json(200, {"ok": True})
        if route == ("GET", "/_harness/alarm-history"):
            return self.send_json(200, stack.alarms.log.records(one("alarm")))
        if route == ("DELETE", "/_harness/alarm-history"):
            stack.alarms.log.clear()
            return self.send_json(200, {"ok": True})
        if route == ("GET", "/_harness/events"):
            return self.send_json(200, stack.events.records(one("source"), one("detail-type"), one("resource")))
        if route == ("DELETE", "/_harness/events"):
            stack.events.clear()
            return self.send_json(200, {"ok": True})
        if route == ("GET", "/_harness/event-rules"):
            return self.send_json(200, stack.events.rules())
        if route == ("POST", "/_harness/event-rules"):
            try:
                spec = json.loads(body)
                return self.send_json(200, stack.events.register(spec["name"], spec["eventPattern"],
                                                                 spec["function"], spec.get("retryPolicy")))
            except (ValueError, KeyError, TypeError) as exc:
                return self.send_json(400, {"error": f"bad rule spec: {exc!r}"})
        if route == ("GET", "/_harness/aborted-executions"):
            return self.send_json(200, stack.executions.aborted())
        if route == ("GET", "/_harness/calls"):
            num = lambda key: float(one(key)) if one(key) else None  # noqa: E731
            return self.send_json(200, stack.calls.query(num("since"), num("until"), one("operation")))
        if route == ("GET", "/_harness/faults"):
            return self.send_json(200, stack.faults.list())
        if route == ("POST", "/_harness/faults"):
            try:
                spec = json.loads(body)
                if isinstance(spec.get("function"), str):
                    spec["function"] = parse_function_ref(spec["function"])[0]
                return self.send_json(200, stack.faults.add(spec))
            except (ValueError, KeyError, TypeError) as exc:
                return self.send_json(400, {"error": f"bad fault spec: {exc!r}"})
        if route == ("DELETE", "/_harness/faults"):
            rule_id = one("id")
            stack.faults.remove(int(rule_id) if rule_id else None)
            return self.send_json(200, {"ok": True})
        return self.send_json(404, {"error": f"no harness route {self.command} {path}"})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--moto-port", type=int, required=True)
    p.add_argument("--watch-port", type=int, required=True)
    p.add_argument("--functions", default="", help="comma-separated workspace binary names")
    p.add_argument("--workspace", default=None, help="cargo workspace, for watches of version environments")
    p.add_argument("--watch-env", default="", help="the main watch's --env-var list (K=V,K2=V2)")
    p.add_argument("--log-dir", default=None, help="where the version environments' watches log")
    args = p.parse_args(argv)
    Handler.stack = Stack(args)
    server = Server(("127.0.0.1", args.port), Handler)
    sys.stderr.write(f"proxy on 127.0.0.1:{args.port} -> moto :{args.moto_port}, watch :{args.watch_port}, "
                     f"functions {sorted(Handler.stack.functions)}\n")
    sys.stderr.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
