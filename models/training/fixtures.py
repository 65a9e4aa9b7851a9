"""Parity fixtures for the TypeScript engine: 3 prompts, fixed noise, DDIM 20 steps, guidance 5.

/usr/bin/python3 -m models.training.fixtures [--out test/fixtures/parity]
Writes caseN.json, caseN.noise.npy [1,4,16,16], caseN.text_embeddings.npy [2,77,D] ([uncond, cond]),
caseN.latents.npy (final latents, before 1/scaling_factor) and caseN.image.png (decoded 128x128).
"""
import argparse
import json
import os

import numpy as np
import torch

from .common import CHECKPOINT, MODELS, load, setup
from .export import build_models
from .sampler import ddim_sample, ddim_timesteps, decode, encode_prompts, make_noise
from .tokenizer import default_tokenizer
from .util import to_uint8, write_png

CASES = [
    dict(prompt="a snowman wearing a red hat and a blue scarf around its neck", seed=42),
    dict(prompt="a red circle and a blue square", seed=7),
    dict(prompt="a yellow triangle to the left of a green circle", seed=1234),
]
STEPS, GUIDANCE = 20, 5.0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--checkpoint", default=CHECKPOINT)
    p.add_argument("--out", default=os.path.join(os.path.dirname(MODELS), "test", "fixtures", "parity"))
    a = p.parse_args()
    setup(0)
    ck = load(a.checkpoint)
    te, unet, vae = build_models(ck)
    tok = default_tokenizer()
    os.makedirs(a.out, exist_ok=True)
    for i, c in enumerate(CASES, 1):
        base = os.path.join(a.out, "case%d" % i)
        cond, cids = encode_prompts(tok, te, [c["prompt"]])
        uncond, uids = encode_prompts(tok, te, [""])
        noise = make_noise(c["seed"])
        lat = ddim_sample(unet, uncond, cond, noise, STEPS, GUIDANCE)
        img = decode(vae, lat)
        np.save(base + ".noise.npy", noise.numpy().astype(np.float32))
        np.save(base + ".text_embeddings.npy", torch.cat([uncond, cond]).numpy().astype(np.float32))
        np.save(base + ".latents.npy", lat.numpy().astype(np.float32))
        write_png(base + ".image.png", to_uint8(img.numpy())[0])
        meta = dict(
            prompt=c["prompt"],
            negative_prompt="",
            seed=c["seed"],
            steps=STEPS,
            guidance_scale=GUIDANCE,
            scheduler="ddim",
            eta=0.0,
            width=128,
            height=128,
            timesteps=[int(t) for t in ddim_timesteps(STEPS)],
            scaling_factor=float(vae.scaling_factor),
            input_ids=dict(cond=cids[0].tolist(), uncond=uids[0].tolist()),
            files=dict(
                noise="case%d.noise.npy" % i,
                text_embeddings="case%d.text_embeddings.npy" % i,
                latents="case%d.latents.npy" % i,
                image="case%d.image.png" % i,
            ),
            notes="noise is the initial latent (init_noise_sigma 1); text_embeddings order [uncond, cond]; "
            "latents are the final DDIM latents before division by scaling_factor; image is "
            "vae_decoder(latents / scaling_factor) mapped from [-1,1] to uint8 (round half up, clamp).",
        )
        with open(base + ".json", "w") as f:
            json.dump(meta, f, indent=1)
            f.write("\n")
        print("wrote", base)


if __name__ == "__main__":
    main()
