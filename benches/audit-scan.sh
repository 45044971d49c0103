#!/usr/bin/env bash
# Audit-log detection speed: `vigil audit scan` with the built-in rules on 500,000 events
# (benches/audit-synth.py: gzip JSON lines, mostly controllers' get/list/watch, as real
# clusters log). Reports the hyperfine median of 5 runs as events per second, and the peak
# RSS. `vigil` is single-threaded here, so this is one core.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${BENCH_OUT:-target/bench/audit}
mkdir -p "$out"
command -v hyperfine >/dev/null || apt-get install -y -q hyperfine >/dev/null
cargo build --release -q -p vigil
vigil=$PWD/target/release/vigil
n=500000
[ -f "$out/500k.jsonl.gz" ] || python3 benches/audit-synth.py $n "$out/500k.jsonl.gz"
# zcat alone, in the same runs, says how fast this (noisy, shared) machine is right now:
# inflating the file is part of what the scan does.
hyperfine -N --warmup 1 --runs ${RUNS:-9} --export-json "$out/scan.json" \
  "$vigil audit scan $out/500k.jsonl.gz --format json --output $out/alerts.jsonl" \
  "zcat $out/500k.jsonl.gz" >/dev/null
rss=$(/usr/bin/time -f %M "$vigil" audit scan "$out/500k.jsonl.gz" --format json --output "$out/alerts.jsonl" 2>&1 >/dev/null | tail -1)
python3 - "$out/scan.json" "$n" "$rss" "$out/alerts.jsonl" <<'PY'
import json, sys
t, z = json.load(open(sys.argv[1]))["results"]
n, rss = int(sys.argv[2]), int(sys.argv[3])
alerts = sum(1 for _ in open(sys.argv[4]))
print(f"{n} events: median {t['median']:.2f} s = {n / t['median']:,.0f} events/s "
      f"(fastest run {n / min(t['times']):,.0f}); peak RSS {rss // 1024} MiB; {alerts} alerts; "
      f"zcat alone: median {z['median']:.2f} s (scan = {t['median'] / z['median']:.2f}x zcat)")
PY
