"""Stage 4: fine-tune the autoencoder's decoder on the U-Net's latent cache (encoder frozen).

/usr/bin/python3 -m models.training.train_decoder --steps 1500
Like Stable Diffusion's ft-MSE decoder: the encoder, and so the latent space the U-Net was trained
in, stays fixed; only post_quant_conv and the decoder learn. The autoencoder stage is short (a
10-minute cap), and its decoder loses what matters most to the quality bars: thin scarf bands
come out in a neighbouring colour (red as orange, orange as yellow) or in two colours, which the
U-Net cannot make up for. The cache already holds the encoder's latents of 12,000 training
images, and the images replay from its seed, so this stage needs no encoder pass at all.

The per-pixel loss is weighted towards objects (plain background is most of an image and is
easy), and a little noise is added to the latents so that the decoder also renders the U-Net's
slightly off-manifold latents cleanly.
"""
import argparse
import json
import math
import os
import time

import numpy as np
import torch

from .common import WORK, device, load, save, setup
from .train_unet import replay_cache, vae_from_checkpoint
from .train_vae import images_to_tensor


def replay_images(cache):
    """The cache's training images and a per-pixel object mask (uint8), drawn again from its seed."""
    imgs, _, _, masks = replay_cache(cache)
    objects = np.stack([np.any([m[k] for k in m if k.startswith("object")], axis=0) for m in masks])
    return imgs, objects.astype(np.uint8)


def crop_batch(z, x, w, idx, crop, gen):
    """Random aligned crops: crop latent cells and the 8x larger image and weight patches."""
    side = z.shape[-1]
    if crop >= side:
        return z[idx], x[idx], w[idx]
    offs = torch.randint(0, side - crop + 1, (len(idx), 2), generator=gen)
    zs, xs, ws = [], [], []
    for i, (oy, ox) in zip(idx.tolist(), offs.tolist()):
        zs.append(z[i, :, oy : oy + crop, ox : ox + crop])
        xs.append(x[i, :, oy * 8 : (oy + crop) * 8, ox * 8 : (ox + crop) * 8])
        ws.append(w[i, oy * 8 : (oy + crop) * 8, ox * 8 : (ox + crop) * 8])
    return torch.stack(zs), torch.stack(xs), torch.stack(ws)


def train(
    vae_path=None,
    cache_path=None,
    steps=1500,
    batch=16,
    crop=8,
    lr=3e-4,
    object_weight=4.0,
    latent_noise=0.15,
    seed=0,
    out=None,
    dev=None,
    log_every=50,
):
    setup(seed)
    dev = device(dev)
    vae_path = vae_path or os.path.join(WORK, "vae.pt")
    out = out or os.path.join(WORK, "vae_decoder.pt")
    ck = load(vae_path)
    vae = vae_from_checkpoint(ck).to(dev)
    cache = load(cache_path or os.path.join(WORK, "latents.pt"))
    t0 = time.time()
    imgs, objects = replay_images(cache)
    z = cache["latents"].float() / ck["scaling_factor"]  # the decoder's input, as diffusers divides
    x = torch.from_numpy(imgs).permute(0, 3, 1, 2)  # uint8, converted per batch
    w = torch.from_numpy(objects)
    print(
        json.dumps(
            dict(
                stage="decoder",
                images=len(imgs),
                object_share=round(float(objects.mean()), 4),
                replay_s=round(time.time() - t0, 1),
            )
        ),
        flush=True,
    )

    for p in vae.parameters():
        p.requires_grad_(False)
    params = list(vae.post_quant_conv.parameters()) + list(vae.decoder.parameters())
    for p in params:
        p.requires_grad_(True)
    vae.train()
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    warm = min(50, max(1, steps // 10))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    )
    gen = torch.Generator().manual_seed(seed + 11)
    zstd = float(z.std())
    avg = None
    t0 = time.time()
    step = 0
    for step in range(steps):
        idx = torch.randint(0, len(z), (batch,), generator=gen)
        zb, xb, wb = crop_batch(z, x, w, idx, crop, gen)
        zb = zb + latent_noise * zstd * torch.randn(zb.shape, generator=gen)
        target = images_to_tensor(xb.permute(0, 2, 3, 1).numpy()).to(dev)
        weight = (1.0 + object_weight * wb.float()).to(dev)[:, None]
        rec = vae.decode(zb.to(dev))
        err = rec - target
        loss = ((err.abs() + err.pow(2)) * weight).sum() / (weight.sum() * 3)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        avg = loss.item() if avg is None else 0.98 * avg + 0.02 * loss.item()
        if step % log_every == 0 or step == steps - 1:
            print(
                json.dumps(dict(stage="decoder", step=step, loss=round(avg, 5), s=round(time.time() - t0, 1))),
                flush=True,
            )
    vae.eval()
    wall = time.time() - t0
    save(
        dict(ck, state={k: v.cpu() for k, v in vae.state_dict().items()}, decoder_steps=step + 1, decoder_wall_s=wall),
        out,
    )
    print(json.dumps(dict(stage="decoder", done=True, steps=step + 1, wall_s=round(wall, 1))), flush=True)
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--vae", default=None)
    p.add_argument("--cache", default=None)
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--crop", type=int, default=8, help="latent cells per side of a training crop")
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--object-weight", type=float, default=4.0, help="extra loss weight on object pixels")
    p.add_argument("--latent-noise", type=float, default=0.15, help="latent noise, in latent standard deviations")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None)
    p.add_argument("--device", default=None)
    a = p.parse_args()
    train(a.vae, a.cache, a.steps, a.batch, a.crop, a.lr, a.object_weight, a.latent_noise, a.seed, a.out, a.device)


if __name__ == "__main__":
    main()
