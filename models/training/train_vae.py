"""Stage 1: train the autoencoder (spatial factor 8, 4 latent channels) on procedural images.

/usr/bin/python3 -m models.training.train_vae --steps 1500
Writes work/vae.pt with the weights and the latent scaling_factor (1/std of latents, like SD).
"""
import argparse
import json
import math
import os
import time

import numpy as np
import torch

from . import world
from .common import WORK, device, save, setup
from .nets import VAE_CONFIG, AutoencoderKL


def images_to_tensor(imgs):
    return torch.from_numpy(np.ascontiguousarray(imgs)).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def random_crops(x, crop, gen):
    if crop >= x.shape[-1]:
        return x
    b = x.shape[0]
    out = torch.empty(b, 3, crop, crop)
    offs = torch.randint(0, (x.shape[-1] - crop) // 8 + 1, (b, 2), generator=gen) * 8
    for i in range(b):
        oy, ox = int(offs[i, 0]), int(offs[i, 1])
        out[i] = x[i, :, oy : oy + crop, ox : ox + crop]
    return out


@torch.no_grad()
def scaling_factor(vae, dev, n=256, seed=123):
    rng = np.random.default_rng(seed)
    imgs, _, _ = world.sample_batch(rng, n, held_out="any")
    x = images_to_tensor(imgs).to(dev)
    means = torch.cat([vae.encode(x[i : i + 64])[0] for i in range(0, n, 64)])
    return float(1.0 / means.std()), float(means.mean())


def train(
    steps=1500,
    batch=16,
    crop=64,
    lr=1e-3,
    kl_weight=1e-6,
    seed=0,
    out=None,
    dev=None,
    log_every=50,
    pool=2048,
    max_minutes=None,
    stop_step=None,
):
    setup(seed)
    dev = device(dev)
    out = out or os.path.join(WORK, "vae.pt")
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    vae = AutoencoderKL(**VAE_CONFIG).to(dev)
    opt = torch.optim.AdamW(vae.parameters(), lr=lr, weight_decay=0.0)
    warm = min(100, max(1, steps // 10))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    )
    # a pool of rendered images, refreshed in part every step
    imgs, _, _ = world.sample_batch(rng, pool, held_out="any")
    data = images_to_tensor(imgs)
    t0 = time.time()
    for step in range(steps):
        if step % 4 == 0:
            new, _, _ = world.sample_batch(rng, batch, held_out="any")
            idx = torch.randint(0, pool, (batch,), generator=gen)
            data[idx] = images_to_tensor(new)
        idx = torch.randint(0, pool, (batch,), generator=gen)
        x = random_crops(data[idx], crop, gen).to(dev)
        mean, logvar = vae.encode(x)
        z = mean + torch.exp(0.5 * logvar) * torch.randn(mean.shape, generator=gen).to(dev)
        rec = vae.decode(z)
        l1 = (rec - x).abs().mean()
        mse = (rec - x).pow(2).mean()
        kl = 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=(1, 2, 3)).mean()
        loss = l1 + mse + kl_weight * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % log_every == 0 or step == steps - 1:
            print(
                json.dumps(
                    dict(
                        stage="vae",
                        step=step,
                        l1=round(l1.item(), 5),
                        mse=round(mse.item(), 5),
                        kl=round(kl.item(), 2),
                        s=round(time.time() - t0, 1),
                    )
                ),
                flush=True,
            )
        if stop_step and step + 1 >= stop_step:
            print("vae: stopping at step", step, "(--stop-step)", flush=True)
            break
        if max_minutes and time.time() - t0 > max_minutes * 60:
            print("vae: time limit reached at step", step, flush=True)
            break
    vae.eval()
    sf, mu = scaling_factor(vae, dev)
    vae.scaling_factor.fill_(sf)
    wall = time.time() - t0
    save(
        dict(
            state=vae.cpu().state_dict(),
            config=VAE_CONFIG,
            scaling_factor=sf,
            latent_mean=mu,
            steps=step + 1,
            wall_s=wall,
        ),
        out,
    )
    print(
        json.dumps(dict(stage="vae", done=True, scaling_factor=sf, latent_mean=mu, wall_s=round(wall, 1))), flush=True
    )
    return vae


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--crop", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None)
    p.add_argument("--device", default=None)
    p.add_argument("--max-minutes", type=float, default=None)
    p.add_argument(
        "--stop-step", type=int, default=None, help="stop after this many steps (the LR schedule still spans --steps)"
    )
    a = p.parse_args()
    train(
        a.steps,
        a.batch,
        a.crop,
        a.lr,
        seed=a.seed,
        out=a.out,
        dev=a.device,
        max_minutes=a.max_minutes,
        stop_step=a.stop_step,
    )


if __name__ == "__main__":
    main()
