#!/usr/bin/env python3
"""Traffic generator: invoke a Lambda function (an alias, a version) at a steady rate, through the harness proxy.

Library (pytest, the demo):

    from traffic import Traffic, parse_rate
    with Traffic("sample-orders", "live", rate="600/min", endpoint=ENDPOINT) as t:   # starts
        ...                                                                         # traffic flows
    counts = t.counts()            # after the block (stopped): Counts
    Traffic(..., rate=20).run(seconds=5) -> Counts   # blocking, for a fixed time

CLI:

    python tests/harness/traffic.py --endpoint http://127.0.0.1:5555 --function sample-orders --qualifier live \\
        --rate 600/min --seconds 60 [--payload '{}'] [--workers N] [--json]

Invocations are started on a fixed schedule (the i-th at start + i/rate) and run on a thread pool, so a slow
invocation does not slow the rate down, as long as the pool has a free worker (default: enough for 2 s of
traffic, 4..64). Each RequestResponse invoke is counted under its X-Amz-Executed-Version as `ok` or `error`
(a function error: X-Amz-Function-Error); an invoke that fails (an API error, a refused connection) counts under
`failed` with its message. Fake credentials; no retries (a lost invoke shows in `failed`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:/\s*(s|sec|second|m|min|minute))?\s*$")


def parse_rate(rate) -> float:
    """Invocations per second from 10, 2.5, "10/s", "600/min"."""
    if isinstance(rate, (int, float)):
        value = float(rate)
    else:
        m = RATE.match(str(rate))
        if not m:
            raise ValueError(f"rate {rate!r}: expected N, N/s or N/min")
        value = float(m.group(1)) / (60.0 if (m.group(2) or "s").startswith("m") else 1.0)
    if not value > 0:
        raise ValueError(f"rate {rate!r}: must be more than 0")
    return value


@dataclass
class Counts:
    """What the invocations did. by_version: {executed version: {"ok": n, "error": n}}."""

    by_version: dict[str, dict[str, int]] = field(default_factory=dict)
    failed: int = 0
    failures: list[str] = field(default_factory=list)  # the first few messages of failed invokes
    scheduled: int = 0  # invocations started
    late: int = 0  # started more than 1 s after their slot (the pool was saturated)

    @property
    def ok(self) -> int:
        return sum(v["ok"] for v in self.by_version.values())

    @property
    def errors(self) -> int:
        return sum(v["error"] for v in self.by_version.values())

    @property
    def total(self) -> int:
        """Invocations that ran (ok + errors)."""
        return self.ok + self.errors

    def as_dict(self) -> dict:
        return {"total": self.total, "ok": self.ok, "errors": self.errors, "failed": self.failed,
                "scheduled": self.scheduled, "late": self.late, "by_version": self.by_version,
                "failures": self.failures}


class Traffic:
    def __init__(self, function: str, qualifier: str | None = None, rate="10/s", endpoint: str | None = None,
                 payload: bytes | str | dict = b"{}", workers: int | None = None, region: str = "us-east-1"):
        self.function = function
        self.qualifier = qualifier
        self.rate = parse_rate(rate)
        self.endpoint = endpoint or os.environ.get("SHIFTER_ENDPOINT", "http://127.0.0.1:5555")
        if isinstance(payload, dict):
            payload = json.dumps(payload)
        self.payload = payload.encode() if isinstance(payload, str) else payload
        self.workers = workers or max(4, min(64, math.ceil(self.rate * 2)))
        self.region = region
        self._counts = Counts()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._client = None

    def _lambda(self):
        if self._client is None:
            import boto3
            import botocore.config

            self._client = boto3.client(
                "lambda", endpoint_url=self.endpoint, region_name=self.region, aws_access_key_id="testing",
                aws_secret_access_key="testing",
                config=botocore.config.Config(retries={"total_max_attempts": 1, "mode": "standard"},
                                              max_pool_connections=self.workers, read_timeout=900))
        return self._client

    def _invoke_once(self):
        kwargs = {"FunctionName": self.function, "Payload": self.payload}
        if self.qualifier:
            kwargs["Qualifier"] = self.qualifier
        try:
            out = self._lambda().invoke(**kwargs)
            out["Payload"].read()
        except Exception as exc:  # noqa: BLE001 - counted, not raised: the generator keeps going
            with self._lock:
                self._counts.failed += 1
                if len(self._counts.failures) < 10:
                    self._counts.failures.append(repr(exc))
            return
        version = out["ResponseMetadata"]["HTTPHeaders"].get("x-amz-executed-version", "?")
        outcome = "error" if out.get("FunctionError") else "ok"
        with self._lock:
            self._counts.by_version.setdefault(version, {"ok": 0, "error": 0})[outcome] += 1

    def _schedule(self, seconds: float | None):
        start = time.monotonic()
        i = 0
        while not self._stop.is_set():
            slot = start + i / self.rate
            if seconds is not None and slot - start >= seconds:
                break
            delay = slot - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                break
            with self._lock:
                self._counts.scheduled += 1
                self._counts.late += time.monotonic() - slot > 1.0
            self._pool.submit(self._invoke_once)
            i += 1

    def start(self, seconds: float | None = None) -> Traffic:
        """Start in the background, for `seconds` or until stop()."""
        if self._thread:
            raise RuntimeError("already started")
        self._lambda()  # build the client here, not concurrently in the workers
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="traffic")
        self._thread = threading.Thread(target=self._schedule, args=(seconds,), daemon=True, name="traffic")
        self._thread.start()
        return self

    def wait(self) -> Counts:
        """Until a timed run ends and its invocations have finished."""
        if self._thread:
            self._thread.join()
            self._pool.shutdown(wait=True)
        return self.counts()

    def stop(self) -> Counts:
        """Start no more invocations; wait for the running ones; the counts."""
        self._stop.set()
        return self.wait()

    def run(self, seconds: float) -> Counts:
        return self.start(seconds).wait()

    def counts(self) -> Counts:
        with self._lock:
            c = self._counts
            return Counts({v: dict(n) for v, n in c.by_version.items()}, c.failed, list(c.failures), c.scheduled,
                          c.late)

    def __enter__(self) -> Traffic:
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="invoke a Lambda function at a steady rate through the harness")
    p.add_argument("--endpoint", default=os.environ.get("SHIFTER_ENDPOINT", "http://127.0.0.1:5555"))
    p.add_argument("--function", required=True)
    p.add_argument("--qualifier", default=None, help="alias or version (default: unqualified)")
    p.add_argument("--rate", default="10/s", help="N, N/s or N/min (default 10/s)")
    p.add_argument("--seconds", type=float, default=None, help="how long (default: until interrupted)")
    p.add_argument("--payload", default="{}", help="JSON payload of every invoke")
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--json", action="store_true", help="print the counts as JSON")
    args = p.parse_args(argv)
    traffic = Traffic(args.function, args.qualifier, args.rate, args.endpoint, args.payload, args.workers)
    started = time.monotonic()
    traffic.start(args.seconds)
    try:
        counts = traffic.wait()
    except KeyboardInterrupt:
        counts = traffic.stop()
    elapsed = time.monotonic() - started
    if args.json:
        print(json.dumps(dict(counts.as_dict(), seconds=round(elapsed, 3))))
    else:
        print(f"{counts.total} invocations in {elapsed:.1f}s ({counts.ok} ok, {counts.errors} function errors, "
              f"{counts.failed} failed invokes, {counts.late} late)")
        for version, n in sorted(counts.by_version.items()):
            print(f"  version {version}: {n['ok']} ok, {n['error']} errors")
        for failure in counts.failures:
            print(f"  failed: {failure}")
    return 0 if counts.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
