#!/usr/bin/env bash
# Runtime sensor footprint (issue 6): a fork+exec storm (two shell loops running /bin/true)
# with and without `vigil sensor`, then the same storm plus 50,000 opens/s of an unwatched
# file. Reports the loops' slowdown, the sensor's CPU (user + sys from /proc, per second
# and per 1,000 events), its peak RSS, and kernel and user-space drops. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${BENCH_OUT:-target/bench/sensor}
mkdir -p "$out"
cargo build --release -q -p vigil
vigil=$PWD/target/release/vigil
n=${EXECS:-4000}        # per loop
rate=${OPENS:-50000}    # unwatched opens per second during phase C
hz=$(getconf CLK_TCK)

storm() { # two loops of $n fork+execs; prints the wall seconds
  local t0 t1
  t0=$(date +%s.%N)
  for _ in 1 2; do bash -c "for ((i=0; i<$n; i++)); do /bin/true; done" & done
  wait
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }' 
}
cpu() { awk -v hz="$hz" '{ print ($14 + $15) / hz }' "/proc/$1/stat"; }
opens() { # $1 opens/s for $2 seconds of an unwatched file
  python3 - "$1" "$2" <<'PY'
import os, sys, time
rate, dur = int(sys.argv[1]), float(sys.argv[2])
t0, n = time.monotonic(), 0
while (now := time.monotonic() - t0) < dur:
    while n < int(now * rate):
        os.close(os.open("/etc/hostname", os.O_RDONLY)); n += 1
    time.sleep(0.0005)
print(f"{n / dur:.0f}", file=sys.stderr)
PY
}

storm >/dev/null # warm the page cache
# Rounds alternate without and with the sensor, so a busy moment of a shared machine hits
# both; the medians are reported.
: >"$out/rounds"
for round in $(seq "${ROUNDS:-5}"); do
  a=$(storm)
  rm -f "$out/sensor.err" "$out/events.jsonl"
  "$vigil" sensor --output "$out/events.jsonl" 2>"$out/sensor.err" &
  pid=$!
  trap 'kill -INT $pid 2>/dev/null' EXIT
  until grep -q attached "$out/sensor.err" 2>/dev/null; do sleep 0.1; done
  c0=$(cpu $pid); l0=$(wc -l <"$out/events.jsonl")
  b=$(storm)
  c1=$(cpu $pid); l1=$(wc -l <"$out/events.jsonl")
  opens "$rate" "$(awk -v b="$b" 'BEGIN { print b + 1 }')" 2>"$out/opens.rate" &
  opid=$!
  c=$(storm)
  wait $opid
  sleep 0.5
  c2=$(cpu $pid); l2=$(wc -l <"$out/events.jsonl")
  hwm=$(awk '/VmHWM/ { print $2 }' "/proc/$pid/status")
  kill -INT $pid; wait $pid || true
  trap - EXIT
  kdrops=$(tail -1 "$out/sensor.err" | sed -E 's/.*dropped: ([0-9]+) in the kernel, ([0-9]+) in user space.*/\1 \2/')
  echo "$a $b $c $c0 $c1 $c2 $l0 $l1 $l2 $hwm $(cat "$out/opens.rate") $kdrops" >>"$out/rounds"
  rm -f "$out/events.jsonl"
done
python3 - "$out/rounds" "$n" <<'PY'
import statistics as st, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
n = int(sys.argv[2]); execs = 2 * n
med = lambda xs: st.median(xs)
a = med([r[0] for r in rows]); b = med([r[1] for r in rows]); c = med([r[2] for r in rows])
slow = [100 * (r[1] / r[0] - 1) for r in rows]
cores_b = med([(r[4] - r[3]) / r[1] for r in rows])
ms_per_k = med([1e6 * (r[4] - r[3]) / max(r[7] - r[6], 1) for r in rows])
ev_b = med([r[7] - r[6] for r in rows])
cores_c = med([(r[5] - r[4]) / r[2] for r in rows])
rss = max(r[9] for r in rows) / 1024
opens = med([r[10] for r in rows])
kd = sum(r[11] for r in rows); ud = sum(r[12] for r in rows)
print(f"{len(rows)} rounds; fork+exec storm of {execs} execs in two loops (medians):")
print(f"  without sensor {a:.2f} s ({execs / a:,.0f}/s); with sensor {b:.2f} s ({execs / b:,.0f}/s): "
      f"slowdown {100 * (b / a - 1):+.1f}% (per round: {', '.join(f'{x:+.0f}%' for x in slow)})")
print(f"  sensor: {ev_b:.0f} events per storm, {cores_b:.3f} cores, {ms_per_k:.1f} CPU ms per 1,000 events")
print(f"storm + {opens:,.0f} unwatched opens/s: storm {c:.2f} s; sensor {cores_c:.3f} cores")
print(f"peak RSS {rss:.1f} MiB; drops over all rounds: {kd:.0f} in the kernel, {ud:.0f} in user space")
PY
