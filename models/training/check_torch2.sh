#!/usr/bin/env bash
# Runs the training code on torch 2.x: the machines here have Debian 12's torch 1.13 only, so this
# builds a Debian 13 root (python3-torch 2.x from Debian's own packages, no other registry) and runs
# in it: the training smoke run, an ONNX export of the committed checkpoint, and the reference
# sampler's quality bars on 32 held-out prompts. The exported bundle is then run through the app's
# engine and attention hook (scripts/eval.ts) on this machine. Needs root.
#
#   bash models/training/check_torch2.sh [ROOT_DIR]     (default /var/tmp/daam-torch2-root)
#
# Compare the printed bars with `/usr/bin/python3 -m models.training.evaluate --n 32 --out DIR`.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
root=${1:-/var/tmp/daam-torch2-root}
packages=python3-torch,python3-numpy,python3-pil,python3-onnx,libopenblas0-pthread

if [ ! -x "$root/usr/bin/python3" ]; then
  command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap
  debootstrap --variant=minbase --include="$packages" trixie "$root" http://deb.debian.org/debian
fi
mkdir -p "$root/proc" "$root/repo"
mounted=()
cleanup() {
  local m
  for m in "${mounted[@]}"; do umount "$m" || true; done
}
trap cleanup EXIT
mountpoint -q "$root/proc" || { mount -t proc proc "$root/proc"; mounted+=("$root/proc"); }
mountpoint -q "$root/repo" || { mount --bind "$repo" "$root/repo"; mounted+=("$root/repo"); }

out=repo-torch2-check  # inside the repository, so that both sides see it; removed at the end
rm -rf "${repo:?}/$out"
chroot "$root" sh -c "cd /repo && python3 -c 'import torch; print(\"torch\", torch.__version__)' \
  && python3 -m models.training.smoke \
  && python3 -c \"from models.training.export import export; from models.training.common import CHECKPOINT, load; export(load(CHECKPOINT), '$out/bundle', write_checkpoint=False)\" \
  && python3 -m models.training.evaluate --n 32 --out $out/eval" 2>&1 | grep -v -i -e warning -e UCX -e '^ *w = torch'
cd "$repo"
npx tsx scripts/eval.ts --model "$out/bundle" --n 20 | grep -A1 'DAAM default (no mid'
rm -rf "${repo:?}/$out"
