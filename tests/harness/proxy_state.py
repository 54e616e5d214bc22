"""In-memory records the proxy keeps and serves under /_harness/: injected faults, the alias write history, and a
log of the calls it received. Stdlib only."""

from __future__ import annotations

import collections
import json
import threading
import time

from awsproto import Call


class Faults:
    """Rules {operation, function?, status, code, message, count, skip}; each match first uses up `skip`,
    then fails `count` calls, then the rule disappears. operation "*" matches any call."""

    def __init__(self):
        self._rules: list[dict] = []
        self._next_id = 1
        self._lock = threading.Lock()

    def add(self, spec: dict) -> dict:
        rule = {
            "operation": spec["operation"],
            "function": spec.get("function"),
            "status": int(spec.get("status", 500)),
            "code": spec.get("code", "ServiceException"),
            "message": spec.get("message", "injected by the shifter test harness"),
            "count": int(spec.get("count", 1)),
            "skip": int(spec.get("skip", 0)),
        }
        with self._lock:
            rule["id"] = self._next_id
            self._next_id += 1
            self._rules.append(rule)
        return rule

    def remove(self, rule_id: int | None = None):
        with self._lock:
            self._rules = [r for r in self._rules if rule_id is not None and r["id"] != rule_id]

    def list(self) -> list[dict]:
        with self._lock:
            return [dict(r) for r in self._rules]

    def take(self, call: Call) -> dict | None:
        with self._lock:
            for rule in self._rules:
                if rule["operation"] not in ("*", call.operation):
                    continue
                if rule["function"] is not None and rule["function"] != call.function:
                    continue
                if rule["skip"] > 0:
                    rule["skip"] -= 1
                    return None
                rule["count"] -= 1
                if rule["count"] <= 0:
                    self._rules.remove(rule)
                return dict(rule)
        return None


class AliasHistory:
    def __init__(self):
        self._entries: list[dict] = []
        self._seq = 0
        self._lock = threading.Lock()

    def record(self, function: str, alias: str | None, body: bytes):
        try:
            doc = json.loads(body)
        except ValueError:
            return
        weights = (doc.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
        with self._lock:
            self._seq += 1
            self._entries.append({
                "seq": self._seq,
                "function": function,
                "alias": doc.get("Name") or alias,
                "functionVersion": doc.get("FunctionVersion"),
                "additionalVersionWeights": weights,
                "revisionId": doc.get("RevisionId"),
                "at": time.time(),
            })

    def query(self, function: str | None, alias: str | None) -> list[dict]:
        with self._lock:
            return [
                dict(e) for e in self._entries
                if (function is None or e["function"] == function) and (alias is None or e["alias"] == alias)
            ]

    def clear(self):
        with self._lock:
            self._entries.clear()


class CallLog:
    """The last MAX calls the proxy received: time, protocol, service, operation, Lambda function, and for DynamoDB
    the table and index, so tests can count e.g. the registry Queries an invocation made."""

    MAX = 20000

    def __init__(self):
        self._entries: collections.deque = collections.deque(maxlen=self.MAX)
        self._lock = threading.Lock()

    def record(self, call: Call, body: bytes):
        entry = {"at": time.time(), "protocol": call.protocol, "target": call.target, "operation": call.operation,
                 "function": call.function}
        if call.protocol == "json" and (call.target or "").startswith("DynamoDB"):
            try:
                doc = json.loads(body or b"{}")
                entry.update(table=doc.get("TableName"), index=doc.get("IndexName"))
            except ValueError:
                pass
        with self._lock:
            self._entries.append(entry)

    def query(self, since: float | None = None, until: float | None = None, operation: str | None = None) -> list:
        with self._lock:
            return [dict(e) for e in self._entries
                    if (since is None or e["at"] >= since) and (until is None or e["at"] <= until)
                    and (operation is None or e["operation"] == operation)]
