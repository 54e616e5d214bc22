"""An alarm that goes to ALARM and back to OK between two health checks must still roll the canary back.

The alarm flickers ~1.5 s after the traffic shift, well before the next check, so a check that only reads the alarm's
current state sees OK every time and promotes. A correct engine sees in DescribeAlarms that the alarm's
StateTransitionedTimestamp is after its previous check, reads its DescribeAlarmHistory, finds the change to ALARM and
rolls back. moto has neither: the harness proxy keeps the history (tests/harness/alarm_history.py, checked by
test_harness_alarm_history.py).

These tests need the engine change that reads the alarm history; with an engine that reads only StateValue they fail
(the rollout promotes)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import threading
import time

import pytest

import stack_local
from aws_local import alias_state, client_env, cloudwatch_cbor, routing_history as history

SHIFTER = os.environ.get("SHIFTER_BIN", os.path.join(os.path.dirname(__file__), "..", "..", "target", "debug", "shifter"))
APP = "sample-orders"  # a workspace binary, like in the other rollout tests
FLICKER_AFTER_S = 1.5  # after the shift: long after the check before it, long before the next one
ALARM_FOR_S = 0.5


def shifter(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, **client_env())
    return subprocess.run([SHIFTER, *args], env=env, capture_output=True, text=True, timeout=timeout)


def events_of(result: subprocess.CompletedProcess) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]  # --output json


@pytest.fixture
def app(sample_app):
    _, alias, old, new = sample_app
    return alias, old, new


class Flicker(threading.Thread):
    """Once the alias is weighted (the first shift, as the proxy recorded it), waits FLICKER_AFTER_S, sets the alarm
    to ALARM, and ALARM_FOR_S later back to OK. Records when, so the test can check the flicker fell between two
    checks."""

    def __init__(self, harness, cloudwatch, alias: str, alarm: str):
        super().__init__(daemon=True)
        self.harness, self.cloudwatch, self.alias, self.alarm = harness, cloudwatch, alias, alarm
        self.shifted_at = self.fired_at = self.recovered_at = None

    def run(self):
        deadline = time.time() + 60
        while self.shifted_at is None and time.time() < deadline:
            weighted = [h for h in self.harness.alias_history(APP, self.alias) if h["additionalVersionWeights"]]
            self.shifted_at = weighted[0]["at"] if weighted else None
            time.sleep(0.05)
        if self.shifted_at is None:
            return
        time.sleep(max(0.0, self.shifted_at + FLICKER_AFTER_S - time.time()))
        self.set("ALARM", "test: canary errors")
        self.fired_at = time.time()
        time.sleep(ALARM_FOR_S)
        self.set("OK", "test: errors stopped")
        self.recovered_at = time.time()

    def set(self, value: str, reason: str):
        self.cloudwatch.set_alarm_state(AlarmName=self.alarm, StateValue=value, StateReason=reason)

    def check_fell_between_checks(self, next_check_after_s: float):
        """The test proves something only if the alarm was back to OK before the check after the shift."""
        assert self.shifted_at is not None, "the alias was never weighted"
        assert self.recovered_at is not None, "the flicker did not finish"
        assert self.recovered_at - self.shifted_at < next_check_after_s - 1, (
            f"flicker too late ({self.recovered_at - self.shifted_at:.1f} s after the shift) to fall between checks")

    def check_history_shows_it(self):
        """What a correct engine reads, asked the way the Rust SDK asks (CBOR): a precondition of the test, so that
        a failure below it is the engine's, not the harness's."""
        since = dt.datetime.fromtimestamp(self.shifted_at, dt.timezone.utc)
        status, _, body = cloudwatch_cbor("DescribeAlarmHistory", {
            "AlarmName": self.alarm, "AlarmTypes": ["MetricAlarm", "CompositeAlarm"], "HistoryItemType": "StateUpdate",
            "StartDate": since, "EndDate": dt.datetime.now(dt.timezone.utc), "ScanBy": "TimestampDescending",
            "MaxRecords": 100})
        assert status == 200, body
        new_states = [json.loads(i["HistoryData"])["newState"]["stateValue"] for i in body["AlarmHistoryItems"]]
        assert new_states == ["OK", "ALARM"], body


def test_local_rollout_rolls_back_on_an_alarm_that_flickered_between_two_checks(app, make_alarm, cloudwatch,
                                                                                  lambda_client, harness):
    alias, old, new = app
    alarm = make_alarm(function=APP, alias=alias)
    flicker = Flicker(harness, cloudwatch, alias, alarm)
    flicker.start()
    # Checks: one before the shift, then 5 s and 8 s after it. The alarm is OK at every one of them.
    r = shifter("deploy", "--local", "--function", APP, "--alias", alias, "--version", new,
                "--strategy", '{"type":"canary","percent":20,"bakeSeconds":8}', "--alarm", alarm,
                "--check-interval", "5", "--output", "json")
    flicker.join(5)
    flicker.check_fell_between_checks(next_check_after_s=5)
    flicker.check_history_shows_it()
    assert r.returncode == 1, f"expected a rollback (exit 1), got exit {r.returncode}:\n{r.stdout}\n{r.stderr}"
    assert alias_state(lambda_client, APP, alias) == (old, {})
    assert history(harness, APP, alias) == [(old, {}), (old, {new: 0.2}), (old, {})]
    last = events_of(r)[-1]
    assert last["eventType"] == "RolledBack" and alarm in last["reason"], last


def test_state_machine_rolls_back_on_an_alarm_that_flickered_during_the_bake(state_machine, app, make_alarm, sfn,
                                                                              cloudwatch, lambda_client, harness,
                                                                              unique):
    alias, old, new = app
    alarm = make_alarm(function=APP, alias=alias)
    flicker = Flicker(harness, cloudwatch, alias, alarm)
    flicker.start()
    # Alarms are read when the bake (a 6 s Wait) ends: the alarm is OK by then.
    request = {"functionName": APP, "alias": alias, "targetVersion": new, "alarms": [alarm],
               "strategy": {"type": "canary", "percent": 20, "bakeSeconds": 6}}
    rollout_id = unique("flicker")
    execution = sfn.start_execution(stateMachineArn=state_machine.state_machine_arn, name=rollout_id,
                                    input=json.dumps(request))["executionArn"]
    desc = stack_local.wait(sfn, execution, timeout=90)
    flicker.join(5)
    flicker.check_fell_between_checks(next_check_after_s=6)
    flicker.check_history_shows_it()
    assert desc["status"] == "FAILED", f"expected a rollback, got {desc['status']}: {desc.get('output')}"
    assert desc["error"] == "RolledBack" and alarm in desc["cause"], desc
    assert alias_state(lambda_client, APP, alias) == (old, {})
    assert history(harness, APP, alias) == [(old, {}), (old, {new: 0.2}), (old, {})]
