"""Self-test of the proxy's alias RevisionIds (tests/harness/alias_revisions.py): AWS's semantics, which moto 5.2.5
lacks (one RevisionId per alias forever, any RevisionId accepted, 201 answers). Needs no Rust build."""

from __future__ import annotations

import json
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import botocore.exceptions
import pytest
from aws_local import ENDPOINT, alias_state

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "harness"))
from alias_revisions import PRECONDITION_FAILED, AliasRevisions  # noqa: E402
from awsproto import classify  # noqa: E402

SIGNED = {"Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/lambda/aws4_request, "
                           "SignedHeaders=host, Signature=0"}


@pytest.fixture
def fn_alias(make_function, create_alias, unique):
    """A fresh function with three versions and an alias on the first: (function, alias, [v1, v2, v3])."""
    fn = make_function(unique("rev"), versions=3)
    alias = unique("live")
    create_alias(fn.name, alias, fn.versions[0])
    return fn, alias, fn.versions


def raw(method: str, path: str, body: dict | None = None) -> tuple[int, dict, bytes]:
    """One unretried HTTP exchange with the proxy, to see the wire format as an SDK would."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(ENDPOINT + path, data=data, method=method,
                                 headers={**SIGNED, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def test_every_update_gives_a_new_revision_id(lambda_client, fn_alias, harness):
    fn, alias, (v1, v2, v3) = fn_alias
    seen = [lambda_client.get_alias(FunctionName=fn.name, Name=alias)["RevisionId"]]
    for version, weights in ((v2, {}), (v2, {v3: 0.1}), (v3, {}), (v3, {})):  # the last one changes nothing
        out = lambda_client.update_alias(FunctionName=fn.name, Name=alias, FunctionVersion=version,
                                         RoutingConfig={"AdditionalVersionWeights": weights}, RevisionId=seen[-1])
        assert out["RevisionId"] not in seen, (out["RevisionId"], seen)
        seen.append(out["RevisionId"])
        got = lambda_client.get_alias(FunctionName=fn.name, Name=alias)
        assert got["RevisionId"] == out["RevisionId"]
    (listed,) = [a for a in lambda_client.list_aliases(FunctionName=fn.name)["Aliases"] if a["Name"] == alias]
    assert listed["RevisionId"] == seen[-1]
    # The history records the RevisionId each write gave the alias, as the client saw it.
    assert [h["revisionId"] for h in harness.alias_history(fn.name, alias)] == seen


def test_a_stale_revision_id_answers_412_and_changes_nothing(lambda_client, fn_alias, harness):
    fn, alias, (v1, v2, v3) = fn_alias
    first = lambda_client.get_alias(FunctionName=fn.name, Name=alias)["RevisionId"]
    second = lambda_client.update_alias(FunctionName=fn.name, Name=alias, FunctionVersion=v2,
                                        RevisionId=first)["RevisionId"]
    for stale in (first, "not-a-revision", ""):
        with pytest.raises(lambda_client.exceptions.PreconditionFailedException) as caught:
            lambda_client.update_alias(FunctionName=fn.name, Name=alias, FunctionVersion=v3,
                                       RoutingConfig={"AdditionalVersionWeights": {v1: 0.5}}, RevisionId=stale)
        err = caught.value.response
        assert err["ResponseMetadata"]["HTTPStatusCode"] == 412
        assert err["Error"] == {"Code": "PreconditionFailedException", "Message": PRECONDITION_FAILED}
        assert err["Type"] == "User"
    assert alias_state(lambda_client, fn.name, alias) == (v2, {})
    assert lambda_client.get_alias(FunctionName=fn.name, Name=alias)["RevisionId"] == second
    assert len(harness.alias_history(fn.name, alias)) == 2, "a refused write is not a write"


def test_the_412_wire_format(fn_alias, lambda_client):
    fn, alias, (v1, v2, v3) = fn_alias
    status, headers, body = raw("PUT", f"/2015-03-31/functions/{fn.name}/aliases/{alias}",
                                {"FunctionVersion": v2, "RevisionId": "stale"})
    assert status == 412
    assert headers["x-amzn-ErrorType"] == "PreconditionFailedException"
    assert headers["Content-Type"] == "application/json"
    assert headers["x-amzn-RequestId"]
    assert json.loads(body) == {"Type": "User", "message": PRECONDITION_FAILED}
    assert alias_state(lambda_client, fn.name, alias) == (v1, {})


def test_no_revision_id_updates_whatever_the_alias_holds(lambda_client, fn_alias):
    fn, alias, (v1, v2, v3) = fn_alias
    before = lambda_client.get_alias(FunctionName=fn.name, Name=alias)["RevisionId"]
    out = lambda_client.update_alias(FunctionName=fn.name, Name=alias, FunctionVersion=v3)
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert out["RevisionId"] != before
    assert alias_state(lambda_client, fn.name, alias) == (v3, {})


def test_by_arn_and_by_name_share_one_revision(lambda_client, fn_alias):
    fn, alias, (v1, v2, v3) = fn_alias
    rev = lambda_client.get_alias(FunctionName=fn.arn, Name=alias)["RevisionId"]
    assert rev == lambda_client.get_alias(FunctionName=fn.name, Name=alias)["RevisionId"]
    new = lambda_client.update_alias(FunctionName=fn.arn, Name=alias, FunctionVersion=v2, RevisionId=rev)
    with pytest.raises(lambda_client.exceptions.PreconditionFailedException):
        lambda_client.update_alias(FunctionName=fn.name, Name=alias, FunctionVersion=v3, RevisionId=rev)
    assert lambda_client.get_alias(FunctionName=fn.name, Name=alias)["RevisionId"] == new["RevisionId"]


@pytest.mark.parametrize("round_", range(5))
def test_racing_writes_with_one_revision_id_exactly_one_wins(lambda_client, fn_alias, harness, round_):
    fn, alias, (v1, v2, v3) = fn_alias
    rev = lambda_client.get_alias(FunctionName=fn.name, Name=alias)["RevisionId"]
    writers = 8
    start = threading.Barrier(writers)
    results: dict[int, object] = {}

    def write(i: int):
        weights = {v2: round((i + 1) / 10, 2)}
        start.wait()
        try:
            results[i] = lambda_client.update_alias(FunctionName=fn.name, Name=alias, FunctionVersion=v1,
                                                    RoutingConfig={"AdditionalVersionWeights": weights},
                                                    RevisionId=rev)
        except botocore.exceptions.ClientError as err:
            results[i] = err

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    won = [i for i, r in results.items() if isinstance(r, dict)]
    lost = [r for r in results.values() if isinstance(r, botocore.exceptions.ClientError)]
    assert len(won) == 1, results
    assert len(lost) == writers - 1
    assert all(e.response["Error"]["Code"] == "PreconditionFailedException" for e in lost), lost
    (winner,) = won
    assert alias_state(lambda_client, fn.name, alias) == (v1, {v2: round((winner + 1) / 10, 2)})
    assert lambda_client.get_alias(FunctionName=fn.name, Name=alias)["RevisionId"] == results[winner]["RevisionId"]
    assert len(harness.alias_history(fn.name, alias)) == 2


def test_success_status_codes_are_aws_ones(fn_alias, unique):
    fn, alias, (v1, v2, v3) = fn_alias
    base = f"/2015-03-31/functions/{fn.name}/aliases"
    status, headers, body = raw("GET", f"{base}/{alias}")
    assert (status, headers["Content-Type"]) == (200, "application/json")
    assert "status" not in {k.lower() for k in headers}, headers  # moto's stray `status: 201` header
    assert json.loads(body)["Name"] == alias
    assert raw("PUT", f"{base}/{alias}", {"FunctionVersion": v2})[0] == 200
    assert raw("GET", base)[0] == 200
    other = unique("other")
    assert raw("POST", base, {"Name": other, "FunctionVersion": v1})[0] == 201
    status, _, body = raw("DELETE", f"{base}/{other}")
    assert (status, body) == (204, b"")


def test_delete_and_create_again_gives_a_new_revision(lambda_client, fn_alias):
    fn, alias, (v1, v2, v3) = fn_alias
    old = lambda_client.get_alias(FunctionName=fn.name, Name=alias)["RevisionId"]
    lambda_client.delete_alias(FunctionName=fn.name, Name=alias)
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        lambda_client.get_alias(FunctionName=fn.name, Name=alias)
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        # No alias: AWS says not found, whatever the RevisionId.
        lambda_client.update_alias(FunctionName=fn.name, Name=alias, FunctionVersion=v2, RevisionId=old)
    new = lambda_client.create_alias(FunctionName=fn.name, Name=alias, FunctionVersion=v2)["RevisionId"]
    assert new != old
    with pytest.raises(lambda_client.exceptions.PreconditionFailedException):
        lambda_client.update_alias(FunctionName=fn.name, Name=alias, FunctionVersion=v3, RevisionId=old)
    assert alias_state(lambda_client, fn.name, alias) == (v2, {})


# ---- the tracker alone, with a fake moto: cases the shared stack cannot show without disturbing other tests


class FakeMoto:
    """moto's answers for one alias `live` of function `f`: one RevisionId forever, 201."""

    def __init__(self):
        self.doc = {"Name": "live", "FunctionVersion": "1", "RevisionId": "moto-rev", "RoutingConfig": None}
        self.writes = 0

    def answer(self, method: str, body: bytes = b""):
        if method == "PUT":
            self.writes += 1
            self.doc.update({k: v for k, v in json.loads(body).items() if k != "RevisionId"})
        return 201, [("Content-Type", "text/html; charset=utf-8"), ("status", "201")], json.dumps(self.doc).encode()


