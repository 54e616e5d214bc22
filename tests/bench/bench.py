#!/usr/bin/env python3
"""shifter benchmarks: Lambda package sizes, process start-up, and the engine's CPU time per step.

    .venv/bin/python tests/bench/bench.py [--write docs/benchmarks.md] [--skip-build] [--runs 50]
                                         [--rollouts 2000] [--only sizes,startup,engine,analysis,scale]

1. sizes    every Lambda binary of the workspace (bin targets except the `shifter` CLI, found with
            `cargo metadata`), built with `cargo lambda build --release --arm64 --output-format zip`:
            zip size and unzipped bootstrap size. `--skip-build` reuses target/lambda/*/bootstrap.zip.
2. startup  the x86_64 release `example-hook-smoke` started --runs times against a local runtime-API stub:
            exec -> first `GET /2018-06-01/runtime/invocation/next` (handler ready), and peak RSS.
3. engine   `cargo run --release -p shifter-core --example engine_bench`: LocalDriver over the in-memory fakes.
6. analysis `cargo run --release -p shifter-core --example analysis_bench`: canary analysis, time to a verdict
            at 10, 100 and 1,000 invocations a minute (simulated), GetMetricData calls per check, CPU per judge.
            (4 and 5 are copied in from docs/transitions.md and docs/alarm-latency.md.)
7. scale    `cargo test -p shifter-contract-tests --test scale`: 1,000 rollouts through the ASL over the real
            handlers on the fake's 15/s control plane, simulated time: failures, calls per step, lateness.

Prints plain-text tables; `--write PATH` also writes them as Markdown with the machine, date, commit and
command. Standard library only (cargo-lambda comes from the venv's bin directory). Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.server
import json
import math
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
CLI_BIN = "shifter"
STARTUP_BIN = "example-hook-smoke"
ARM64_TARGET = "aarch64-unknown-linux-gnu"
NEXT_PATH = "/2018-06-01/runtime/invocation/next"
MB = 1_000_000  # sizes are in MB of 10^6 bytes


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str], env: dict | None = None, capture: bool = False) -> subprocess.CompletedProcess:
    log("$ " + shlex.join(cmd))
    return subprocess.run(cmd, cwd=ROOT, env=env, text=True, check=False,
                          stdout=subprocess.PIPE if capture else None,
                          stderr=subprocess.PIPE if capture else None)


def output(cmd: list[str], env: dict | None = None) -> str:
    try:
        r = subprocess.run(cmd, cwd=ROOT, env=env, text=True, capture_output=True, check=False)
    except OSError as e:
        return f"unavailable ({e})"
    return (r.stdout.strip() or r.stderr.strip()) if r.returncode == 0 else f"unavailable (exit {r.returncode})"


def tool_env() -> dict:
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("CARGO_TERM_COLOR", "never")
    return env


class BenchError(Exception):
    pass


# ---- machine ---------------------------------------------------------------------------------------------

def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                kib = int(line.split()[1])
                mem = f"{kib / 1024 / 1024:.1f} GiB"
                break
    except (OSError, ValueError):
        pass
    commit = output(["git", "rev-parse", "HEAD"])
    dirty = output(["git", "status", "--porcelain", "--untracked-files=normal"])
    changed = len([line for line in dirty.splitlines() if line.strip()]) if not dirty.startswith("unavailable") else 0
    env = tool_env()
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory": mem,
        "kernel": platform.release(),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
        "dirty_paths": changed,
        "rustc": output(["rustc", "--version"], env),
        "cargo_lambda": output(["cargo", "lambda", "--version"], env),
        "python": platform.python_version(),
    }


def command_line() -> str:
    exe_s = os.path.relpath(os.path.abspath(sys.executable), ROOT)
    if exe_s.startswith(".."):
        exe_s = sys.executable
    script = os.path.relpath(Path(__file__).resolve(), ROOT)
    return shlex.join([exe_s, script, *sys.argv[1:]])


# ---- 1. sizes --------------------------------------------------------------------------------------------

def cargo_metadata() -> dict:
    r = run(["cargo", "metadata", "--no-deps", "--format-version", "1"], env=tool_env(), capture=True)
    if r.returncode != 0:
        raise BenchError(f"cargo metadata failed:\n{r.stderr}")
    return json.loads(r.stdout)


def lambda_bins(meta: dict) -> list[str]:
    members = set(meta.get("workspace_members", []))
    names = []
    for pkg in meta["packages"]:
        if members and pkg["id"] not in members:
            continue
        for t in pkg["targets"]:
            if "bin" in t["kind"] and t["name"] != CLI_BIN:
                names.append(t["name"])
    return sorted(set(names))


def ensure_arm64_target(env: dict) -> None:
    installed = output(["rustup", "target", "list", "--installed"], env)
    if ARM64_TARGET in installed.split():
        return
    r = run(["rustup", "target", "add", ARM64_TARGET], env=env)
    if r.returncode != 0:
        raise BenchError(f"rustup target add {ARM64_TARGET} failed")


def elf_machine(head: bytes) -> str:
    if head[:4] != b"\x7fELF" or len(head) < 20:
        return "not ELF"
    little = head[5] == 1
    machine = int.from_bytes(head[18:20], "little" if little else "big")
    return {0xB7: "arm64", 0x3E: "x86_64"}.get(machine, f"e_machine={machine:#x}")


@dataclass
class SizeRow:
    name: str
    zip_bytes: int | None = None
    bootstrap_bytes: int | None = None
    arch: str = ""
    error: str = ""


def read_zip(path: Path, name: str) -> SizeRow:
    if not path.is_file():
        return SizeRow(name, error=f"no {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    with zipfile.ZipFile(path) as z:
        infos = [i for i in z.infolist() if i.filename.rsplit("/", 1)[-1] == "bootstrap"]
        if not infos:
            return SizeRow(name, zip_bytes=path.stat().st_size, error="no bootstrap in the zip")
        info = infos[0]
        with z.open(info) as f:
            head = f.read(20)
    return SizeRow(name, zip_bytes=path.stat().st_size, bootstrap_bytes=info.file_size, arch=elf_machine(head))


@dataclass
class Sizes:
    rows: list[SizeRow]
    build_seconds: float | None
    build_command: str
    notes: list[str] = field(default_factory=list)


def bench_sizes(meta: dict, skip_build: bool) -> Sizes:
    names = lambda_bins(meta)
    if not names:
        raise BenchError("no Lambda binaries found in the workspace")
    target_dir = Path(meta["target_directory"])
    lambda_dir = target_dir / "lambda"
    env = tool_env()
    cmd = ["cargo", "lambda", "build", "--release", "--arm64", "--output-format", "zip"]
    for n in names:
        cmd += ["--bin", n]
    notes: list[str] = []
    seconds = None
    failed: dict[str, str] = {}
    if skip_build:
        notes.append("--skip-build: sizes read from existing target/lambda/*/bootstrap.zip")
    else:
        if shutil.which("cargo-lambda", path=env["PATH"]) is None:
            raise BenchError("cargo-lambda not found: run `make venv` first")
        ensure_arm64_target(env)
        t0 = time.monotonic()
        r = run(cmd, env=env)
        seconds = time.monotonic() - t0
        if r.returncode != 0:
            log("the combined build failed: building each function alone to find the failing ones")
            for n in names:
                one = ["cargo", "lambda", "build", "--release", "--arm64", "--output-format", "zip", "--bin", n]
                r1 = run(one, env=env, capture=True)
                if r1.returncode != 0:
                    lines = (r1.stderr or "").strip().splitlines()
                    errors = [line for line in lines if line.startswith("error")]
                    failed[n] = (errors or lines or ["?"])[0]
                    log(f"{n}: build failed:\n" + "\n".join(lines[-30:]))
            seconds = time.monotonic() - t0
    rows = []
    for n in names:
        if n in failed:
            rows.append(SizeRow(n, error=f"build failed: {failed[n]}"))
            continue
        row = read_zip(lambda_dir / n / "bootstrap.zip", n)
        if not row.error and row.arch != "arm64":
            row.error = f"bootstrap is {row.arch}, not arm64 (an x86_64 build wrote the same path): rebuild"
        rows.append(row)
    return Sizes(rows, seconds, shlex.join(cmd), notes)


# ---- 2. start-up -----------------------------------------------------------------------------------------

class RuntimeStub(http.server.ThreadingHTTPServer):
    """A Lambda runtime API that never hands out an event: it records when the first `GET .../next` arrives
    and holds that request open until the client goes away."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), StubHandler)
        self.lock = threading.Lock()
        self.generation = 0
        self.ready_ns: int | None = None
        self.ready = threading.Event()
        self.other: list[str] = []

    def arm(self) -> int:
        with self.lock:
            self.generation += 1
            self.ready_ns = None
            self.other = []
            self.ready.clear()
            return self.generation


