"""Lambda alias RevisionIds as AWS keeps them, because moto 5.2.5 does not.

Measured on moto 5.2.5 (docs/local-aws.md): an alias gets one RevisionId at CreateAlias and keeps it forever;
UpdateAlias accepts any RevisionId (never PreconditionFailedException); GetAlias and UpdateAlias answer HTTP 201
and DeleteAlias 201 with `{}` (AWS: 200, 200 and 204 with no body); the answers say `Content-Type: text/html`.

AWS: every successful CreateAlias and UpdateAlias gives the alias a new RevisionId, and an UpdateAlias whose
RevisionId is not the alias's current one fails with HTTP 412 PreconditionFailedException and changes nothing.
shifter fences every alias write on the RevisionId it read, so without this a change made by someone else in the
middle of a rollout would be silently overwritten on the emulator.

Every Lambda call reaches moto through the proxy, so the proxy keeps the RevisionIds itself (AliasRevisions.handle):
- CreateAlias: forward; on success a fresh UUID becomes the alias's RevisionId.
- UpdateAlias: if the request carries a RevisionId (an empty one too) that is not the current one, answer 412
  without forwarding; else forward, and on success a fresh UUID becomes the RevisionId. Check, forward and record
  happen under the function's lock, so of two racing writes fenced on the same RevisionId exactly one succeeds.
- GetAlias / ListAliases / CreateAlias / UpdateAlias answers: RevisionId rewritten to the tracked one, under the
  same lock (a read never pairs an old routing with a newer RevisionId).
- DeleteAlias forgets the alias, DeleteFunction (unqualified) all of the function's, /moto-api/reset everything.
An alias the proxy has not seen created (made before the proxy started, or directly on moto's port) starts with
moto's own RevisionId. Successful answers get AWS's status code (`responseCode` in botocore's model) and
`Content-Type: application/json`. The successful CreateAlias/UpdateAlias answers go to the alias history
(GET /_harness/alias-history) with the RevisionId the client saw, in the order the writes were applied.
"""

from __future__ import annotations

import json
import re
import threading
import uuid

from awsproto import Call, error_response

PRECONDITION_FAILED = ("The Revision Id provided does not match the latest Revision Id. "
                       "Call the GetAlias API to retrieve the latest Revision Id")
# AWS's status for a success (botocore's lambda model, `http.responseCode`); moto answers 201 to all but ListAliases.
SUCCESS_STATUS = {"CreateAlias": 201, "GetAlias": 200, "UpdateAlias": 200, "ListAliases": 200, "DeleteAlias": 204}
OPERATIONS = set(SUCCESS_STATUS) | {"DeleteFunction"}
CREDENTIAL_REGION = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/,\s]+)/")
DEFAULT_REGION = "us-east-1"


def region_of(headers) -> str:
    """The region a SigV4-signed request is for (moto keeps one backend per region)."""
    m = CREDENTIAL_REGION.search(headers.get("Authorization") or "")
    return m.group(1) if m else DEFAULT_REGION


def _ok(status: int) -> bool:
    return 200 <= status < 300


class AliasRevisions:
    def __init__(self, history):
        self.history = history  # proxy.AliasHistory: successful CreateAlias/UpdateAlias, in order
        self._revisions: dict[tuple[str, str, str], str] = {}  # (region, function, alias) -> RevisionId
        self._locks: dict[tuple[str, str], threading.Lock] = {}  # (region, function) -> its lock
        self._meta = threading.Lock()

    def handles(self, call: Call) -> bool:
        return call.protocol == "lambda" and call.operation in OPERATIONS and bool(call.function)

    def clear(self):
        with self._meta:
            self._revisions.clear()

    def current(self, region: str, function: str, alias: str) -> str | None:
        with self._meta:
            return self._revisions.get((region, function, alias))

    def _lock(self, region: str, function: str) -> threading.Lock:
        with self._meta:
            return self._locks.setdefault((region, function), threading.Lock())

    def _set(self, region: str, function: str, alias: str, revision: str):
        with self._meta:
            self._revisions[(region, function, alias)] = revision

    def _adopt(self, region: str, function: str, alias: str, moto_revision: str | None) -> str | None:
        """The tracked RevisionId, or (first sight of an alias) moto's own, which is then tracked."""
        with self._meta:
            key = (region, function, alias)
            if key not in self._revisions and moto_revision:
                self._revisions[key] = moto_revision
            return self._revisions.get(key)

    def _forget(self, region: str, function: str, alias: str | None):
        with self._meta:
            for key in [k for k in self._revisions if k[:2] == (region, function) and alias in (None, k[2])]:
                del self._revisions[key]

    def handle(self, call: Call, headers, body: bytes, forward, read_alias) -> tuple[int, list, bytes]:
        """`forward()` sends the request to moto; `read_alias()` sends a GetAlias for the same path to moto (used
        for an UpdateAlias of an alias not seen before). Both return (status, headers, body)."""
        region, function, op = region_of(headers), call.function, call.operation
        with self._lock(region, function):
            if op == "DeleteFunction":
                status, out_headers, data = forward()
                if _ok(status) and not call.qualifier:
                    self._forget(region, function, None)
                return status, out_headers, data
            if op == "UpdateAlias":
                refused = self._precondition(call, region, body, read_alias)
                if refused:
                    return refused
            status, out_headers, data = forward()
            if not _ok(status):
                return status, out_headers, data
            if op == "DeleteAlias":
                self._forget(region, function, call.alias)
                return SUCCESS_STATUS[op], self._success_headers(out_headers), b""
            try:
                doc = json.loads(data)
            except ValueError:
                return status, out_headers, data
            if op in ("CreateAlias", "UpdateAlias"):
                name = doc.get("Name") or call.alias
                doc["RevisionId"] = str(uuid.uuid4())
                self._set(region, function, name, doc["RevisionId"])
                data = json.dumps(doc).encode()
                self.history.record(function, name, data)
            elif op == "GetAlias":
                doc["RevisionId"] = self._adopt(region, function, doc.get("Name") or call.alias,
                                                doc.get("RevisionId"))
            elif op == "ListAliases":
                for alias in doc.get("Aliases") or []:
                    alias["RevisionId"] = self._adopt(region, function, alias.get("Name"), alias.get("RevisionId"))
            return SUCCESS_STATUS[op], self._success_headers(out_headers), json.dumps(doc).encode()

    def _precondition(self, call: Call, region: str, body: bytes, read_alias):
        """None when the UpdateAlias may go on, else AWS's 412 answer."""
        try:
            request = json.loads(body) if body.strip() else {}
        except ValueError:
            return None  # not JSON: moto gives its own error
        if not isinstance(request, dict) or "RevisionId" not in request or request["RevisionId"] is None:
            return None  # no fence: AWS updates whatever the alias holds
        current = self.current(region, call.function, call.alias)
        if current is None:
            status, _, data = read_alias()
            if not _ok(status):
                return None  # e.g. no such alias: moto answers the UpdateAlias with its 404
            try:
                current = self._adopt(region, call.function, call.alias, json.loads(data).get("RevisionId"))
            except (ValueError, AttributeError):
                return None
        if request["RevisionId"] == current:
            return None
        return error_response(call, 412, "PreconditionFailedException", PRECONDITION_FAILED)

    @staticmethod
    def _success_headers(headers: list) -> list:
        # moto adds a stray `status: 201` header and says text/html; AWS says application/json.
        drop = {"status", "content-type"}
        return [(k, v) for k, v in headers if k.lower() not in drop] + [("Content-Type", "application/json")]
