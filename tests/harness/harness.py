#!/usr/bin/env python3
"""Start / stop the offline AWS stack used by the e2e tests (see tests/harness/harness.mk).

  harness.py up     [--workspace DIR] [--port N] [--moto-port N] [--watch-port N] [--no-build]
  harness.py down
  harness.py status

The stack (all on 127.0.0.1):
  moto_server  :MOTO_INTERNAL_PORT  with MOTO_PORT=SHIFTER_PORT, so moto's Step Functions engine calls Lambda/SNS
                                    through the proxy (it uses boto3 at http://localhost:$MOTO_PORT)
  cargo lambda watch :WATCH_PORT    serves every binary of the workspace as a Lambda function
  proxy.py     :SHIFTER_PORT        the endpoint clients use (AWS_ENDPOINT_URL=http://127.0.0.1:SHIFTER_PORT)
State: <root>/.local/run/*.pid, <root>/.local/run/stack.json, logs in <root>/.local/log/*.log.
Every process gets its own session (process group) and is stopped by the PID recorded in its pid file: its
group and its descendants too (cargo lambda watch starts each function binary, in a session of its own, on the
first invoke of that function). Stdlib only, so `down` works without the venv.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
}
# Dropped from the environment so nothing started here can pick up real credentials or endpoints.
REAL_AWS_VARS = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ROLE_ARN",
                 "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN")
MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
# name -> a word that must be in /proc/<pid>/cmdline, so a recycled PID is never signalled.
MARKERS = {"proxy": "proxy.py", "watch": "lambda watch", "moto": "moto_server"}


class Paths:
    def __init__(self, root: Path):
        self.run = root / ".local" / "run"
        self.log = root / ".local" / "log"
        self.stack = self.run / "stack.json"

    def pid(self, name: str) -> Path:
        return self.run / f"{name}.pid"

    def logfile(self, name: str) -> Path:
        return self.log / f"{name}.log"


# ---------------------------------------------------------------- processes
def proc_stat(pid: int) -> list[str] | None:
    """[state, ppid, pgrp, ...] from /proc/<pid>/stat, or None if there is no such process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2:].split()


def alive(pid: int) -> bool:
    # A zombie counts as dead: in this sandbox PID 1 does not reap orphans, so killed processes linger as <defunct>.
    stat = proc_stat(pid)
    return stat is not None and stat[0] not in ("Z", "X")


def all_stats() -> dict[int, list[str]]:
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = proc_stat(int(entry.name))
            if stat and stat[0] not in ("Z", "X"):
                out[int(entry.name)] = stat
    return out


def descendants(pid: int) -> set[int]:
    """Live processes below pid. cargo lambda watch starts each function binary in a session of its own,
    so killing watch's process group does not reach them: they are tracked by parentage instead."""
    children: dict[int, list[int]] = {}
    for child, stat in all_stats().items():
        children.setdefault(int(stat[1]), []).append(child)
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def group_alive(pgid: int) -> bool:
    return any(stat[2] == str(pgid) for stat in all_stats().values())


def recorded_pid(paths: Paths, name: str) -> int | None:
    """The PID from the pid file if that process is alive and is still what we started."""
    try:
        pid = int(paths.pid(name).read_text().strip())
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except (OSError, ValueError):
        return None
    return pid if alive(pid) and MARKERS[name] in cmd else None


def stop(pid: int, name: str):
    """SIGTERM the process (its whole group when it leads one) and every descendant, SIGKILL after 5 s."""
    try:
        leads_group = os.getpgid(pid) == pid
    except ProcessLookupError:
        return
    family = descendants(pid)

    def signal_all(sig):
        targets = [("group", pid)] if leads_group else [("pid", pid)]
        targets += [("pid", p) for p in sorted(family) if alive(p)]
        for kind, target in targets:
            try:
                (os.killpg if kind == "group" else os.kill)(target, sig)
            except ProcessLookupError:
                pass

    def gone():
        return (not alive(pid) and not (leads_group and group_alive(pid))
                and not any(alive(p) for p in family))

    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 2.0)):
        signal_all(sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if gone():
                print(f"stopped {name} (pid {pid}{f', +{len(family)} child processes' if family else ''})")
                return
            time.sleep(0.05)
    print(f"warning: {name} (pid {pid}) or a child of it still running after SIGKILL", file=sys.stderr)


def spawn(paths: Paths, name: str, argv: list[str], env: dict, cwd: Path) -> subprocess.Popen:
    with open(paths.logfile(name), "wb") as log:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    paths.pid(name).write_text(f"{proc.pid}\n")
    return proc


# ---------------------------------------------------------------- readiness
def http_status(port: int, path: str, method: str = "GET", body: bytes | None = None) -> int | None:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method)
    try:
        with urllib.request.urlopen(req, timeout=1.0) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code
    except OSError:
        return None


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def log_tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# The state machine the alias provider starts (SHIFTER_STATE_MACHINE_ARN; in AWS, `!Ref RolloutStateMachine`).
# cargo lambda watch gives every function one environment, so the e2e tests of Custom::ShifterAlias deploy
# their state machine under this name (tests/e2e/test_custom_resource.py).
PROVIDER_STATE_MACHINE_NAME = "shifter-cfn-rollout"
PROVIDER_STATE_MACHINE_ARN = f"arn:aws:states:us-east-1:123456789012:stateMachine:{PROVIDER_STATE_MACHINE_NAME}"

