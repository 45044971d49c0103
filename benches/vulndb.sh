#!/usr/bin/env bash
# Vulnerability database speed: import, open+match, and how match time scales.
#
#   benches/vulndb.sh            # needs ../shared/data (the real OSV snapshots)
#
# 1. Import all of ../shared/data/osv (PyPI, Go, crates.io: ~8,000 records) into a fresh
#    database: hyperfine median of 5 runs.
# 2. Synthesize a 500,000-record database: the real Go and crates.io records copied under
#    new ids and package names (`NAME-copy-N`), imported through `vigil db import` like
#    any OSV archive.
# 3. Open + match a 1,000-package inventory (names of real packages, so both databases
#    return the same advisories): criterion (crates/vigil-vulndb/benches/match.rs) on each
#    database; flat times mean the lookup does not grow with the database.
# 4. Peak RSS of `vigil image` on that inventory against the 500,000-record database.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${VIGIL_SHARED_DATA:-../shared/data}
[ -d "$data/osv" ] || { echo "no $data/osv (the real OSV snapshots); nothing to measure" >&2; exit 1; }
out=${BENCH_OUT:-target/bench/vulndb}
mkdir -p "$out"
command -v hyperfine >/dev/null || apt-get install -y -q hyperfine >/dev/null
cargo build --release -q -p vigil
vigil=$PWD/target/release/vigil

echo "== 1. import ../shared/data/osv"
hyperfine -N --warmup 1 --runs 5 --export-json "$out/import.json" \
  --prepare "rm -f $out/osv.sqlite" "$vigil db --db $out/osv.sqlite import $data/osv" >/dev/null
python3 -c "import json; print('import: median %.2f s' % json.load(open('$out/import.json'))['results'][0]['median'])"
$vigil db --db "$out/osv.sqlite" import "$data/osv" | tail -1

echo "== 2. synthesize 500,000 records"
if [ ! -f "$out/synth-500k.zip" ]; then
  python3 - "$data/osv" "$out/synth-500k.zip" <<'EOF'
import json, os, sys, zipfile
src, dest = sys.argv[1], sys.argv[2]
records = []
for eco in ("go", "crates"):
    for name in sorted(os.listdir(os.path.join(src, eco))):
        with open(os.path.join(src, eco, name)) as f:
            records.append(json.load(f))
copies = -(-500_000 // len(records))
n = 0
with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
    for c in range(copies):
        for r in records:
            if n == 500_000:
                break
            r2 = dict(r)
            r2["id"] = f"{r['id']}-copy-{c}"
            r2["aliases"] = [f"{a}-copy-{c}" for a in r.get("aliases", [])]
            r2["affected"] = [dict(a, package=dict(a.get("package", {}), name=f"{a.get('package', {}).get('name', '')}-copy-{c}"))
                              for a in r.get("affected", [])]
            z.writestr(f"{r2['id']}.json", json.dumps(r2))
            n += 1
print(f"{n} records in {dest}")
EOF
fi
rm -f "$out/synth-500k.sqlite"
/usr/bin/time -f "import of 500,000 records: %e s, peak RSS %M KB" \
  $vigil db --db "$out/synth-500k.sqlite" import "$data/osv" "$out/synth-500k.zip" | tail -1
ls -l "$out/osv.sqlite" "$out/synth-500k.sqlite"

echo "== 3. open + match 1,000 packages"
for round in 1 2; do
  for db in osv synth-500k; do
    VIGIL_BENCH_DB=$(realpath "$out/$db.sqlite") cargo bench -q -p vigil-vulndb --bench match >/dev/null 2>&1
    python3 -c "import json; e = json.load(open('target/criterion/open+match 1000 packages ($db)/new/estimates.json')); print('open+match 1,000 packages, $db: median %.1f ms' % (e['median']['point_estimate'] / 1e6))"
  done
done

echo "== 4. vigil image on a 1,000-package SBOM against the 500,000-record database"
python3 - "$out/osv.sqlite" "$out/inventory-1000.cdx.json" <<'EOF'
import json, sqlite3, sys, urllib.parse
db, dest = sys.argv[1], sys.argv[2]
rows = sqlite3.connect(db).execute(
    "SELECT DISTINCT ecosystem, name FROM affected WHERE ecosystem IN ('Go','crates.io','PyPI') "
    "ORDER BY ecosystem, name LIMIT 1000").fetchall()
versions = ["0.1.0", "1.0.0", "1.2.3", "2.0.1", "0.0.1"]
components = []
for i, (eco, name) in enumerate(rows):
    v = versions[i % len(versions)]
    if eco == "Go":
        ns, _, last = name.rpartition("/")
        purl = f"pkg:golang/{urllib.parse.quote(ns, safe='/')}/{urllib.parse.quote(last)}@v{v}" if ns else f"pkg:golang/{name}@v{v}"
    elif eco == "crates.io":
        purl = f"pkg:cargo/{name}@{v}"
    else:
        purl = f"pkg:pypi/{name}@{v}"
    components.append({"type": "library", "name": name, "version": v, "purl": purl})
json.dump({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": components}, open(dest, "w"))
print(f"{len(components)} packages in {dest}")
EOF
for db in "$out/osv.sqlite" "$out/synth-500k.sqlite"; do
  $vigil image "sbom:$out/inventory-1000.cdx.json" --db "$db" -f json >/dev/null  # warm the page cache
  hyperfine -N --warmup 2 --runs 15 --export-json "$out/image.json" "$vigil image sbom:$out/inventory-1000.cdx.json --db $db -f json" >/dev/null
  python3 -c "import json; print('vigil image, $(basename "$db"): median %.1f ms' % (json.load(open('$out/image.json'))['results'][0]['median'] * 1000))"
  for _ in 1 2 3; do /usr/bin/time -f %M $vigil image "sbom:$out/inventory-1000.cdx.json" --db "$db" -f json 2>&1 >/dev/null | tail -1; done \
    | sort -n | sed -n 2p | awk -v db="$(basename "$db")" '{ printf "peak RSS (median of 3) on %s: %.1f MiB\n", db, $1 / 1024 }'
done
