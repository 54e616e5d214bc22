"""Per-version environments: run a version that carries its own environment variables with those variables.

On AWS every published version keeps a snapshot of the function's environment variables, and its invocations run
with them. `cargo lambda watch` serves each binary from one process with one environment, and nothing per invoke
reaches the function's environment: watch sends `Lambda-Runtime-Invoked-Function-Arn: function-arn` whatever was
invoked, and it forwards a client context base64-encoded, which lambda_runtime 1.5 then fails to parse as the JSON
the runtime API promises (so `Context.client_context` never arrives). So the harness starts one more
`cargo lambda watch` per distinct set of variables and routes each invoke to the one matching its executed
version: the version's variables as moto stores them (GetFunctionConfiguration with Qualifier), over the harness's
own (AWS_ENDPOINT_URL, ...). A version without variables runs on the main watch, as before.

The extra watches are children of the proxy (each in a session of its own, like the main watch's functions), so
`harness.py down` stops them with the proxy; their logs are `.local/log/watch-env-<hash>.log`. At most
MAX_INSTANCES run at once: a new one stops the one used least recently first (its processes end, as an idle
sandbox does on AWS).
"""

from __future__ import annotations

import hashlib
import http.client
import socket
import subprocess
import threading
import time
from pathlib import Path

from harness import stop  # SIGTERM (then SIGKILL) to a process, its group and its descendants

MAX_INSTANCES = 8
READY_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_env_list(spec: str) -> dict[str, str]:
    """`K=V,K2=V2` (watch's --env-var syntax) -> dict."""
    out = {}
    for item in filter(None, spec.split(",")):
        key, _, value = item.partition("=")
        out[key] = value
    return out


class VersionEnvironments:
    def __init__(self, lambda_client, workspace: str | None, base_env: dict[str, str], log_dir: str | None,
                 default_port: int):
        self.lambda_client = lambda_client  # () -> boto3 Lambda client on moto's own port
        self.workspace = workspace
        self.base_env = base_env
        self.log_dir = Path(log_dir) if log_dir else None
        self.default_port = default_port
        self._instances: dict[tuple, dict] = {}
        self._lock = threading.Lock()

    def variables(self, function: str, version: str) -> dict[str, str]:
        try:
            config = self.lambda_client().get_function_configuration(FunctionName=function, Qualifier=version)
        except Exception:  # noqa: BLE001 - not registered in moto: run it as before
            return {}
        return (config.get("Environment") or {}).get("Variables") or {}

    def port_for(self, function: str, version: str) -> int:
        """The watch port to run this version of this function on."""
        variables = self.variables(function, version)
        if not variables or self.workspace is None:
            return self.default_port
        env = dict(self.base_env, **variables)
        key = tuple(sorted(env.items()))
        with self._lock:
            inst = self._instances.get(key)
            if inst and inst["proc"].poll() is None:
                inst["used"] = time.monotonic()
                return inst["port"]
            self._instances.pop(key, None)
            while len(self._instances) >= MAX_INSTANCES:
                oldest = min(self._instances, key=lambda k: self._instances[k]["used"])
                stop(self._instances.pop(oldest)["proc"].pid, "cargo lambda watch (version environment)")
            self._instances[key] = inst = self._start(env)
            return inst["port"]

    def _start(self, env: dict[str, str]) -> dict:
        digest = hashlib.sha256(repr(sorted(env.items())).encode()).hexdigest()[:10]
        log_dir = self.log_dir or Path(self.workspace) / ".local" / "log"
        log_dir.mkdir(parents=True, exist_ok=True)
        env_file = log_dir / f"watch-env-{digest}.env"
        env_file.write_text("".join(f"{k}={v}\n" for k, v in sorted(env.items())))
        port = free_port()
        with open(log_dir / f"watch-env-{digest}.log", "wb") as log:
            proc = subprocess.Popen(["cargo", "lambda", "watch", "-A", "127.0.0.1", "-P", str(port),
                                     "--ignore-changes", "--env-file", str(env_file)],
                                    cwd=self.workspace, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                conn.request("GET", "/")
                conn.getresponse().read()
                conn.close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise OSError(f"cargo lambda watch for a version environment did not start; see {log.name}")
        return {"port": port, "proc": proc, "digest": digest, "used": time.monotonic(),
                "variables": {k: v for k, v in env.items() if self.base_env.get(k) != v}}

    def list(self) -> list[dict]:
        with self._lock:
            return [{"port": i["port"], "pid": i["proc"].pid, "running": i["proc"].poll() is None,
                     "log": f"watch-env-{i['digest']}.log", "variables": i["variables"]}
                    for i in self._instances.values()]
