"""Step Functions execution status change events, and StopExecution of a waiting execution, as on AWS.

moto 5.2.5 emits no "Step Functions Execution Status Change" events, and its StopExecution does not end an
execution waiting in a callback Task (`.waitForTaskToken`): it marks the program stopped, but the execution stays
RUNNING until the token is answered or times out (measured, docs/local-aws.md). AWS ends it ABORTED at once.

What the proxy does (`Executions`, every Step Functions call goes through it):
- StartExecution that succeeds: the execution is tracked; a poller (DescribeExecution on moto's own port every
  POLL_S) emits the RUNNING event, then one event when its status leaves RUNNING.
- StopExecution of a RUNNING execution that succeeds in moto: the execution counts as ABORTED from then on, with
  the stopDate StopExecution answers (moto answers `{}`; the proxy adds the stopDate AWS gives), and the ABORTED
  event is emitted at once, as AWS would.
  If moto's execution waits in a callback Task, the harness answers that Task's token with SendTaskFailure
  (error HARNESS_ABORT_ERROR) on moto's own port, so that moto's engine unwinds. moto evaluates nothing after a
  stop (every state, Retry and Catch is pruned once the program is stopped: checked in moto's
  asl/component/eval_component.py, and measured: no Catch, no Rollback ran), so the execution can no longer act;
  moto then records it FAILED with that error. Failing the token is what makes moto finish; answering it with
  SendTaskSuccess would do the same, but a stopped execution's token must not look like a success anywhere.
- Reads are answered as AWS would for such an execution: DescribeExecution says ABORTED with StopExecution's
  stopDate, error and cause; ListExecutions shows it ABORTED (and filters by that status); GetExecutionHistory
  shows the events recorded up to the stop, then ExecutionAborted (with StopExecution's error and cause), and
  none of what moto records while it unwinds (a TaskFailed, its ExecutionFailed). Its later FAILED status emits
  no event.
"""

from __future__ import annotations

import json
import threading
import time
import traceback

import boto3
import botocore.config
import botocore.exceptions

import aws_events

POLL_S = 0.2
HARNESS_ABORT_ERROR = "Harness.ExecutionStopped"  # never seen by clients: see the module docstring
TARGET = "AWSStepFunctions"
PATCHED = {"StartExecution", "StopExecution", "DescribeExecution", "ListExecutions", "GetExecutionHistory"}
CALLBACK_SUFFIX = ".waitForTaskToken"
TASK_ENDED = {"TaskSucceeded", "TaskFailed", "TaskTimedOut", "TaskAborted"}


