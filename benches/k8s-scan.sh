#!/usr/bin/env bash
# Posture scan speed: `vigil k8s scan --snapshot` on synthesized 10,000-pod snapshots.
#
#   benches/k8s-scan.sh
#
# benches/k8s-synth.py writes the snapshots in the shapes a real API server returns:
# - 10k.json: 200 namespaces x 10 Deployments x 5 replicas (Deployment -> ReplicaSet ->
#   Pod with ownerReferences, as in a real cluster), Services, Ingresses, RBAC, nodes;
# - 10k-naked.json: the same 10,000 pods without owners, so every pod is a workload of
#   its own (the worst case: 10,000 pod specs checked one by one).
# Reports the hyperfine median of 10 runs (JSON output to a file) and the peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${BENCH_OUT:-target/bench/k8s}
mkdir -p "$out"
command -v hyperfine >/dev/null || apt-get install -y -q hyperfine >/dev/null
cargo build --release -q -p vigil
vigil=$PWD/target/release/vigil
[ -f "$out/10k.json" ] || python3 benches/k8s-synth.py 10000 "$out/10k.json"
[ -f "$out/10k-naked.json" ] || python3 benches/k8s-synth.py 10000 "$out/10k-naked.json" --naked
for snap in 10k 10k-naked; do
  hyperfine -N --warmup 1 --runs 10 --export-json "$out/$snap.bench.json" \
    "$vigil k8s scan --snapshot $out/$snap.json --format json --output $out/$snap.report.json" >/dev/null
  rss=$(/usr/bin/time -f %M "$vigil" k8s scan --snapshot "$out/$snap.json" --format json --output "$out/$snap.report.json" 2>&1 >/dev/null | tail -1)
  python3 - "$out/$snap.bench.json" "$out/$snap.report.json" "$snap" "$rss" <<'PY'
import json, sys
bench, report, name, rss = sys.argv[1:]
r = json.load(open(report))
t = json.load(open(bench))["results"][0]
print(f"{name}: median {t['median']:.2f} s (min {t['min']:.2f}, max {t['max']:.2f}), peak RSS {int(rss) // 1024} MiB; "
      f"{r['target']['objects']} objects, {len(r['findings'])} findings")
PY
done
