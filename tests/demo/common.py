"""What both halves of the demo share: printing, the alias as one line, the alarm that fires mid-bake, and
the SNS messages."""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))

FUNCTION = "sample-orders"


def banner(text):
    print(f"\n=== {text} " + "=" * max(0, 70 - len(text)), flush=True)


def alias_line(lam, alias):
    a = lam.get_alias(FunctionName=FUNCTION, Name=alias)
    weights = (a.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
    extra = "".join(f" + v{v} {w * 100:g}%" for v, w in weights.items())
    return f"{FUNCTION}:{alias} -> v{a['FunctionVersion']}{extra}"


def fire_alarm_once_weighted(lam, cw, alias, alarm, delay, prefix=""):
    """Starts a thread that waits until the canary really takes traffic, waits `delay` seconds more, and sets
    the alarm to ALARM."""

    def fire():
        deadline = time.time() + 60
        while time.time() < deadline:
            routing = lam.get_alias(FunctionName=FUNCTION, Name=alias).get("RoutingConfig") or {}
            if routing.get("AdditionalVersionWeights"):
                time.sleep(delay)
                print(f"{prefix}>>> demo: setting {alarm} to ALARM (alias: {alias_line(lam, alias)})", flush=True)
                cw.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="demo: errors on the canary")
                thread.fired_at = time.monotonic()
                return
            time.sleep(0.2)

    thread = threading.Thread(target=fire, daemon=True)
    thread.fired_at = None
    thread.start()
    return thread


def print_notifications(queue):
    for n in queue.drain():
        body = n["Message"]
        print(f"{n['MessageAttributes'].get('eventType', '?'):17} weight {body.get('weightPercent', 0):>5}%  "
              f"v{body.get('currentVersion')}->v{body.get('targetVersion')}  "
              + (body.get('reason') or '').replace("\n", "\n" + " " * 43))
