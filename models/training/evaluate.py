"""Quality bars with the reference sampler (20 DDIM steps, guidance 5) on held-out prompts.

/usr/bin/python3 -m models.training.evaluate [--n 128] [--out models/eval]
- colour adherence: each named colour covers >= 1% of the image in >= 85% of (prompt, colour)
  pairs; an unnamed palette colour appears (>= 1% of pixels) in <= 10% of images;
- hat above scarf: in snowman prompts naming both, the hat-coloured region's centroid is above
  the scarf-coloured region's centroid in >= 85% of images;
- a 16-sample grid PNG to look at.
All prompts use colour/shape or hat/scarf combinations that never occur in training images.
"""
import argparse
import json
import os
import time

import numpy as np

from . import world
from .common import CHECKPOINT, MODELS, setup
from .sampler import generate
from .tokenizer import default_tokenizer
from .util import grid, to_uint8, write_png

REFS = dict(world.PALETTE)
OTHERS = {"white": world.WHITE, "black": world.BLACK, "outline": world.OUTLINE, "bg": world.BACKGROUND}
COVER = 0.01


def classify(img):
    """uint8 [H,W,3] -> label map (index into names) with -1 for unassigned pixels."""
    names = list(REFS) + list(OTHERS)
    refs = np.array([REFS[n] if n in REFS else OTHERS[n] for n in names], np.float32)
    d = np.linalg.norm(img[:, :, None, :].astype(np.float32) - refs[None, None], axis=-1)
    lab = d.argmin(-1)
    lab[d.min(-1) > 75] = -1
    return lab, names


def coverage(img):
    lab, names = classify(img)
    return {c: float((lab == i).mean()) for i, c in enumerate(names) if c in REFS}, lab, names


def held_out_prompts(n, seed=2024, split="held_out"):
    """n/2 shape prompts with a held-out colour/shape pair, n/2 snowman prompts with a held-out
    (hat, scarf) colour pair. Returns list of dict(prompt, colours, hat, scarf)."""
    rng = np.random.default_rng(seed)
    mode = "only" if split == "held_out" else "exclude"
    out = []
    while len(out) < n // 2:
        sc = world.sample_scene(rng, held_out=mode, kind="shapes")
        out.append(dict(prompt=world.caption(sc, rng), colours=world.named_colours(sc), hat=None, scarf=None))
    while len(out) < n:
        sc = world.sample_scene(rng, held_out=mode, kind="snowman")
        s = sc["objects"][0]
        if split == "held_out" and (s["hat"], s["scarf"]) not in world.HELD_OUT_ACCESSORIES:
            continue
        if split != "held_out" and not (s["hat"] and s["scarf"]):
            continue
        out.append(dict(prompt=world.caption(sc, rng), colours=world.named_colours(sc), hat=s["hat"], scarf=s["scarf"]))
    return out


def score(imgs, items):
    pairs_ok = pairs = unnamed_imgs = 0
    hs_ok = hs = 0
    per = []
    for img, it in zip(imgs, items):
        cov, lab, names = coverage(img)
        named = set(it["colours"])
        ok = {c: cov[c] >= COVER for c in named}
        pairs += len(ok)
        pairs_ok += sum(ok.values())
        extra = [c for c in world.COLOURS if c not in named and cov[c] >= COVER]
        unnamed_imgs += bool(extra)
        r = dict(prompt=it["prompt"], named_ok=ok, unnamed=extra)
        if it["hat"] and it["scarf"]:
            hs += 1
            ys = np.arange(img.shape[0])[:, None].repeat(img.shape[1], 1)
            mh = lab == names.index(it["hat"])
            ms = lab == names.index(it["scarf"])
            above = bool(mh.sum() > 20 and ms.sum() > 20 and ys[mh].mean() < ys[ms].mean())
            hs_ok += above
            r["hat_above_scarf"] = above
        per.append(r)
    return (
        dict(
            colour_pairs=pairs,
            colour_pairs_ok=pairs_ok,
            colour_adherence=pairs_ok / max(pairs, 1),
            images=len(items),
            images_with_unnamed_colour=unnamed_imgs,
            unnamed_colour_rate=unnamed_imgs / max(len(items), 1),
            hat_scarf_prompts=hs,
            hat_above_scarf=hs_ok / max(hs, 1),
        ),
        per,
    )


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=128)
    p.add_argument("--checkpoint", default=CHECKPOINT)
    p.add_argument("--out", default=os.path.join(MODELS, "eval"))
    p.add_argument("--batch", type=int, default=32)
    p.add_argument(
        "--split",
        default="held_out",
        choices=["held_out", "train"],
        help="held_out: combinations never seen in training; train: in-distribution prompts",
    )
    a = p.parse_args()
    setup(0)
    from .common import load
    from .export import build_models

    te, unet, vae = build_models(load(a.checkpoint))
    tok = default_tokenizer()
    items = held_out_prompts(a.n, split=a.split)
    t0 = time.time()
    imgs = []
    for i in range(0, len(items), a.batch):
        chunk = items[i : i + a.batch]
        x, _ = generate(tok, te, unet, vae, [c["prompt"] for c in chunk], seeds=range(1000 + i, 1000 + i + len(chunk)))
        imgs.append(to_uint8(x.numpy()))
        print("generated", i + len(chunk), round(time.time() - t0, 1), flush=True)
    imgs = np.concatenate(imgs)
    metrics, per = score(imgs, items)
    metrics["wall_s"] = round(time.time() - t0, 1)
    metrics["steps"] = 20
    metrics["guidance"] = 5.0
    metrics["split"] = a.split
    # a grid: 8 shape prompts + 8 snowman prompts (all held-out combinations)
    half = len(items) // 2
    sel = list(range(8)) + list(range(half, half + 8))
    os.makedirs(a.out, exist_ok=True)
    write_png(os.path.join(a.out, "grid.png"), grid(imgs[sel]))
    with open(os.path.join(a.out, "grid.txt"), "w") as f:
        f.write("".join("%d: %s\n" % (k, items[i]["prompt"]) for k, i in enumerate(sel)))
    # the demo prompt, 8 seeds
    demo = "a snowman wearing a red hat and a blue scarf around its neck"
    x, _ = generate(tok, te, unet, vae, [demo] * 8, seeds=range(8))
    dimg = to_uint8(x.numpy())
    write_png(os.path.join(a.out, "demo.png"), grid(dimg))
    dm, _ = score(dimg, [dict(prompt=demo, colours=["red", "blue"], hat="red", scarf="blue")] * 8)
    metrics["demo_prompt"] = dict(colour_adherence=dm["colour_adherence"], hat_above_scarf=dm["hat_above_scarf"])
    with open(os.path.join(a.out, "metrics.json"), "w") as f:
        json.dump(dict(metrics=metrics, per_prompt=per), f, indent=1)
    print(json.dumps(metrics, indent=1))


if __name__ == "__main__":
    main()
