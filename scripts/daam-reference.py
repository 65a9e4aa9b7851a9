"""Independent DAAM reference (issue 16): recomputes the word maps of an exported generation with
torch, the way castorini/daam does, and compares them with the app's exported maps.

Called by test/attention/daam-parity.test.ts after `npm run generate -- ... --heatmaps all`; run by
hand as
    /usr/bin/python3 scripts/daam-reference.py OUT_DIR [OUT_DIR ...] [--tol 1e-3]
It reads OUT_DIR/raw/record.bin (the binary layout documented in src/shared/attention-record.ts,
parsed here from that description, not from the TypeScript code), the token strings in
OUT_DIR/raw/index.json and the word list in OUT_DIR/heatmaps.json, and for every word:
  1. locates the word's tokens itself (CLIP BPE strings: a word ends at a token with '</w>'),
     every occurrence, on word boundaries, and checks the app chose the same tokens;
  2. per (layer, head) map: sum over the time buckets, F.interpolate(bicubic, align_corners=False)
     to the latent grid, clamp(min=0); mean over all (layer, head) maps of the down/up blocks
     (DAAM's compute_global_heat_map; the mid block is left out as DAAM does by default);
  3. mean of the word's token maps; F.interpolate(bicubic) to the image size; then
     (m - min) / (max - min + 1e-8) (DAAM's WordHeatMap.expand_as);
and compares with OUT_DIR/<word>.npy. Prints one JSON line per folder with the max abs
difference per word; exit code 1 when any difference exceeds --tol.
"""
import json
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

MAGIC = b"DAAMREC1"


def read_record(path):
    data = open(path, "rb").read()
    if data[:8] != MAGIC:
        raise ValueError(f"{path}: not an attention record (magic {data[:8]!r})")
    (n,) = struct.unpack_from("<I", data, 8)
    header = json.loads(data[12 : 12 + n].decode("utf-8"))
    if header["version"] != 1:
        raise ValueError(f"{path}: unsupported version {header['version']}")
    offset = (12 + n + 7) // 8 * 8
    steps = header["steps"]
    streams = {}
    for s in header["streams"]:
        arrays = []
        for layer in header["layers"]:
            buckets = -(-steps // layer["bucketSize"])
            heads = layer.get("heads", 1)
            shape = (buckets, heads, s["tokens"], layer["height"], layer["width"])
            count = int(np.prod(shape))
            arr = np.frombuffer(data, dtype="<f2", count=count, offset=offset).reshape(shape)
            offset += 2 * count
            arrays.append(arr)
        streams[s["name"]] = arrays
    if offset != len(data):
        raise ValueError(f"{path}: {len(data) - offset} trailing bytes")
    return header, streams


def word_tokens(token_strings, word):
    """Every occurrence of `word` as whole words among the kept tokens (BOS at 0, EOS last)."""
    words, current, start = [], "", None
    for i, t in enumerate(token_strings[1:-1], start=1):
        if start is None:
            start = i
        if t.endswith("</w>"):
            words.append((current + t[: -len("</w>")], list(range(start, i + 1))))
            current, start = "", None
        else:
            current += t
    target = word.lower()
    return [i for text, idx in words if text == target for i in idx]


def global_token_maps(header, layers):
    H, W = header["latentHeight"], header["latentWidth"]
    merged = []
    for meta, arr in zip(header["layers"], layers):
        if meta["block"] == "mid":
            continue
        summed = torch.from_numpy(arr.astype(np.float32)).sum(0)  # [heads, T, h, w]
        for head in summed:
            up = F.interpolate(head.unsqueeze(1), size=(H, W), mode="bicubic", align_corners=False)
            merged.append(up.clamp_(min=0))
    return torch.stack(merged, 0).mean(0)[:, 0]  # [T, H, W]


def check(folder, tol):
    header, streams = read_record(f"{folder}/raw/record.bin")
    index = json.load(open(f"{folder}/raw/index.json"))
    exported = json.load(open(f"{folder}/heatmaps.json"))
    if (
        exported.get("normalization") != "word"
        or exported.get("filter") not in ({}, None)
        or exported.get("method", "daam") != "daam"
    ):
        raise ValueError(f"{folder}: the reference covers the default DAAM maps only")
    tokens = index["tokens"]
    maps = global_token_maps(header, streams["cond"])
    result = {}
    for w in exported["words"]:
        if w.get("stream", "cond") != "cond":
            continue
        mine = word_tokens(tokens, w["word"])
        if mine != w["tokenIndices"]:
            raise ValueError(f"{folder}: '{w['word']}' is tokens {mine} here, {w['tokenIndices']} in the app")
        app = np.load(f"{folder}/{w['npy']}")
        word = maps[mine].mean(0)
        im = F.interpolate(word[None, None], size=app.shape, mode="bicubic", align_corners=False)[0, 0]
        im = (im - im.min()) / (im.max() - im.min() + 1e-8)
        result[w["word"]] = float(np.abs(im.numpy() - app).max())
    return result


def main(argv):
    tol = 1e-3
    if "--tol" in argv:
        i = argv.index("--tol")
        tol = float(argv[i + 1])
        argv = argv[:i] + argv[i + 2 :]
    if not argv:
        print(__doc__)
        return 2
    worst = 0.0
    for folder in argv:
        diffs = check(folder, tol)
        worst = max([worst, *diffs.values()])
        print(json.dumps({"folder": folder, "maxAbsDiff": diffs}))
    print(json.dumps({"worst": worst, "tol": tol, "ok": worst <= tol}))
    return 0 if worst <= tol else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