class NoHistory:
    def record(self, *args):
        pass


def call(tracker: AliasRevisions, moto: FakeMoto, method: str, body: dict | None = None):
    raw_body = json.dumps(body).encode() if body is not None else b""
    path = "/2015-03-31/functions/f/aliases/live"
    c = classify(method, path, "", SIGNED, raw_body)
    return tracker.handle(c, SIGNED, raw_body, lambda: moto.answer(method, raw_body), lambda: moto.answer("GET"))


def test_an_alias_not_seen_created_starts_with_motos_revision():
    moto, tracker = FakeMoto(), AliasRevisions(NoHistory())
    status, headers, _ = call(tracker, moto, "PUT", {"FunctionVersion": "2", "RevisionId": "stale"})
    assert (status, moto.writes) == (412, 0)
    status, headers, body = call(tracker, moto, "PUT", {"FunctionVersion": "2", "RevisionId": "moto-rev"})
    assert (status, moto.writes) == (200, 1)
    assert ("Content-Type", "application/json") in headers and "status" not in [k for k, _ in headers]
    assert json.loads(body)["RevisionId"] not in ("moto-rev", "stale")


def test_reset_forgets_every_revision():
    moto, tracker = FakeMoto(), AliasRevisions(NoHistory())
    _, _, body = call(tracker, moto, "PUT", {"FunctionVersion": "2"})
    ours = json.loads(body)["RevisionId"]
    assert json.loads(call(tracker, moto, "GET")[2])["RevisionId"] == ours
    tracker.clear()  # what the proxy does on a successful POST /moto-api/reset
    assert json.loads(call(tracker, moto, "GET")[2])["RevisionId"] == "moto-rev"
    assert call(tracker, moto, "PUT", {"FunctionVersion": "3", "RevisionId": ours})[0] == 412
