#!/usr/bin/env bash
# Memory must not grow with image size: Vigil streams layers and keeps only analyzer
# results. Builds (cached) an image of the debootstrap fixture plus a 2.5 GiB layer of
# incompressible files (some executable, so the binary analyzers read them too) and
# prints Vigil's time and peak RSS on it next to the small image.
set -euo pipefail
cd "$(dirname "$0")/.."
cache=${VIGIL_FIXTURES:-/var/cache/vigil-fixtures}
fixture=$cache/debian-bookworm
big=$cache/large-image
./scripts/fixtures/debian-image
cargo build --release -q -p vigil
vigil=$PWD/target/release/vigil

if [ ! -f "$big/ready" ]; then
  rm -rf "$big"; mkdir -p "$big/data/opt/blobs" "$big/layers"
  for i in $(seq 1 40); do head -c 64M /dev/urandom > "$big/data/opt/blobs/blob-$i.bin"; done
  chmod +x "$big"/data/opt/blobs/blob-{1..8}.bin
  tar -C "$big/data" -cf "$big/layers/data.tar" opt
  rm -rf "$big/data"
  cp "$fixture/layers/base.tar.gz" "$fixture/layers/app.tar.gz" "$big/layers/"
  python3 - "$big/oci" "$big/layers/base.tar.gz" "$big/layers/app.tar.gz" "$big/layers/data.tar" <<'PY'
import gzip, hashlib, json, os, shutil, sys
out, layers = sys.argv[1], sys.argv[2:]
blobs = os.path.join(out, "blobs", "sha256"); os.makedirs(blobs)
def digest_of(path, opener=open):
    h = hashlib.sha256()
    with opener(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""): h.update(chunk)
    return "sha256:" + h.hexdigest()
def put_bytes(data):
    d = hashlib.sha256(data).hexdigest(); open(os.path.join(blobs, d), "wb").write(data); return "sha256:" + d, len(data)
descs, diff_ids = [], []
for layer in layers:
    gz = layer.endswith(".gz")
    d = digest_of(layer)
    diff_ids.append(digest_of(layer, gzip.open) if gz else d)
    os.replace(layer, os.path.join(blobs, d.split(":")[1]))
    descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if gz else ""),
                  "digest": d, "size": os.path.getsize(os.path.join(blobs, d.split(":")[1]))})
config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
cd, cn = put_bytes(config)
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cn}, "layers": descs}).encode()
md, mn = put_bytes(manifest)
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
    "digest": md, "size": mn, "annotations": {"org.opencontainers.image.ref.name": "large"}}]}, open(os.path.join(out, "index.json"), "w"))
open(os.path.join(out, "oci-layout"), "w").write('{"imageLayoutVersion":"1.0.0"}')
PY
  date > "$big/ready"
fi

measure() {
  /usr/bin/time -f '%e s, peak RSS %M KB' "$vigil" sbom "$1" --format json 2>&1 >/dev/null | tail -1
}
echo "image size on disk: small $(du -sh "$fixture/oci" | cut -f1), large $(du -sh "$big/oci" | cut -f1)"
for _ in 1 2 3; do echo "small: $(measure "oci:$fixture/oci:bookworm")"; done
for _ in 1 2 3; do echo "large: $(measure "oci:$big/oci:large")"; done
