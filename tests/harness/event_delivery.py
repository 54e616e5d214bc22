"""EventBridge delivery of the events the harness emits, to the project's functions, as AWS would do it.

moto 5.2.5 matches event patterns and delivers to SQS targets, but a Lambda target makes PutEvents answer 500 for the
whole bus (docs/local-aws.md). So, in the proxy process:
- `register(name, pattern, function)` (POST /_harness/event-rules; stack_local.deploy sends template.yaml's rules)
  creates, in moto, the rule with that EventPattern and an SQS queue as its target, and a poller thread that
  long-polls the queue: a message there means moto's EventBridge matched the event against the rule.
- `emit(event)` PutEvents the event to moto's default bus (source, detail-type, resources, time, detail as built by
  aws_events.py) and records it with the id EventBridge gave it.
- Each message received is delivered to the rule's function the way EventBridge invokes a Lambda target: an
  asynchronous invocation, through the proxy's own Invoke path (so the real binary runs, and injected faults apply).
  Two retry layers, as on AWS:
    * the Invoke call fails (throttled, 5xx, connection refused): EventBridge retries with exponential backoff
      within the target's RetryPolicy (MaximumRetryAttempts, MaximumEventAgeInSeconds), then dead-letters the
      event (another 4xx: dead-lettered at once, as EventBridge does for e.g. a missing function);
    * the function itself fails (X-Amz-Function-Error): Lambda's asynchronous invocation retries it twice, then
      drops it (no on-failure destination here). AWS waits about 1 and 2 minutes; the harness waits
      ASYNC_RETRY_DELAYS (1 s and 2 s; env HARNESS_ASYNC_RETRY_DELAYS="1,2").
  The invocation is made RequestResponse against the proxy so the harness sees the function's result and can
  apply Lambda's asynchronous retries itself; the caller-visible behaviour is an async invoke's.
- `records()` (GET /_harness/events) lists every emitted event with its deliveries and their attempts.
moto's SQS copy of the event differs from what EventBridge delivers: it has an extra `ingestion-time` key and lacks
`account` (moto's default input template omits it). `aws_shaped` puts it back in AWS's shape before delivery.
"""

from __future__ import annotations

import calendar
import copy
import json
import os
import threading
import time
import traceback

import boto3
import botocore.config

from aws_events import ACCOUNT

ASYNC_RETRY_DELAYS = [float(s) for s in os.environ.get("HARNESS_ASYNC_RETRY_DELAYS", "1,2").split(",") if s]
EVENTBRIDGE_BACKOFF = (0.5, 8.0)  # first delay, cap (s); EventBridge's own schedule is undocumented
DEFAULT_RETRY = {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}  # EventBridge's defaults
MAX_RECORDS = 2000
DEAD_LETTER_QUEUE = "harness-undelivered-events"


def aws_shaped(event: dict) -> dict:
    """The event as EventBridge delivers it to a target, from moto's SQS copy, keys in AWS's order."""
    event = dict(event)
    event.pop("ingestion-time", None)
    event.setdefault("account", ACCOUNT)
    order = ["version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"]
    return {k: event[k] for k in order if k in event} | {k: v for k, v in event.items() if k not in order}


class Rule:
    def __init__(self, name: str, pattern: dict, function: str, retry: dict, queue_url: str):
        self.name, self.pattern, self.function, self.retry, self.queue_url = name, pattern, function, retry, queue_url
        self.stopped = threading.Event()

    def api(self) -> dict:
        return {"name": self.name, "eventPattern": self.pattern, "function": self.function,
                "retryPolicy": self.retry, "queueUrl": self.queue_url}