class Executions:
    def __init__(self, moto_url: str, emit):
        """`emit(event)` puts an aws_events-built event on the bus (event_delivery.EventBus.emit)."""
        self._emit = emit
        cfg = botocore.config.Config(retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=30)
        self._sfn = boto3.client("stepfunctions", endpoint_url=moto_url, region_name="us-east-1",
                                 aws_access_key_id="testing", aws_secret_access_key="testing", config=cfg)
        self._tracked: dict[str, bool] = {}  # executionArn -> RUNNING event emitted
        self._aborted: dict[str, dict] = {}  # executionArn -> {stopDate (epoch s), error, cause}
        self._lock = threading.Lock()
        threading.Thread(target=self._poll, name="executions", daemon=True).start()

    def handles(self, call) -> bool:
        return call.protocol == "json" and call.target == TARGET and call.operation in PATCHED

    def reset(self):
        with self._lock:
            self._tracked.clear()
            self._aborted.clear()

    def aborted(self) -> dict:
        with self._lock:
            return {arn: dict(a) for arn, a in self._aborted.items()}

    # ---------------------------------------------------------------- proxy hook
    def handle(self, call, body: bytes, forward) -> tuple[int, list, bytes]:
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return forward()
        if call.operation == "StopExecution":
            return self._stop(request, forward)
        status, headers, data = forward()
        if not 200 <= status < 300:
            return status, headers, data
        try:
            doc = json.loads(data)
        except ValueError:
            return status, headers, data
        if call.operation == "StartExecution":
            with self._lock:
                self._tracked.setdefault(doc["executionArn"], False)
            return status, headers, data
        if call.operation == "DescribeExecution":
            doc = self._describe_answer(doc)
        elif call.operation == "ListExecutions":
            doc = self._list_answer(request, doc)
        else:
            doc = self._history_answer(request, doc)
        return status, [(k, v) for k, v in headers if k.lower() != "content-length"], json.dumps(doc).encode()

    def _stop(self, request: dict, forward):
        arn = request.get("executionArn")
        with self._lock:
            already = arn in self._aborted
        try:
            before = None if already else self._sfn.describe_execution(executionArn=arn)
        except botocore.exceptions.ClientError:
            before = None  # moto answers the StopExecution with its own error
        status, headers, data = forward()
        if not (200 <= status < 300) or before is None or before["status"] != "RUNNING":
            return status, headers, data
        stop_date = json.loads(data or b"{}").get("stopDate")
        if stop_date is None:  # moto answers {}; AWS answers the stopDate
            stop_date = round(time.time(), 3)
            data = json.dumps({"stopDate": stop_date}).encode()
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        events = self._history(arn)  # what happened up to the stop: AWS's history ends here, with ExecutionAborted
        aborted = {"stopDate": stop_date, "error": request.get("error"), "cause": request.get("cause"),
                   "lastEventId": events[-1]["id"] if events else 0}
        with self._lock:
            self._aborted[arn] = aborted
            self._tracked.pop(arn, None)
        desc = {k: before.get(k) for k in ("executionArn", "stateMachineArn", "name", "startDate", "input")}
        stop_ms = aws_events.epoch_ms(stop_date)
        self._emit_safely(aws_events.execution_status_change(desc, "ABORTED", stop_ms, aborted["error"],
                                                             aborted["cause"]))
        self._unwind(arn, events)
        return status, headers, data

    def _unwind(self, arn: str, events: list[dict], wait_s: float = 3.0):
        """If moto's execution waits in a callback Task, fail its token so that moto finishes it (no state runs)."""
        token = open_callback_token(events)
        if token is None:
            return
        try:
            self._sfn.send_task_failure(taskToken=token, error=HARNESS_ABORT_ERROR,
                                        cause="StopExecution (answered by the test harness: moto keeps a stopped "
                                              "execution waiting on its task token)")
        except botocore.exceptions.ClientError:
            return  # already answered or timed out
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if self._sfn.describe_execution(executionArn=arn)["status"] != "RUNNING":
                return
            time.sleep(0.02)

    def _history(self, arn: str) -> list[dict]:
        events, token = [], None
        while True:
            page = self._sfn.get_execution_history(executionArn=arn, maxResults=1000,
                                                   **({"nextToken": token} if token else {}))
            events += page["events"]
            token = page.get("nextToken")
            if not token:
                return events

    # ---------------------------------------------------------------- answers
    def _describe_answer(self, doc: dict) -> dict:
        with self._lock:
            aborted = self._aborted.get(doc.get("executionArn"))
        if aborted is None:
            return doc
        for key in ("output", "outputDetails", "error", "cause"):
            doc.pop(key, None)
        doc.update(status="ABORTED", stopDate=aborted["stopDate"])
        for key in ("error", "cause"):
            if aborted[key] is not None:
                doc[key] = aborted[key]
        return doc

    def _list_answer(self, request: dict, doc: dict) -> dict:
        wanted = request.get("statusFilter")
        with self._lock:
            aborted = dict(self._aborted)
        items = []
        for item in doc.get("executions", []):
            if item["executionArn"] in aborted:
                item = dict(item, status="ABORTED", stopDate=aborted[item["executionArn"]]["stopDate"])
            if wanted is None or item["status"] == wanted:
                items.append(item)
        if wanted == "ABORTED" and not request.get("nextToken"):
            machine = request.get("stateMachineArn")
            listed = {i["executionArn"] for i in items}
            for arn, a in aborted.items():
                if arn not in listed and machine and arn.split(":")[6] == machine.split(":")[6]:
                    try:
                        d = self._sfn.describe_execution(executionArn=arn)
                    except botocore.exceptions.ClientError:
                        continue
                    items.append({k: d[k] for k in ("executionArn", "stateMachineArn", "name")}
                                 | {"status": "ABORTED", "startDate": aws_events.epoch_ms(d["startDate"]) / 1000,
                                    "stopDate": a["stopDate"]})
            items.sort(key=lambda i: i["startDate"], reverse=True)
        doc["executions"] = items
        return doc

    def _history_answer(self, request: dict, doc: dict) -> dict:
        """The events up to the stop, then ExecutionAborted (what moto records while it unwinds is dropped)."""
        with self._lock:
            aborted = self._aborted.get(request.get("executionArn"))
        if aborted is None:
            return doc
        last = aborted["lastEventId"]
        details = {k: aborted[k] for k in ("error", "cause") if aborted[k] is not None}
        end = {"timestamp": aborted["stopDate"], "type": "ExecutionAborted", "id": last + 1, "previousEventId": last,
               "executionAbortedEventDetails": details}
        events = doc.get("events", [])
        out = [e if e["id"] <= last else end for e in events if e["id"] <= last + 1]
        if not any(e["id"] > last for e in events):  # moto has not recorded its unwinding (yet)
            if request.get("reverseOrder") and not request.get("nextToken"):
                out.insert(0, end)  # the first page of a reverse read starts with the newest event
            elif not request.get("reverseOrder") and "nextToken" not in doc:
                out.append(end)
        doc["events"] = out
        return doc

    # ---------------------------------------------------------------- status change events
    def _poll(self):
        while True:
            time.sleep(POLL_S)
            with self._lock:
                tracked = dict(self._tracked)
            for arn, announced in tracked.items():
                try:
                    desc = self._sfn.describe_execution(executionArn=arn)
                except botocore.exceptions.ClientError:
                    with self._lock:
                        self._tracked.pop(arn, None)  # gone (a reset)
                    continue
                except Exception:  # noqa: BLE001 - moto busy or restarting: next round
                    continue
                with self._lock:
                    if arn not in self._tracked:
                        continue  # stopped by the harness meanwhile: its ABORTED event is out
                    if desc["status"] != "RUNNING":
                        self._tracked.pop(arn)
                    else:
                        self._tracked[arn] = True
                if not announced:
                    self._emit_safely(aws_events.execution_status_change(desc, "RUNNING"))
                if desc["status"] != "RUNNING":
                    self._emit_safely(aws_events.execution_status_change(desc))

    def _emit_safely(self, event: dict):
        try:
            self._emit(event)
        except Exception:  # noqa: BLE001 - an event lost must not take the proxy down; it is in the log
            traceback.print_exc()


def open_callback_token(events: list[dict]) -> str | None:
    """The task token of the callback Task the execution waits in, from its history (moto shows the token in the
    TaskScheduled parameters), or None when it is not waiting in one."""
    token = None
    for event in events:
        if event["type"] == "TaskScheduled":
            details = event.get("taskScheduledEventDetails") or {}
            token = None
            if details.get("resource", "").endswith(CALLBACK_SUFFIX):
                token = find_token(json.loads(details.get("parameters") or "{}"))
        elif event["type"] in TASK_ENDED or event["type"].endswith("StateExited"):
            token = None
    return token


def find_token(params) -> str | None:
    """The value the ASL put at `$$.Task.Token`: the first `token`/`taskToken`/`TaskToken` key, at any depth."""
    if isinstance(params, dict):
        for key, value in params.items():
            if key.lower() in ("token", "tasktoken") and isinstance(value, str):
                return value
        for value in params.values():
            found = find_token(value)
            if found:
                return found
    return None
