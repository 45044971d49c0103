#!/usr/bin/env bash
# Server ingest under load: the real `vigil server serve` on 127.0.0.1 (plain HTTP), fed
# sensor batches at a fixed rate by crates/vigil-server/examples/ingest_load.rs (RATE
# batches/s × EVENTS events, default 40 × 500 = 20,000 events/s, plus 2 alerts each, from
# CLIENTS concurrent senders) for SECS seconds, RUNS times (default 3; the median is
# reported), first into SQLite, then into PostgreSQL: a throwaway cluster (Debian's
# server, default durability settings: fsync and synchronous_commit on) in a temporary
# directory, on a Unix socket, stopped and removed at the end. Only loopback and local
# sockets are used. STORES=sqlite or STORES=postgres runs one of the two. Figures go to
# docs/benchmarks.md, "Server ingest".
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${SECS:-20}
runs=${RUNS:-3}
rate=${RATE:-40}
events=${EVENTS:-500}
clients=${CLIENTS:-8}
stores=${STORES:-sqlite postgres}
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || apt-get install -y -q postgresql >/dev/null
# Two builds: with --example, cargo builds only the example, not the vigil binary.
cargo build --release -q -p vigil
cargo build --release -q -p vigil-server --example ingest_load
vigil=$PWD/target/release/vigil
load=$PWD/target/release/examples/ingest_load
args=(--vigil "$vigil" --runs "$runs" --seconds "$secs" --rate "$rate" --events "$events" --clients "$clients")

if [[ $stores == *sqlite* ]]; then
    echo "== SQLite"
    "$load" "${args[@]}"
fi
[[ $stores == *postgres* ]] || exit 0

echo "== PostgreSQL"
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
pg=$(mktemp -d /tmp/vigil-bench-pg.XXXXXX)
as=()
if [ "$(id -u)" = 0 ]; then
    chown postgres:postgres "$pg"
    as=(runuser -u postgres --)
fi
stop() { "${as[@]}" "$bin/pg_ctl" -D "$pg/data" -m fast stop >/dev/null 2>&1 || true; rm -rf "$pg"; }
trap stop EXIT
"${as[@]}" "$bin/initdb" -D "$pg/data" -A trust -U postgres -E UTF8 >/dev/null
"${as[@]}" "$bin/pg_ctl" -D "$pg/data" -w -l "$pg/server.log" \
    -o "-k $pg -p 5432 -c listen_addresses=''" start >/dev/null
"${as[@]}" "$bin/psql" -h "$pg" -U postgres -q -c "CREATE DATABASE vigil_bench"
echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') in $pg"
url="postgres://postgres@$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$pg"):5432/vigil_bench"
"$load" "${args[@]}" --database "$url"
