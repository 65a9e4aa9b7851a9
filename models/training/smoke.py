"""CI smoke run: a few training steps on a few images and an export, in a temp dir (< 2 min on CPU).

/usr/bin/python3 -m models.training.smoke
"""
import json
import os
import sys
import tempfile
import time

import torch


def check_grounding_targets():
    """The demo caption's words get the right objects: hat above scarf, 'neck' on the scarf."""
    import numpy as np
    from . import world
    from .grounding import targets_for
    from .tokenizer import default_tokenizer

    tok = default_tokenizer()
    s = world.sample_snowman(np.random.default_rng(0), hat="red", scarf="blue")
    s["tail"] = False
    cap = "a snowman wearing a red hat and a blue scarf around its neck"
    scene = dict(objects=[s])
    slots, token_slot = targets_for(scene, world.render(scene)[1], cap, tok)
    ids = tok(cap)
    slot = {w: int(token_slot[ids.index(tok(w)[1])]) for w in ("snowman", "red", "hat", "blue", "scarf", "neck")}

    def rows(k):
        return float((slots[k].sum(1) * np.arange(slots.shape[1])).sum() / slots[k].sum())

    same_slots = slot["red"] == slot["hat"] != slot["scarf"] == slot["blue"] == slot["neck"] != slot["snowman"]
    return same_slots and rows(slot["hat"]) < rows(slot["scarf"])


def check_grounding_loss():
    """Both grounding terms are lower when the object words attend inside their object."""
    from .grounding import grounding_loss

    slots = torch.zeros(1, 4, 16, 16)
    slots[0, 0, 2:6, 2:6] = 1
    token_slot = torch.full((1, 77), -1, dtype=torch.long)
    token_slot[0, 3:5] = 0
    keep = torch.ones(1, dtype=torch.bool)

    def probs(inside):
        p = torch.full((2, 256, 77), 1e-3)  # [B*heads, HW, T]
        area = torch.zeros(16, 16, dtype=torch.bool)
        if inside:
            area[2:6, 2:6] = True
        else:
            area[10:14, 10:14] = True
        p[:, area.flatten(), 3:5] = 0.4
        return p / p.sum(-1, keepdim=True)

    good, bad = (grounding_loss([probs(x)], slots, token_slot, keep, pixel=1.0) for x in (True, False))
    return bool(good[0] < bad[0] and good[1] < bad[1])


def check_decoder(vae_p, dec_p):
    """The decoder stage trains the decoder only: the encoder (the U-Net's latent space) and the
    scaling factor stay as they were."""
    from .common import load

    before, after = load(vae_p), load(dec_p)
    enc = [k for k in before["state"] if k.startswith(("encoder.", "quant_conv."))]
    dec = [k for k in before["state"] if k.startswith("decoder.")]
    return (
        after["scaling_factor"] == before["scaling_factor"]
        and bool(enc)
        and bool(dec)
        and all(torch.equal(before["state"][k], after["state"][k]) for k in enc)
        and any(not torch.equal(before["state"][k], after["state"][k]) for k in dec)
    )


def main():
    t0 = time.time()
    from . import train_decoder, train_unet, train_vae
    from .export import combine, export, build_models
    from .sampler import generate
    from .tokenizer import default_tokenizer
    from .common import load

    with tempfile.TemporaryDirectory() as d:
        vae_p, unet_p = os.path.join(d, "vae.pt"), os.path.join(d, "unet.pt")
        cache_p, dec_p = os.path.join(d, "latents.pt"), os.path.join(d, "vae_decoder.pt")
        train_vae.train(steps=3, batch=4, crop=32, out=vae_p, pool=8, log_every=1)
        train_unet.train(vae_path=vae_p, images=16, steps=3, batch=8, out=unet_p, cache_path=cache_p, log_every=1)
        # second stage as in the pipeline: continue with the cross-attention grounding loss
        train_unet.train(
            vae_path=vae_p,
            images=16,
            steps=2,
            batch=8,
            out=unet_p,
            cache_path=cache_p,
            log_every=1,
            init=unet_p,
            grounding=0.03,
            pixel=0.005,
        )
        # then the decoder on the cached latents, as the pipeline does
        train_decoder.train(vae_path=vae_p, cache_path=cache_p, steps=2, batch=4, out=dec_p, log_every=1)
        decoder_ok = check_decoder(vae_p, dec_p)
        grounding_ok = check_grounding_targets() and check_grounding_loss()
        ck = combine(dec_p, unet_p)
        out = export(ck, os.path.join(d, "bundle"), write_checkpoint=os.path.join(d, "ck.pt"))
        need = [
            "model_index.json",
            "text_encoder/model.onnx",
            "unet/model.onnx",
            "vae_decoder/model.onnx",
            "vae_encoder/model.onnx",
            "tokenizer/vocab.json",
            "tokenizer/merges.txt",
            "scheduler/scheduler_config.json",
            "vae_decoder/config.json",
            "world.json",
        ]
        missing = [n for n in need if not os.path.exists(os.path.join(out, n))]
        te, unet, vae = build_models(load(os.path.join(d, "ck.pt")))
        img, lat = generate(default_tokenizer(), te, unet, vae, ["a red circle"], seeds=[0], steps=2)
        ok = (
            grounding_ok
            and decoder_ok
            and not missing
            and tuple(img.shape) == (1, 3, 128, 128)
            and bool(torch.isfinite(img).all())
        )
        print(json.dumps(dict(smoke="ok" if ok else "failed", missing=missing, seconds=round(time.time() - t0, 1))))
        if not ok:
            sys.exit(1)


if __name__ == "__main__":
    main()
