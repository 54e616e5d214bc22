#!/usr/bin/env bash
# Seeds every target's corpus (fuzz/corpus/<target>, not committed) from the repository's events/: requests,
# state-machine inputs, EventBridge and CloudFormation events. Every JSON file seeds every target: each is
# some other parser's near miss. The hook reply target reads its first byte as the FunctionError selector,
# so its seeds get a leading 0 (no FunctionError), plus a few replies as hooks send them.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
events="$here/../events"
targets=(rollout_request state hook_reply alarm_event rollout_requested custom_resource plan analysis_settings)
for t in "${targets[@]}"; do
  mkdir -p "$here/corpus/$t"
done
n=0
while IFS= read -r -d '' f; do
  name="events-$(echo "${f#"$events"/}" | tr '/' '_')"
  for t in "${targets[@]}"; do
    if [ "$t" = hook_reply ]; then
      { printf '\0'; cat "$f"; } > "$here/corpus/$t/$name"
    else
      cp "$f" "$here/corpus/$t/$name"
    fi
  done
  n=$((n + 1))
done < <(find "$events" -name '*.json' -type f -print0 | sort -z)
printf '\0{"status":"Succeeded"}' > "$here/corpus/hook_reply/succeeded"
printf '\0{"status":"Failed","reason":"smoke test: 2 of 40 checks failed"}' > "$here/corpus/hook_reply/failed"
printf '\x80{"errorType":"Runtime.ExitError","errorMessage":"RequestId: 1 Error: Runtime exited"}' > "$here/corpus/hook_reply/unhandled"
printf '\xf0\x0cSandbox.Timedout{"errorMessage":"Task timed out after 3.00 seconds"}' > "$here/corpus/hook_reply/timeout"
echo "seeded ${#targets[@]} corpora from $n files under events/"