class StubHandler(http.server.BaseHTTPRequestHandler):
    disable_nagle_algorithm = True  # TCP_NODELAY on every accepted socket
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def do_GET(self):  # noqa: N802
        now = time.monotonic_ns()
        srv: RuntimeStub = self.server  # type: ignore[assignment]
        if self.path == NEXT_PATH:
            with srv.lock:
                if srv.ready_ns is None:
                    srv.ready_ns = now
                    srv.ready.set()
            # Hold the long poll until the client is killed (EOF) or a minute passes.
            self.connection.settimeout(60)
            try:
                while self.rfile.read1(65536):
                    pass
            except OSError:
                pass
            self.close_connection = True
            return
        with srv.lock:
            srv.other.append(f"GET {self.path}")
        self.send_error(404)

    def do_POST(self):  # noqa: N802
        srv: RuntimeStub = self.server  # type: ignore[assignment]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with srv.lock:
            srv.other.append(f"POST {self.path} {body[:300].decode('utf-8', 'replace')}")
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()


def child_env(port: int) -> dict:
    """What Lambda gives a function, and nothing from this shell: fake credentials, no config files, an
    endpoint that is never reached (start-up makes no AWS call)."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "TZ": ":UTC",
        "LANG": "C.UTF-8",
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
        "AWS_LAMBDA_FUNCTION_NAME": STARTUP_BIN,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "1",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{STARTUP_BIN}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIABENCHFAKE000000",
        "AWS_SECRET_ACCESS_KEY": "bench-fake-secret",
        "AWS_SESSION_TOKEN": "bench-fake-token",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": "/nonexistent/shifter-bench/config",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/shifter-bench/credentials",
    }


def vm_hwm_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


@dataclass
class Startup:
    runs: int
    warmup: int
    ready_ms: list[float]
    hwm_kib: list[int]
    maxrss_kib: list[int]
    binary_bytes: int
    parent_rss_kib: int


def percentile(values: list[float], p: float) -> float:
    s = sorted(values)
    k = max(0, math.ceil(p / 100 * len(s)) - 1)
    return s[k]


def start_once(binary: Path, stub: RuntimeStub, env: dict, errlog) -> tuple[float, int | None, int]:
    stub.arm()
    errlog.seek(0)
    errlog.truncate()
    t0 = time.monotonic_ns()
    proc = subprocess.Popen([str(binary)], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=errlog, close_fds=True)
    pid = proc.pid
    try:
        deadline = time.monotonic() + 20
        while not stub.ready.wait(0.005):
            if proc.poll() is not None:
                errlog.seek(0)
                raise BenchError(f"{binary.name} exited with {proc.returncode} before asking for an event; "
                                 f"stub saw {stub.other}; stderr:\n{errlog.read()[-2000:]}")
            if time.monotonic() > deadline:
                raise BenchError(f"{binary.name} did not ask for an event within 20 s; stub saw {stub.other}")
        ready_ns = stub.ready_ns
        if stub.other:
            raise BenchError(f"{binary.name} made other runtime-API calls at start: {stub.other}")
        hwm = vm_hwm_kib(pid)
    finally:
        if proc.returncode is None:
            os.kill(pid, signal.SIGKILL)
            _, status, rusage = os.wait4(pid, 0)
            proc.returncode = -signal.SIGKILL  # reaped here: keep Popen from waiting again
        else:
            rusage = None
    assert ready_ns is not None
    return (ready_ns - t0) / 1e6, hwm, (rusage.ru_maxrss if rusage else 0)


def bench_startup(meta: dict, runs: int, warmup: int) -> Startup:
    r = run(["cargo", "build", "--release", "--bin", STARTUP_BIN], env=tool_env())
    if r.returncode != 0:
        raise BenchError(f"cargo build --release --bin {STARTUP_BIN} failed")
    binary = Path(meta["target_directory"]) / "release" / STARTUP_BIN
    if not binary.is_file():
        raise BenchError(f"no {binary}")
    stub = RuntimeStub()
    port = stub.server_address[1]
    server = threading.Thread(target=stub.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    server.start()
    env = child_env(port)
    ready, hwm, maxrss = [], [], []
    log(f"starting {binary.name} {warmup} + {runs} times against the runtime-API stub on 127.0.0.1:{port}")
    try:
        with tempfile.TemporaryFile("w+") as errlog:
            for i in range(warmup + runs):
                ms, h, m = start_once(binary, stub, env, errlog)
                if i >= warmup:
                    ready.append(ms)
                    maxrss.append(m)
                    if h is not None:
                        hwm.append(h)
    finally:
        stub.shutdown()
        stub.server_close()
    import resource
    parent = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return Startup(runs, warmup, ready, hwm, maxrss, binary.stat().st_size, parent)


# ---- 3. engine -------------------------------------------------------------------------------------------

@dataclass
class Engine:
    rows: list[dict]
    header: list[str]
    command: str


def bench_engine(rollouts: int) -> Engine:
    cmd = ["cargo", "run", "--release", "-p", "shifter-core", "--example", "engine_bench", "--",
           "--rollouts", str(rollouts)]
    r = run(cmd, env=tool_env(), capture=True)
    if r.returncode != 0:
        raise BenchError(f"engine_bench failed:\n{r.stderr[-3000:]}")
    rows, header = [], []
    for line in r.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            rows.append(json.loads(line))
        elif line.startswith("#"):
            header.append(line.lstrip("# "))
    if not rows:
        raise BenchError(f"engine_bench printed no results:\n{r.stdout}")
    return Engine(rows, header, shlex.join(cmd))


# ---- 6. canary analysis ----------------------------------------------------------------------------------

@dataclass
class Analysis:
    rollouts: list[dict]
    judges: list[dict]
    header: list[str]
    command: str


def bench_analysis(iterations: int) -> Analysis:
    cmd = ["cargo", "run", "--release", "-p", "shifter-core", "--example", "analysis_bench", "--",
           "--judge-iterations", str(iterations)]
    r = run(cmd, env=tool_env(), capture=True)
    if r.returncode != 0:
        raise BenchError(f"analysis_bench failed:\n{r.stderr[-3000:]}")
    rollouts, judges, header = [], [], []
    for line in r.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            row = json.loads(line)
            (rollouts if row.get("kind") == "rollout" else judges).append(row)
        elif line.startswith("#"):
            header.append(line.lstrip("# "))
    if not rollouts or not judges:
        raise BenchError(f"analysis_bench printed no results:\n{r.stdout}")
    bad = [f"{x['scenario']} {x['traffic_per_minute']}/min {x['canary']}: {x['get_metric_data_calls']} "
           f"GetMetricData calls for {x['analyses']} analyses" for x in rollouts
           if x["get_metric_data_calls"] != x["analyses"]]
    if bad:
        raise BenchError("not one GetMetricData call per analysis:\n" + "\n".join(bad))
    return Analysis(rollouts, judges, header, shlex.join(cmd))


def analysis_table(a: Analysis) -> tuple[list[str], list[list[str]]]:
    head = ["scenario", "alias inv/min", "canary", "traffic at the first step (per minute)", "first verdict",
            "shift -> verdict s", "window s", "v2/v1 invocations judged", "analyses (inconclusive)",
            "GetMetricData per analysis", "rollout", "rollout s"]
    rows = []
    for r in a.rollouts:
        inv = r.get("first_verdict_invocations") or {}
        rows.append([r["scenario"], str(r["traffic_per_minute"]), r["canary"], r["first_split"],
                     r.get("first_verdict") or "none",
                     "-" if r.get("seconds_shift_to_first_verdict") is None else str(r["seconds_shift_to_first_verdict"]),
                     "-" if r.get("first_verdict_window_seconds") is None else str(r["first_verdict_window_seconds"]),
                     f"{inv.get('new', '-')}/{inv.get('old', '-')}",
                     f"{r['analyses']} ({r['inconclusive']})",
                     fmt(r["get_metric_data_per_analysis"]), r["outcome"], str(r["seconds_rollout"])])
    return head, rows


def judge_table(a: Analysis, us: str = "us") -> tuple[list[str], list[list[str]]]:
    head = ["case", "checks", "verdict", "calls", f"thread CPU {us}/call", f"wall {us}/call"]
    rows = [[j["case"], str(j["checks"]), j["outcome"], str(j["iterations"]),
             fmt(None if j.get("thread_cpu_ns_per_call") is None else j["thread_cpu_ns_per_call"] / 1000),
             fmt(j["wall_ns_per_call"] / 1000)] for j in a.judges]
    return head, rows


LAMBDA_METRICS_DOC = "https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics.html"
GET_METRIC_DATA_DOC = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html"


def analysis_md(a: Analysis) -> str:
    out = ["", "## 6. Canary analysis: time to a verdict, GetMetricData calls, CPU per judgement", "",
           f"```\n{a.command}\n```", "",
           "`shared/examples/analysis_bench.rs` runs whole rollouts of the `LocalDriver` over `FakeAws` + "
           "`FakeClock` (simulated time: sleeps return at once) with `\"analysis\": \"default\"` (min 100 "
           "invocations per version, 95% confidence, error rate at most +1 point, p99 at most ×1.25, no "
           "throttles, `whenInconclusive: extend` up to 600 s in 60 s chunks) and no alarm, except the "
           "`intervalSeconds 60` rows, which add `{\"intervalSeconds\": 60}`. The alias gets `alias inv/min` "
           "invocations a minute, split by its weight: v2 (new) round(rate × weight), v1 (old) the rest, "
           "re-scripted on the fake at every traffic shift (the `traffic at the first step` column shows the "
           "split at the first weight). The fake sums whole minutes of a window, so errors are whole numbers "
           "a minute too, round(invocations × rate): v1 fails 0.5%, a good v2 0.5%, a bad v2 10% (at 10 "
           "invocations a minute that rounds to no error at all; at 100, v1's 0.45 a minute rounds to 0). "
           "Both versions have a p99 of 120 ms.", "",
           md_table(*analysis_table(a)), "",
           "- **GetMetricData calls per check: 1.** Every analysis made exactly one call (the benchmark fails "
           "otherwise): one request carries Invocations, Errors, Throttles and the Duration statistic for both "
           "versions (and any custom metrics). A check without an analysis (the alarm checks in between, the "
           "100% step) makes none.",
           "- `shift -> verdict` is simulated time from the first traffic shift to the first analysis that let "
           "the rollout go on or stopped it (the first step's weight for every row here). `Inconclusive → "
           "passed (extension used up)`: fewer than 100 invocations of a version even after the 600 s "
           "extension, and `whenInconclusive: extend` then passes; a bad canary at 10 invocations a minute is "
           "not caught by the analysis (set `whenInconclusive: fail`, a lower `minInvocations`, or keep an "
           "alarm). The window grows with each extension (it starts at the shift), so at 100 a minute and a "
           "10% canary the 100th v2 invocation arrives after 10 minutes.",
           "- `linear` is `Linear10PercentEvery1Minute`: every weighted step (10% … 90%) is judged, and each "
           "needs 100 invocations of *both* versions, so at 90% v1's share is what runs out; `analyses` and "
           "`rollout s` are the whole rollout's. `intervalSeconds 60` judges every minute of the bake, so a bad "
           "canary with enough traffic fails after the first minute instead of at the end of the 5-minute "
           "bake.",
           f"- **Real time to a verdict is later than these figures.** They exclude CloudWatch's delay: Lambda "
           f"\"sends metric data to CloudWatch in 1-minute intervals\" ([AWS Lambda Developer Guide, Using "
           f"CloudWatch metrics with Lambda]({LAMBDA_METRICS_DOC})), and GetMetricData rounds a recent "
           f"`StartTime` down to the minute ([API reference]({GET_METRIC_DATA_DOC})), so the last minute or "
           "more of a window may not be in CloudWatch yet when the analysis reads it. The simulation counts "
           "every invocation of the window as present at once. On AWS, expect the invocations counted at a "
           "check to lag the traffic by at least the minute being aggregated (the pages cited give no figure "
           "for the delay), which at low traffic can cost one more extension chunk.",
           "",
           "CPU time of one `judge` call (`shared/src/analysis/judge.rs`: the error-rate z-test with statrs' "
           "normal CDF, the latency ratio, throttles, custom metrics, and the evidence strings), in a loop on "
           "one thread:", "",
           md_table(*judge_table(a, "µs")), "",
           "`thread CPU` is from /proc/thread-self/schedstat over the whole loop, divided by the calls. A "
           "judgement costs microseconds, negligible next to the GetMetricData round trip it follows.", ""]
    out += [f"- {h}" for h in a.header]
    return "\n".join(out) + "\n"


# ---- tables ----------------------------------------------------------------------------------------------

def mb(n: int | float | None) -> str:
    return "-" if n is None else f"{n / MB:.2f}"


def fmt(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def size_table(s: Sizes) -> tuple[list[str], list[list[str]]]:
    head = ["function", "zip MB", "bootstrap MB", "arch", "note"]
    rows = [[r.name, mb(r.zip_bytes), mb(r.bootstrap_bytes), r.arch or "-", r.error] for r in s.rows]
    return head, rows


def startup_table(s: Startup) -> tuple[list[str], list[list[str]]]:
    head = ["binary", "runs", "ready median ms", "ready p90 ms", "ready min ms", "ready max ms",
            "peak RSS max MB", "peak RSS median MB"]
    hwm = [k * 1024 for k in s.hwm_kib]
    row = [STARTUP_BIN + " (x86_64)", str(s.runs), fmt(statistics.median(s.ready_ms)),
           fmt(percentile(s.ready_ms, 90)), fmt(min(s.ready_ms)), fmt(max(s.ready_ms)),
           mb(max(hwm)) if hwm else "-", mb(statistics.median(hwm)) if hwm else "-"]
    return head, [row]


def engine_table(e: Engine, us: str = "us") -> tuple[list[str], list[list[str]]]:
    head = ["plan", "steps", "rollouts", f"wall {us}/step", f"thread CPU {us}/step", f"process CPU {us}/step",
            f"wall {us}/rollout", "port calls/rollout"]
    rows = []
    for r in e.rows:
        calls = r.get("calls_per_rollout", {})
        rows.append([r["plan"], str(r["steps"]), str(r["rollouts"]), fmt(r.get("wall_us_per_step")),
                     fmt(r.get("thread_cpu_us_per_step")), fmt(r.get("process_cpu_us_per_step")),
                     fmt(r.get("wall_us_per_rollout"), 1), str(sum(calls.values()))])
    return head, rows


def text_table(head: list[str], rows: list[list[str]]) -> str:
    cols = [head, *rows]
    widths = [max(len(c[i]) for c in cols) for i in range(len(head))]
    right = [i > 0 and all(_numeric(r[i]) for r in rows) for i in range(len(head))]

    def line(cells):
        return "  ".join((c.rjust(w) if right[i] else c.ljust(w)) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return "\n".join([line(head), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def md_table(head: list[str], rows: list[list[str]]) -> str:
    right = [i > 0 and all(_numeric(r[i]) for r in rows) for i in range(len(head))]
    sep = ["---:" if r else "---" for r in right]
    esc = lambda c: c.replace("|", "\\|")  # noqa: E731
    out = ["| " + " | ".join(head) + " |", "| " + " | ".join(sep) + " |"]
    out += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def _numeric(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return s == "-"


# ---- report ----------------------------------------------------------------------------------------------

def report_text(m: dict, sizes: Sizes | None, startup: Startup | None, engine: Engine | None,
                analysis: Analysis | None = None) -> str:
    moved = m.get("commit_end") and m["commit_end"] != m["commit"]
    parts = [f"shifter benchmarks  {m['date']}  commit {m['commit'][:12]}"
             f"{' (+%d uncommitted paths)' % m['dirty_paths'] if m['dirty_paths'] else ''}"
             f"{' -> ' + m['commit_end'][:12] + ' at the end' if moved else ''}",
             f"machine: {m['nproc']} CPUs, {m['cpu']}, {m['memory']} RAM, Linux {m['kernel']}; {m['rustc']}"]
    if sizes:
        parts += ["", "1. Lambda packages (cargo lambda build --release --arm64 --output-format zip; MB = 10^6 bytes)",
                  text_table(*size_table(sizes))]
        if sizes.build_seconds is not None:
            parts.append(f"build took {sizes.build_seconds:.0f} s")
    if startup:
        parts += ["", "2. Start-up: exec -> first GET /runtime/invocation/next; peak RSS = VmHWM at that point",
                  text_table(*startup_table(startup)),
                  f"(wait4 ru_maxrss max {mb(max(startup.maxrss_kib) * 1024)} MB: includes the forking Python "
                  f"parent's RSS, {mb(startup.parent_rss_kib * 1024)} MB, so it is not used)"]
    if engine:
        parts += ["", "3. Engine CPU per plan step (LocalDriver over FakeAws + FakeClock, one thread)",
                  text_table(*engine_table(engine))]
    if analysis:
        parts += ["", "6. Canary analysis, \"analysis\": \"default\" (simulated time; excludes CloudWatch's "
                  "metric delay)", text_table(*analysis_table(analysis)),
                  "", "6b. CPU time of one judge call", text_table(*judge_table(analysis))]
    return "\n".join(parts)


def report_md(m: dict, cmd: str, sizes: Sizes | None, startup: Startup | None, engine: Engine | None) -> str:
    n = m["dirty_paths"]
    dirty = f" (the working tree had {n} uncommitted or untracked path{'s' if n != 1 else ''})" if n else ""
    if m.get("commit_end") and m["commit_end"] != m["commit"]:
        dirty += (f"; HEAD moved to `{m['commit_end']}` while the benchmark ran (parallel work), so later "
                  "sections may have built newer sources")
    out = [
        "# Benchmarks",
        "",
        "Generated by `tests/bench/bench.py` (`make bench`); do not edit by hand, re-run it.",
        "",
        f"- Command: `{cmd}`",
        f"- Date: {m['date']}",
        f"- Commit: `{m['commit']}`{dirty}",
        f"- Machine: {m['nproc']} CPUs (`nproc`), {m['cpu']} (/proc/cpuinfo), {m['memory']} RAM, Linux {m['kernel']}",
        f"- Toolchain: {m['rustc']}; {m['cargo_lambda']}; Python {m['python']}",
        "- Sizes are in MB of 10^6 bytes. Other builds may have been running on the machine at the same time.",
    ]
    if sizes:
        out += ["", "## 1. Lambda package sizes (arm64)", "",
                f"Every Lambda binary of the workspace (bin targets except the `{CLI_BIN}` CLI, from "
                f"`cargo metadata`), built with the workspace release profile (opt-level \"s\", fat LTO, "
                f"codegen-units 1, strip, panic unwind):", "",
                f"```\n{sizes.build_command}\n```", "",
                md_table(*size_table(sizes)), "",
                "`zip MB` is target/lambda/NAME/bootstrap.zip (what is uploaded; Lambda's limit is 50 MB zipped "
                "for a direct upload); `bootstrap MB` is the unzipped binary (limit 250 MB unzipped)."]
        if sizes.build_seconds is not None:
            out.append(f"The build took {sizes.build_seconds:.0f} s (incremental: dependencies may have been "
                       "built before).")
        out += [f"- {n}" for n in sizes.notes]
    if startup:
        s = startup
        out += ["", "## 2. Start-up to handler-ready, and peak memory", "",
                f"The x86_64 release build of `{STARTUP_BIN}` (`cargo build --release --bin {STARTUP_BIN}`, "
                f"{mb(s.binary_bytes)} MB) loads the AWS config and builds an `aws-sdk-lambda` client before "
                f"entering the runtime loop, like shifter's own functions. It was started {s.runs} times "
                f"(after {s.warmup} warm-up starts) against a runtime-API stub (Python http.server on 127.0.0.1, "
                "TCP_NODELAY). Handler-ready is the moment the stub receives the first "
                f"`GET {NEXT_PATH}`, measured from just before `subprocess.Popen`; it includes Python's "
                "fork/exec. The child then gets SIGKILL.", "",
                "Environment: `AWS_LAMBDA_RUNTIME_API`, `AWS_LAMBDA_FUNCTION_NAME`, "
                "`AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128`, `AWS_LAMBDA_FUNCTION_VERSION=1`, `AWS_REGION=us-east-1`, "
                "fake static credentials, `AWS_ENDPOINT_URL=http://127.0.0.1:1` (never contacted), no AWS "
                "config files, IMDS disabled.", "",
                md_table(*startup_table(s)), "",
                "Peak RSS is the child's `VmHWM` (/proc/PID/status) read at handler-ready, just before the kill: "
                "the process is idle in the long poll by then. The `ru_maxrss` that `os.wait4` returns is not "
                "used: Linux keeps the pre-exec high-water mark across `execve`, so it reports at least the "
                f"forking Python process's RSS (here up to {mb(max(s.maxrss_kib) * 1024)} MB; the Python parent "
                f"peaked at {mb(s.parent_rss_kib * 1024)} MB).", "",
                "A real Lambda cold start adds the sandbox and the download of the package, which this does not "
                "measure; the figure is the binary's own init cost on this machine."]
    if engine:
        out += ["", "## 3. Engine CPU time per step", "",
                f"```\n{engine.command}\n```", "",
                "`shared/examples/engine_bench.rs` runs the `LocalDriver` over `FakeAws` + `FakeClock` (sleeps "
                "return at once) on a current-thread tokio runtime, so the figure is shifter's own code plus the "
                "in-memory fake, with no I/O. Each rollout has a pre- and a post-traffic hook, two alarms and an "
                "SNS topic; every weighted step bakes 60 s (simulated), so with the 10 s check interval a step "
                "is one alias read and write, six alarm reads, a notification, and the progress callbacks. "
                "`linear-10` is `Linear10PercentEvery1Minute` (9 weighted steps + 100%); `steps-100` is a custom "
                "plan 1%, 2%, ... 99%, 100% (the 100-step maximum). The fake worlds are built before the timed "
                "loop.", "",
                md_table(*engine_table(engine, "µs")), "",
                "`thread CPU` is the thread's CPU time from /proc/thread-self/schedstat (in ns, but the kernel "
                "brings it up to date only at scheduler ticks, so each end may be a few ms behind); "
                "`process CPU` is utime+stime from /proc/self/stat, in 10 ms ticks. Both are only as precise as "
                "the total over all rollouts allows (a total of a few hundred ms is good to a few %); `wall` on "
                "the single thread also counts time the thread was preempted. The per-rollout fixed cost (prepare, "
                "hooks, start and end notifications) is spread over the steps, which is why the 10-step plan "
                "costs more per step. Either way the engine's own time is negligible next to an AWS API call "
                "(tens of milliseconds).", ""]
        calls = [f"- `{r['plan']}` port calls per rollout: " +
                 ", ".join(f"{k} {v}" for k, v in r.get("calls_per_rollout", {}).items()) for r in engine.rows]
        calls += [f"- `{r['plan']}` Lambda control-plane calls (GetAlias, UpdateAlias, GetFunction, "
                  f"GetFunctionConfiguration): {r.get('control_plane_calls_per_rollout', '?')} per rollout; "
                  f"per step, {r.get('alias_writes_per_step', 0):.2f} UpdateAlias and "
                  f"{r.get('alias_reads_per_step', 0):.2f} GetAlias" for r in engine.rows]
        out += calls
        out += [f"- {h}" for h in engine.header]
    return "\n".join(out) + "\n"


# ---- 7. scale: 1,000 rollouts on Lambda's control-plane budget (simulated) ---------------------------------

def bench_scale() -> str:
    """tests/contract/tests/scale.rs: 1,000 rollouts through the ASL interpreter over the real handlers, the
    fake's 15/s control plane, simulated time. The test prints its table (and asserts the goal); this keeps it."""
    cmd = ["cargo", "test", "-p", "shifter-contract-tests", "--test", "scale", "--", "--nocapture"]
    r = run(cmd, env=tool_env(), capture=True)
    if r.returncode != 0:
        raise BenchError(f"the scale simulation failed:\n{(r.stdout + r.stderr)[-3000:]}")
    lines = r.stdout.splitlines()
    start = next((i for i, l in enumerate(lines) if "rollouts of `" in l), None)
    if start is None:
        raise BenchError(f"the scale simulation printed no table:\n{r.stdout[-3000:]}")
    table = []
    for line in lines[start:]:
        if line.startswith("test ") or line.startswith("running "):
            break
        table.append(line)
    return "\n".join(table).strip() + "\n"


