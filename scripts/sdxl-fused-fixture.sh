#!/usr/bin/env bash
# Regenerates test/fixtures/fused/sdxl-tiny-unet.cpu.onnx: the tiny SDXL U-Net
# (test/fixtures/sdxl-tiny, scripts/sdxl-fixture.py) run through ONNX Runtime's transformer
# optimizer with the CPU options, by scripts/fused-fixtures.py in the Debian 13 root that
# scripts/fused-fixtures.sh builds (run that once first). Needs root. ORT aborts ("Attempt to use
# DefaultLogger but none has been registered") without /proc in the root: mounted here if missing.
#
#   bash scripts/sdxl-fused-fixture.sh [ROOT_DIR]     (default /var/tmp/trixie-root)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
root=${1:-/var/tmp/trixie-root}
mounted=
if ! mountpoint -q "$root/proc"; then
  mount -t proc proc "$root/proc"
  mounted=1
fi
work="$root/daam-sdxl-fused"
trap 'rm -rf "$work"; [ -z "$mounted" ] || umount "$root/proc"' EXIT
rm -rf "$work"
mkdir -p "$work/src"
cp "$repo/scripts/fused-fixtures.py" "$work/"
cp "$repo/test/fixtures/sdxl-tiny/unet/model.onnx" "$work/src/sdxl-tiny-unet.onnx"
chroot "$root" sh -c 'cd /daam-sdxl-fused && python3 fused-fixtures.py src out' 2>&1 | grep '^out/'
cp "$work/out/sdxl-tiny-unet.cpu.onnx" "$repo/test/fixtures/fused/"
