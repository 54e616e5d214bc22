"""The demo's canary-analysis rollout: no alarm at all. A new version of sample-orders that fails 10% of its
invocations (SAMPLE_FAIL_PERCENT=10, in that version's own environment) goes out on a 30% canary while the
traffic generator invokes the alias 15 times a second; at the end of the bake the analysis compares the two
versions' per-version Lambda metrics (read with GetMetricData) and rolls back, printing its evidence."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from common import FUNCTION, alias_line, banner  # noqa: E402
from traffic import Traffic  # noqa: E402

ANALYSIS = '{"minInvocations": 30, "latency": null}'


def run(lam, env, alias, topic_arn, deploy):
    """Publishes the bad version, rolls it out with analysis under traffic, and checks the rollback. Returns the
    version the alias must be back on."""
    baseline = lam.get_alias(FunctionName=FUNCTION, Name=alias)["FunctionVersion"]
    banner("rollout 3: no alarm; canary analysis judges a version that fails 10% -> expect rollback")
    try:
        lam.update_function_configuration(FunctionName=FUNCTION,
                                          Environment={"Variables": {"SAMPLE_FAIL_PERCENT": "10"}})
        bad = lam.publish_version(FunctionName=FUNCTION)["Version"]
    finally:
        lam.update_function_configuration(FunctionName=FUNCTION, Environment={"Variables": {}})
    lam.invoke(FunctionName=FUNCTION, Qualifier=bad, Payload=b"{}")  # warm its process
    print(f"published v{bad} with SAMPLE_FAIL_PERCENT=10; v{baseline} fails none", flush=True)
    print(f">>> demo: invoking {FUNCTION}:{alias} 15 times a second while the rollout runs", flush=True)
    with Traffic(FUNCTION, alias, rate="15/s", endpoint=env["AWS_ENDPOINT_URL"], workers=1) as traffic:
        code = deploy(env, "--function", FUNCTION, "--alias", alias, "--version", bad,
                      "--strategy", '{"type":"canary","percent":30,"bakeSeconds":20}',
                      "--analysis", ANALYSIS, "--topic", topic_arn, "--check-interval", "2")
    counts = traffic.counts()
    seen = ", ".join(f"v{v}: {c['ok']} ok, {c['error']} failed" for v, c in sorted(counts.by_version.items()))
    final = alias_line(lam, alias)
    print(f"traffic: {seen}", flush=True)
    print(f"exit code {code}; now {final}", flush=True)
    if code != 1 or not final.endswith(f"-> v{baseline}"):
        sys.exit(f"demo: expected the analysis to roll back to v{baseline} with exit 1, got exit {code} and {final}")
    return baseline