def scale_md(table: str) -> str:
    return ("\n## 7. Scale: 1,000 rollouts on Lambda's control-plane budget\n\n"
            "`cargo test -p shifter-contract-tests --test scale -- --nocapture` (simulated time: tokio's paused "
            "clock; the fake's control plane admits 15 requests a second). docs/reliability.md explains the "
            "Retry settings these figures chose.\n\n" + table)


def transitions_section() -> str:
    """Step Functions transitions per rollout, measured from real execution histories by
    tests/bench/transitions.py (`make bench-transitions`: it needs the local stack and real Waits, about 9
    minutes, so it keeps its own file and is copied in here)."""
    src = ROOT / "docs" / "transitions.md"
    if not src.exists():
        return "\n## 4. State transitions per rollout\n\nNot measured yet: run `make bench-transitions`.\n"
    body = src.read_text().split("\n", 1)[1].lstrip("\n")
    return ("\n## 4. State transitions per rollout\n\nFrom `docs/transitions.md`, written by "
            "`make bench-transitions` (`tests/bench/transitions.py --write docs/transitions.md`).\n\n" + body)


def latency_section() -> str:
    """Alarm state change -> alias restored, both modes, measured on the local stack by
    tests/bench/alarm_latency.py (`make bench-latency`, which `make bench` runs first; it keeps its own file)."""
    src = ROOT / "docs" / "alarm-latency.md"
    if not src.exists():
        return "\n## 5. Alarm state change to alias restored\n\nNot measured yet: run `make bench-latency`.\n"
    body = src.read_text().split("\n", 1)[1].lstrip("\n")
    return ("\n## 5. Alarm state change to alias restored\n\nFrom `docs/alarm-latency.md`, written by "
            "`make bench-latency` (`tests/bench/alarm_latency.py --write docs/alarm-latency.md`).\n\n" + body)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", metavar="PATH", help="also write the Markdown report to PATH")
    ap.add_argument("--skip-build", action="store_true",
                    help="reuse target/lambda/*/bootstrap.zip instead of running cargo lambda build")
    ap.add_argument("--runs", type=int, default=50, help="start-up runs (default 50)")
    ap.add_argument("--warmup", type=int, default=3, help="start-up warm-up runs, not counted (default 3)")
    ap.add_argument("--rollouts", type=int, default=2000, help="engine rollouts per plan (default 2000)")
    ap.add_argument("--judge-iterations", type=int, default=300_000,
                    help="judge calls timed per case in the analysis benchmark (default 300000)")
    ap.add_argument("--only", default="sizes,startup,engine,analysis,scale",
                    help="comma-separated subset of sizes,startup,engine,analysis,scale (default: all)")
    args = ap.parse_args()
    parts = {p.strip() for p in args.only.split(",") if p.strip()}
    unknown = parts - {"sizes", "startup", "engine", "analysis", "scale"}
    if unknown or args.runs < 1 or args.rollouts < 1 or args.warmup < 0 or args.judge_iterations < 1:
        ap.error(f"bad arguments: unknown parts {sorted(unknown)}" if unknown else "counts must be positive")

    m = machine()
    meta = cargo_metadata()
    sizes = startup = engine = analysis = scale = None
    failures = []
    try:
        if "sizes" in parts:
            sizes = bench_sizes(meta, args.skip_build)
            failures += [f"{r.name}: {r.error}" for r in sizes.rows if r.error]
        if "startup" in parts:
            startup = bench_startup(meta, args.runs, args.warmup)
        if "engine" in parts:
            engine = bench_engine(args.rollouts)
        if "analysis" in parts:
            analysis = bench_analysis(args.judge_iterations)
        if "scale" in parts:
            scale = bench_scale()
    except BenchError as e:
        failures.append(str(e))

    m["commit_end"] = output(["git", "rev-parse", "HEAD"])
    print(report_text(m, sizes, startup, engine, analysis))
    if scale:
        print("\n7. Scale: 1,000 rollouts on Lambda's control-plane budget (simulated)\n" + scale)
    if failures:
        print("\nFAILED:\n" + "\n".join(failures), file=sys.stderr)
        if args.write:
            print(f"{args.write} not written", file=sys.stderr)
        return 1
    if args.write:
        path = Path(args.write)
        if not path.is_absolute():
            path = ROOT / path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(report_md(m, command_line(), sizes, startup, engine) + transitions_section() + latency_section()
                        + (analysis_md(analysis) if analysis else "") + (scale_md(scale) if scale else ""))
        log(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