# HookFunctionArnPattern as the stack would pass it to Prepare (SHIFTER_HOOK_FUNCTION_ARN_PATTERN). It applies to
# every test, as every function shares the one environment: it covers the example hooks the e2e tests and the demo
# run (examples/hook-smoke, examples/hook-fail) and nothing else, so that tests/e2e/test_hook_pattern.py and the
# catalogue's state-machine/ cases (tests/e2e/test_bad_input.py) can name a hook outside it.
HOOK_FUNCTION_ARN_PATTERN = "arn:aws:lambda:us-east-1:123456789012:function:example-hook-*"

# The rollout registry the functions use (SHIFTER_TABLE), shaped as template.yaml's RolloutTable.
REGISTRY_TABLE = "shifter-rollouts"
REGISTRY_SCHEMA = {
    "TableName": REGISTRY_TABLE,
    "BillingMode": "PAY_PER_REQUEST",
    "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in
                             (("pk", "S"), ("sk", "S"), ("historyAt", "N"), ("runningPk", "S"), ("runningSk", "S"))],
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "LocalSecondaryIndexes": [{"IndexName": "history", "Projection": {"ProjectionType": "ALL"},
                               "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                             {"AttributeName": "historyAt", "KeyType": "RANGE"}]}],
    "GlobalSecondaryIndexes": [{"IndexName": "running", "Projection": {"ProjectionType": "ALL"},
                                "KeySchema": [{"AttributeName": "runningPk", "KeyType": "HASH"},
                                              {"AttributeName": "runningSk", "KeyType": "RANGE"}]}],
}


def moto_json_call(port: int, service: str, target: str, body: dict) -> tuple[int, bytes]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/", data=json.dumps(body).encode(), method="POST", headers={
        "X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.0",
        # moto routes by the credential scope's service name; it does not check signatures.
        "Authorization": f"AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/{service}/aws4_request, "
                         "SignedHeaders=host, Signature=0"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def create_registry_table(port: int):
    status, body = moto_json_call(port, "dynamodb", "DynamoDB_20120810.CreateTable", REGISTRY_SCHEMA)
    if status != 200 and b"ResourceInUseException" not in body:
        raise StartError(f"CreateTable {REGISTRY_TABLE} failed: HTTP {status} {body[:300]!r}")


def warm_up_moto(port: int):
    """moto imports its Step Functions interpreter (an ANTLR parser, 2-4 s of CPU here) on the first
    Step Functions call; pay that during start-up, with a call that creates nothing."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}/", data=b"{}", method="POST", headers={
        "X-Amz-Target": "AWSStepFunctions.ListStateMachines", "Content-Type": "application/x-amz-json-1.0",
        # moto routes by the credential scope's service name; it does not check signatures.
        "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/states/aws4_request, "
                         "SignedHeaders=host, Signature=0"})
    try:
        urllib.request.urlopen(req, timeout=30).read()
    except OSError:
        pass  # only an optimisation


class StartError(Exception):
    pass


def wait_ready(paths: Paths, name: str, proc: subprocess.Popen, check, deadline: float):
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StartError(f"{name} exited with code {proc.returncode} while starting; see "
                             f"{paths.logfile(name)}:\n{log_tail(paths.logfile(name))}")
        if check():
            return
        time.sleep(0.05)
    raise StartError(f"{name} was not ready in time; see {paths.logfile(name)}:\n{log_tail(paths.logfile(name))}")


# ---------------------------------------------------------------- commands
def workspace_bins(workspace: Path) -> list[str]:
    out = subprocess.run(["cargo", "metadata", "--no-deps", "--format-version", "1"], cwd=workspace,
                         check=True, capture_output=True, text=True).stdout
    meta = json.loads(out)
    return sorted({t["name"] for p in meta["packages"] for t in p["targets"] if "bin" in t["kind"]})


def function_env(endpoint: str) -> str:
    """The environment of every function under cargo lambda watch, as its --env-var list (K=V,K2=V2): the
    emulator's endpoint and region, fake credentials, and what template.yaml gives the functions."""
    return f"AWS_ENDPOINT_URL={endpoint},AWS_REGION=us-east-1,AWS_DEFAULT_REGION=us-east-1," \
           f"AWS_ACCESS_KEY_ID=testing,AWS_SECRET_ACCESS_KEY=testing,SHIFTER_TABLE={REGISTRY_TABLE}," \
           f"SHIFTER_STATE_MACHINE_ARN={PROVIDER_STATE_MACHINE_ARN}," \
           f"SHIFTER_HOOK_FUNCTION_ARN_PATTERN={HOOK_FUNCTION_ARN_PATTERN}"


def child_env(venv: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in REAL_AWS_VARS and not k.startswith("AWS_ENDPOINT_URL")}
    env.update(FAKE_AWS)
    env["AWS_CONFIG_FILE"] = env["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null"
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def cmd_up(args) -> int:
    t0 = time.monotonic()
    paths = Paths(args.root)
    paths.run.mkdir(parents=True, exist_ok=True)
    paths.log.mkdir(parents=True, exist_ok=True)
    workspace = args.workspace.resolve()
    try:
        functions = workspace_bins(workspace)
    except subprocess.CalledProcessError as err:
        print(f"error: cargo metadata failed in {workspace}:\n{err.stderr}", file=sys.stderr)
        return 1
    # The proxy's own source is part of the identity: editing the harness restarts it on the next `up`.
    sources = ("proxy.py", "awsproto.py", "cbor_bridge.py", "alarm_history.py", "alias_revisions.py", "proxy_state.py",
               "aws_events.py", "event_delivery.py", "executions.py", "lambda_metrics.py", "metric_percentiles.py",
               "version_env.py")
    code = hashlib.sha256(b"".join((HERE / f).read_bytes() for f in sources))
    env_vars = function_env(f"http://127.0.0.1:{args.port}")
    wanted = {"port": args.port, "moto_port": args.moto_port, "watch_port": args.watch_port,
              "workspace": str(workspace), "functions": functions, "proxy_code": code.hexdigest()[:16],
              "function_env": env_vars}

    running = {name: recorded_pid(paths, name) for name in MARKERS}
    if any(running.values()):
        try:
            current = json.loads(paths.stack.read_text())
        except (OSError, ValueError):
            current = {}
        same = all(current.get(k) == v for k, v in wanted.items())
        if all(running.values()) and same and http_status(args.port, "/_harness/health") == 200:
            print(f"local stack already up at {current['endpoint']} (pids {running}); `make local-down` to stop")
            return 0
        print("local stack partly up, or started with other settings, binaries or harness code: restarting")
        cmd_down(args)

    busy = [p for p in (args.port, args.moto_port, args.watch_port) if port_in_use(p)]
    if busy:
        print(f"error: port(s) {busy} on 127.0.0.1 already in use by something the harness did not start; "
              f"free them or set SHIFTER_PORT / MOTO_INTERNAL_PORT / WATCH_PORT", file=sys.stderr)
        return 1

    env = child_env(args.venv)
    endpoint = f"http://127.0.0.1:{args.port}"
    procs = {}
    try:
        # moto and the proxy first (moto is ready in < 1 s); moto warms up while cargo builds.
        # moto_server, with SendTaskFailure's cause kept (moto drops it; see moto_server_faithful.py).
        procs["moto"] = spawn(paths, "moto", [str(args.venv / "bin" / "python"), "-u",
                                              str(HERE / "moto_server_faithful.py"), "-H", "127.0.0.1", "-p",
                                              str(args.moto_port)], dict(env, MOTO_PORT=str(args.port)), workspace)
        procs["proxy"] = spawn(paths, "proxy", [str(args.venv / "bin" / "python"), "-u", str(HERE / "proxy.py"),
                                                "--port", str(args.port), "--moto-port", str(args.moto_port),
                                                "--watch-port", str(args.watch_port),
                                                "--functions", ",".join(functions), "--workspace", str(workspace),
                                                "--watch-env", env_vars, "--log-dir", str(paths.log)], env,
                               workspace)
        deadline = time.monotonic() + args.timeout
        wait_ready(paths, "moto", procs["moto"], lambda: http_status(args.moto_port, "/moto-api/config") is not None,
                   deadline)
        # Must precede any Step Functions call: moto picks the executing backend per request from this config.
        # It lives in a module-level dict, so /moto-api/reset does not undo it.
        if http_status(args.moto_port, "/moto-api/config", "POST", json.dumps(MOTO_CONFIG).encode()) not in (200, 201):
            raise StartError(f"POST /moto-api/config failed; see {paths.logfile('moto')}")
        create_registry_table(args.moto_port)
        warmup = threading.Thread(target=warm_up_moto, args=(args.moto_port,), daemon=True)
        warmup.start()
        if not args.no_build:
            # Build first so the first invoke does not compile (watch runs `cargo run --bin NAME` per function).
            tb = time.monotonic()
            with open(paths.logfile("cargo-build"), "wb") as log:
                rc = subprocess.run(["cargo", "build", "--workspace", "--bins"], cwd=workspace, env=env,
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT).returncode
            if rc != 0:
                raise StartError(f"cargo build --workspace --bins failed (exit {rc}); see "
                                 f"{paths.logfile('cargo-build')}:\n{log_tail(paths.logfile('cargo-build'))}")
            print(f"cargo build --workspace --bins: {time.monotonic() - tb:.1f}s")
        deadline = time.monotonic() + args.timeout
        procs["watch"] = spawn(paths, "watch", ["cargo", "lambda", "watch", "-A", "127.0.0.1", "-P",
                                                str(args.watch_port), "--ignore-changes", "--env-var", env_vars],
                               env, workspace)

        wait_ready(paths, "proxy", procs["proxy"], lambda: http_status(args.port, "/_harness/health") == 200,
                   deadline)
        wait_ready(paths, "watch", procs["watch"], lambda: http_status(args.watch_port, "/") is not None, deadline)
        warmup.join(max(0.0, deadline - time.monotonic()))
    except (StartError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        for name in ("watch", "proxy", "moto"):
            if name in procs:
                stop(procs[name].pid, name)
                paths.pid(name).unlink(missing_ok=True)
        return 1

    state = dict(wanted, endpoint=endpoint, pids={n: p.pid for n, p in procs.items()}, started_at=time.time())
    paths.stack.write_text(json.dumps(state, indent=2) + "\n")
    print(f"local stack up in {time.monotonic() - t0:.1f}s: endpoint {endpoint} "
          f"(moto :{args.moto_port}, cargo lambda watch :{args.watch_port}); functions: {', '.join(functions) or '-'}")
    print(f"logs: {paths.log}/{{moto,proxy,watch,cargo-build}}.log")
    return 0


def cmd_down(args) -> int:
    paths = Paths(args.root)
    found = False
    for name in ("proxy", "watch", "moto"):
        pid = recorded_pid(paths, name)
        if pid:
            found = True
            stop(pid, name)
        paths.pid(name).unlink(missing_ok=True)
    paths.stack.unlink(missing_ok=True)
    if not found:
        print("local stack not running")
    return 0


def cmd_status(args) -> int:
    paths = Paths(args.root)
    up = True
    for name in MARKERS:
        pid = recorded_pid(paths, name)
        up &= pid is not None
        print(f"{name:6} {'pid ' + str(pid) if pid else 'not running'}")
    if paths.stack.exists():
        print(paths.stack.read_text().strip())
    return 0 if up else 1


def main(argv=None) -> int:
    env_int = lambda key, default: int(os.environ.get(key) or default)  # noqa: E731
    p = argparse.ArgumentParser(description="offline AWS stack for shifter's e2e tests")
    p.add_argument("command", choices=["up", "down", "status"])
    p.add_argument("--root", type=Path, default=ROOT, help="where .local/ lives (default: the repo root)")
    p.add_argument("--workspace", type=Path, default=None, help="cargo workspace to serve (default: --root)")
    p.add_argument("--venv", type=Path, default=None, help="venv with moto and cargo-lambda (default: ROOT/.venv)")
    p.add_argument("--port", type=int, default=env_int("SHIFTER_PORT", 5555))
    p.add_argument("--moto-port", type=int, default=env_int("MOTO_INTERNAL_PORT", 5556))
    p.add_argument("--watch-port", type=int, default=env_int("WATCH_PORT", 5557))
    p.add_argument("--no-build", action="store_true", help="skip `cargo build --workspace --bins`")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for readiness")
    args = p.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # keep our lines in order with stderr under make
    args.root = args.root.resolve()
    args.workspace = args.workspace or args.root
    args.venv = (args.venv or ROOT / ".venv").absolute()
    return {"up": cmd_up, "down": cmd_down, "status": cmd_status}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
