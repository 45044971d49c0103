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
a=$(storm)

"$vigil" sensor --output "$out/events.jsonl" 2>"$out/sensor.err" &
pid=$!
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
summary=$(tail -1 "$out/sensor.err")
python3 - "$a" "$b" "$c" "$c0" "$c1" "$c2" "$l0" "$l1" "$l2" "$hwm" "$n" "$(cat "$out/opens.rate")" "$summary" <<'PY'
import sys
a, b, c, c0, c1, c2 = map(float, sys.argv[1:7])
l0, l1, l2, hwm, n = map(int, sys.argv[7:12])
opens, summary = sys.argv[12], sys.argv[13]
execs = 2 * n
print(f"fork+exec storm, {execs} execs in two loops:")
print(f"  without sensor {a:.2f} s ({execs / a:,.0f}/s); with sensor {b:.2f} s ({execs / b:,.0f}/s): slowdown {100 * (b / a - 1):+.1f}%")
eb = l1 - l0
print(f"  sensor: {eb} events, {(c1 - c0):.2f} CPU s = {(c1 - c0) / b:.3f} cores, {1000 * (c1 - c0) / max(eb, 1):.2f} CPU ms per 1,000 events")
ec = l2 - l1
print(f"storm + {opens} unwatched opens/s: storm {c:.2f} s; sensor {ec} events, {(c2 - c1):.2f} CPU s = {(c2 - c1) / c:.3f} cores")
print(f"peak RSS {hwm / 1024:.1f} MiB; {summary}")
PY
