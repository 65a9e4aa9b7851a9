"""Renders scenes of the synthetic world directly (not generated) with their exact masks, for the
attribution evaluation (bench/attribution-eval.ts): each image as uint8 [128, 128, 3] .npy, each
evaluated word's mask as uint8 [128, 128] .npy, and index.json listing caption and targets.

Scenes without such a word are skipped, so every one of the n images is scored. Targets are the
words whose object is unambiguous: a shape word whose kind appears once in the
scene, and for a snowman 'hat', 'scarf' and 'snowman' (its body, head and accessories as rendered).

    python3 models/training/export_world_eval.py --n 50 --seed 2026 --out /tmp/world-eval
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import world  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--held-out", default="any", choices=["exclude", "only", "any"])
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    items = []
    while len(items) < args.n:
        i = len(items)
        scene = world.sample_scene(rng, args.held_out)
        img, masks = world.render(scene, rng)
        cap = world.caption(scene, rng)
        words = cap.replace(",", " ").split()
        kinds = [o["kind"] for o in scene["objects"]]
        targets = []
        for j, o in enumerate(scene["objects"]):
            if o["kind"] == "snowman":
                for w in ("snowman", "hat", "scarf"):
                    if w in words and w in masks and masks[w].any() and kinds.count("snowman") == 1:
                        targets.append((w, masks[w]))
            elif o["kind"] in words and kinds.count(o["kind"]) == 1:
                targets.append((o["kind"], masks["object%d" % j]))
        if not targets:
            continue  # no unambiguous word: nothing to score
        entry = {"image": "%03d.npy" % i, "caption": cap, "targets": []}
        np.save(os.path.join(args.out, entry["image"]), img)
        for w, m in targets:
            name = "%03d-%s.npy" % (i, w)
            np.save(os.path.join(args.out, name), m.astype(np.uint8))
            entry["targets"].append({"word": w, "mask": name})
        items.append(entry)
    with open(os.path.join(args.out, "index.json"), "w", encoding="utf-8") as f:
        json.dump({"size": world.SIZE, "seed": args.seed, "items": items}, f, indent=1)
    print("wrote %d images, %d targets to %s" % (len(items), sum(len(e["targets"]) for e in items), args.out))


if __name__ == "__main__":
    main()
