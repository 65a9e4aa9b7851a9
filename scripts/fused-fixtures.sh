#!/usr/bin/env bash
# Regenerates test/fixtures/fused/ (the bundled U-Net run through ONNX Runtime's transformer
# optimizer, see scripts/fused-fixtures.py). The machines here have Debian 12, whose packages hold
# no onnxruntime for Python; Debian 13 packages it, so this builds a Debian 13 root from Debian's
# own packages (no other registry) and runs the optimizer in it. Needs root. CI does not run this:
# the fixtures are committed.
#
#   bash scripts/fused-fixtures.sh [ROOT_DIR]     (default /var/tmp/trixie-root)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
root=${1:-/var/tmp/trixie-root}

if [ ! -x "$root/usr/bin/python3" ] || ! chroot "$root" python3 -c 'import onnxruntime' 2>/dev/null; then
  command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap
  # debootstrap's resolver misses some of python3-onnxruntime's dependencies (libre2): install the
  # base first, then the packages with apt inside the root.
  [ -x "$root/usr/bin/apt-get" ] || debootstrap --variant=minbase trixie "$root" http://deb.debian.org/debian
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  chroot "$root" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get -f install -y -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-onnxruntime python3-onnx python3-numpy'
fi

work="$root/daam-fused"  # inside the root, so that both sides see it; removed at the end
rm -rf "$work"
mkdir -p "$work/src"
cp "$repo/scripts/fused-fixtures.py" "$work/"
cp "$repo/models/daam-shapes/unet/model.onnx" "$work/src/daam-shapes-unet.onnx"
chroot "$root" sh -c 'cd /daam-fused && python3 fused-fixtures.py src out' 2>&1 | grep '^out/'
mkdir -p "$repo/test/fixtures/fused"
cp "$work"/out/*.onnx "$repo/test/fixtures/fused/"
rm -rf "$work"