class EventBus:
    def __init__(self, moto_url: str, invoke):
        """`invoke(function, payload_bytes) -> (status, headers, body)`: a RequestResponse Invoke through the proxy."""
        self._invoke = invoke
        cfg = botocore.config.Config(retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=30)
        kw = dict(endpoint_url=moto_url, region_name="us-east-1", aws_access_key_id="testing",
                  aws_secret_access_key="testing", config=cfg)
        self._events = boto3.client("events", **kw)
        self._sqs = boto3.client("sqs", **kw)
        self._rules: dict[str, Rule] = {}
        self._records: dict[str, dict] = {}  # event id -> record, in emission order
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- rules
    def register(self, name: str, pattern: dict, function: str, retry: dict | None = None) -> dict:
        retry = {**DEFAULT_RETRY, **(retry or {})}
        queue_url = self._sqs.create_queue(QueueName=f"harness-rule-{name}"[:80])["QueueUrl"]
        queue_arn = self._sqs.get_queue_attributes(QueueUrl=queue_url,
                                                   AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self._events.put_rule(Name=name, EventPattern=json.dumps(pattern), State="ENABLED")
        self._events.put_targets(Rule=name, Targets=[{"Id": "harness-delivery", "Arn": queue_arn}])
        with self._lock:
            old = self._rules.get(name)
            if old is not None and old.queue_url == queue_url:
                old.pattern, old.function, old.retry = pattern, function, retry
                return old.api()
            if old is not None:
                old.stopped.set()
            rule = self._rules[name] = Rule(name, pattern, function, retry, queue_url)
        threading.Thread(target=self._poll, args=(rule,), name=f"rule-{name}", daemon=True).start()
        return rule.api()

    def rules(self) -> list[dict]:
        with self._lock:
            return [r.api() for r in self._rules.values()]

    def reset(self):
        """moto forgot everything (/moto-api/reset): so do the rules and the record."""
        with self._lock:
            for rule in self._rules.values():
                rule.stopped.set()
            self._rules.clear()
            self._records.clear()

    def clear(self):
        with self._lock:
            self._records.clear()

    # ---------------------------------------------------------------- emit
    def emit(self, event: dict) -> dict:
        """PutEvents `event` (no id yet) to moto's default bus; returns it with EventBridge's id."""
        event = copy.deepcopy(event)
        entry = {"Source": event["source"], "DetailType": event["detail-type"], "Resources": event["resources"],
                 "Detail": json.dumps(event["detail"]),
                 "Time": calendar.timegm(time.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ"))}
        out = self._events.put_events(Entries=[entry])
        result = out["Entries"][0]
        event = {"version": event["version"], "id": result.get("EventId"), **{k: v for k, v in event.items()
                                                                             if k not in ("version", "id")}}
        with self._lock:
            # The rule's poller may have received it already (moto delivers inside PutEvents): keep its deliveries.
            record = self._record(event["id"])
            record.update({"source": event["source"], "detailType": event["detail-type"],
                           "resources": event["resources"], "event": event, "emittedAt": time.time(),
                           "emittedBy": "harness", "putEventsError": result.get("ErrorCode")})
        return event

    def _record(self, event_id: str) -> dict:
        """The record of an event id (under self._lock), created if new: an event someone else put on the bus
        (a test's PutEvents) is recorded when a rule delivers it."""
        record = self._records.get(event_id)
        if record is None:
            record = self._records[event_id] = {"id": event_id, "source": None, "detailType": None, "resources": [],
                                                "event": None, "emittedAt": None, "emittedBy": "put_events",
                                                "deliveries": []}
            while len(self._records) > MAX_RECORDS:
                self._records.pop(next(iter(self._records)))
        return record

    def records(self, source: str | None = None, detail_type: str | None = None,
                resource: str | None = None) -> list[dict]:
        with self._lock:
            return [copy.deepcopy(r) for r in self._records.values()
                    if (source is None or r["source"] == source)
                    and (detail_type is None or r["detailType"] == detail_type)
                    and (resource is None or resource in r["resources"])]

    # ---------------------------------------------------------------- delivery
    def _poll(self, rule: Rule):
        while not rule.stopped.is_set():
            try:
                msgs = self._sqs.receive_message(QueueUrl=rule.queue_url, MaxNumberOfMessages=10,
                                                 WaitTimeSeconds=2).get("Messages", [])
            except Exception:  # noqa: BLE001 - queue gone after a reset, moto restarting: try again later
                rule.stopped.wait(1.0)
                continue
            for msg in msgs:
                try:
                    self._sqs.delete_message(QueueUrl=rule.queue_url, ReceiptHandle=msg["ReceiptHandle"])
                    event = json.loads(msg["Body"])
                except Exception:  # noqa: BLE001
                    traceback.print_exc()
                    continue
                event = aws_shaped(event)
                delivery = {"rule": rule.name, "function": rule.function, "receivedAt": time.time(),
                            "event": event, "attempts": [], "outcome": "pending"}
                with self._lock:
                    record = self._record(event.get("id"))
                    record["deliveries"].append(delivery)
                    if record["event"] is None:  # not emitted by the harness: describe it from the delivery
                        record.update({"source": event.get("source"), "detailType": event.get("detail-type"),
                                       "resources": event.get("resources") or [], "event": event})
                threading.Thread(target=self._deliver, args=(rule, event, delivery), daemon=True).start()

    def _deliver(self, rule: Rule, event: dict, delivery: dict):
        payload = json.dumps(event).encode()
        first = time.time()
        eventbridge_retries, function_retries = 0, 0
        while True:
            started = time.time()
            try:
                status, headers, body = self._invoke(rule.function, payload)
                error = next((v for k, v in headers if k.lower() == "x-amz-function-error"), None)
            except OSError as exc:
                status, error, body = None, None, repr(exc).encode()
            attempt = {"at": started, "seconds": round(time.time() - started, 4), "status": status,
                       "functionError": error, "response": body.decode("utf-8", "replace")[:2000]}
            with self._lock:
                delivery["attempts"].append(attempt)
            if status == 200 and not error:
                return self._finish(delivery, "delivered")
            if status == 200 and error:  # the function failed: Lambda's async retries
                if function_retries >= len(ASYNC_RETRY_DELAYS):
                    return self._finish(delivery, "function-error")
                time.sleep(ASYNC_RETRY_DELAYS[function_retries])
                function_retries += 1
                continue
            retryable = status is None or status == 429 or status >= 500
            age = time.time() - first
            if (not retryable or eventbridge_retries >= rule.retry["MaximumRetryAttempts"]
                    or age >= rule.retry["MaximumEventAgeInSeconds"]):
                return self._dead_letter(rule, event, delivery)
            base, cap = EVENTBRIDGE_BACKOFF
            time.sleep(min(cap, base * 2 ** eventbridge_retries))
            eventbridge_retries += 1

    def _finish(self, delivery: dict, outcome: str):
        with self._lock:
            delivery["outcome"] = outcome
            delivery["finishedAt"] = time.time()

    def _dead_letter(self, rule: Rule, event: dict, delivery: dict):
        try:
            url = self._sqs.create_queue(QueueName=DEAD_LETTER_QUEUE)["QueueUrl"]
            self._sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event), MessageAttributes={
                "RULE_ARN": {"DataType": "String", "StringValue": rule.name},
                "TARGET_ARN": {"DataType": "String", "StringValue": rule.function}})
        except Exception:  # noqa: BLE001
            traceback.print_exc()
        self._finish(delivery, "dead-lettered")
