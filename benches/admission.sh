#!/usr/bin/env bash
# Admission webhook latency under load: `vigil admission serve` over TLS on loopback with
# the 20 Gatekeeper templates of crates/vigil-kube/tests/fixtures/gatekeeper (one
# constraint each) plus Pod Security baseline, driven by wrk (Debian) at ~500 requests/s
# with AdmissionReviews of pods and deployments, some allowed and some denied: 10
# connections, each waiting a random, exponentially distributed gap (mean 19 ms) between
# requests, so arrivals are Poisson as from many independent clients (a fixed pause keeps
# the 10 connections in lock-step, bursts of 10 at once every 20 ms). RUNS paced runs
# (default 5) of SECS seconds (default 30); reports each run's rate and latency
# percentiles and the median p99, then one unpaced run (the throughput ceiling).
set -euo pipefail
cd "$(dirname "$0")/.."
# regorus builds errors as it evaluates; with RUST_BACKTRACE set each one captures a
# backtrace (a fifth of the CPU time). Production pods do not set it; neither does this.
unset RUST_BACKTRACE RUST_LIB_BACKTRACE
out=$(realpath -m "${BENCH_OUT:-target/bench/admission}")
secs=${SECS:-30}
rm -rf "$out" && mkdir -p "$out/policies"
command -v wrk >/dev/null || apt-get install -y -q wrk >/dev/null
python3 -c "import yaml" 2>/dev/null || apt-get install -y -q python3-yaml >/dev/null
cargo build --release -q -p vigil
vigil=$PWD/target/release/vigil

# TLS: a CA and a certificate for 127.0.0.1.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=bench-ca \
    -keyout "$out/ca.key" -out "$out/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
    -keyout "$out/tls.key" -out "$out/tls.csr" 2>/dev/null
openssl x509 -req -in "$out/tls.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial \
    -days 2 -extfile <(echo "subjectAltName=IP:127.0.0.1") -out "$out/tls.crt" 2>/dev/null

# The policies: every template with the constraint of its first sample.
lib=crates/vigil-kube/tests/fixtures/gatekeeper
n=0
for t in "$lib"/*/template.yaml; do
    name=$(basename "$(dirname "$t")")
    c=$(ls "$lib/$name"/samples/*/constraint.yaml | head -1)
    { cat "$t"; echo "---"; cat "$c"; } >"$out/policies/$name.yaml"
    n=$((n + 1))
done
echo "templates: $n"

# The requests: AdmissionReviews of the samples' own objects (allowed and disallowed).
python3 - "$lib" "$out/reviews" <<'PY'
import glob, json, os, sys, uuid
import yaml  # Debian's python3-yaml
lib, dest = sys.argv[1], sys.argv[2]
os.makedirs(dest, exist_ok=True)
n = 0
for path in sorted(glob.glob(f"{lib}/*/samples/*/example_*.yaml")):
    for obj in yaml.safe_load_all(open(path)):
        if not isinstance(obj, dict) or "kind" not in obj:
            continue
        api = obj.get("apiVersion", "v1")
        group, version = (api.split("/", 1) if "/" in api else ("", api))
        meta = obj.get("metadata", {})
        review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
            "uid": str(uuid.uuid4()),
            "kind": {"group": group, "version": version, "kind": obj["kind"]},
            "resource": {"group": group, "version": version, "resource": obj["kind"].lower() + "s"},
            "name": meta.get("name", ""), "namespace": meta.get("namespace", "default"),
            "operation": "CREATE", "userInfo": {"username": "bench", "groups": ["system:authenticated"]},
            "object": obj, "oldObject": None, "dryRun": False}}
        json.dump(review, open(f"{dest}/{n:03}.json", "w"))
        n += 1
print(f"reviews: {n}")
PY
cat >"$out/reviews.lua" <<LUA
local bodies = {}
for f in io.popen("ls $out/reviews/*.json"):lines() do
  local h = io.open(f); bodies[#bodies + 1] = h:read("*a"); h:close()
end
local i = 0
local mean = tonumber(os.getenv("MEAN_GAP_MS") or "0")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
init = function() math.randomseed(os.time() + math.floor(os.clock() * 1e6)) end
request = function()
  i = i % #bodies + 1
  return wrk.format(nil, "/validate", nil, bodies[i])
end
-- Exponential gaps: each connection a Poisson process, their sum one too.
delay = function()
  if mean == 0 then return 0 end
  return math.floor(-mean * math.log(1 - math.random()) + 0.5)
end
LUA

"$vigil" admission serve --listen 127.0.0.1:0 --tls-cert "$out/tls.crt" --tls-key "$out/tls.key" \
    --policy "$out/policies" --pod-security baseline 2>"$out/serve.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q "listening on" "$out/serve.log" && break; sleep 0.1; done
url=$(sed -n 's/^vigil: listening on //p' "$out/serve.log")
grep -q "not loaded" "$out/serve.log" && { cat "$out/serve.log"; exit 1; }
curl -sf --cacert "$out/ca.crt" "${url}metrics" | grep '^vigil_admission_policies '

runs=${RUNS:-5}
p99s=()
for run in $(seq "$runs"); do
    echo "--- paced run $run/$runs: 10 connections, exponential gaps of mean 19 ms (~500 requests/s), ${secs}s"
    MEAN_GAP_MS=19 wrk -t2 -c10 -d"${secs}s" --latency -s "$out/reviews.lua" "${url}validate" \
        | tee "$out/paced-$run.txt" | grep -E "^ +(50|90|99)%|Requests/sec"
    p99s+=("$(awk '$1 == "99%" { v = $2; if (v ~ /ms$/) { sub(/ms/, "", v) } else if (v ~ /us$/) { sub(/us/, "", v); v /= 1000 } else if (v ~ /s$/) { sub(/s/, "", v); v *= 1000 }; print v }' "$out/paced-$run.txt")")
done
printf '%s\n' "${p99s[@]}" | sort -g | awk '{ a[NR] = $1 } END { printf "paced p99 per run (ms, sorted): "; for (i = 1; i <= NR; i++) printf "%s ", a[i]; printf "\nmedian paced p99: %s ms\n", a[int((NR + 1) / 2)] }'
echo "--- server-side time per request (body read to answer), paced runs"
curl -sf --cacert "$out/ca.crt" "${url}metrics" | grep -E '^vigil_admission_request_duration_seconds_(bucket|count)'
echo "--- unpaced (throughput ceiling): 10 connections, ${secs}s"
MEAN_GAP_MS=0 wrk -t2 -c10 -d"${secs}s" --latency -s "$out/reviews.lua" "${url}validate" | tee "$out/unpaced.txt"
curl -sf --cacert "$out/ca.crt" "${url}metrics" | grep -E 'decision=|policy_failures' | head -20
