"""Stage 2: pre-encode a fixed procedural dataset to latents, then train text encoder + U-Net.

/usr/bin/python3 -m models.training.train_unet --images 30000 --steps 6000
Epsilon prediction on the SD scaled_linear 1000-step schedule, AdamW, warmup + cosine LR,
EMA of weights (the EMA is what gets exported), 10% empty captions, min-SNR loss weighting.
--grounding L adds L x the token-grounding loss on cross-attention (models/training/grounding.py),
--pixel P its per-position term.
"""
import argparse
import json
import math
import os
import time

import numpy as np
import torch

from . import world
from .grounding import build_targets, grounding_loss
from .common import WORK, EMA, alphas_cumprod, device, load, save, setup
from .nets import TEXT_CONFIG, UNET_CONFIG, AutoencoderKL, TextEncoder, UNet2DConditionModel
from .tokenizer import default_tokenizer
from .train_vae import images_to_tensor


def load_vae(path):
    return vae_from_checkpoint(load(path))


def vae_from_checkpoint(ck):
    vae = AutoencoderKL(**ck["config"])
    vae.load_state_dict(ck["state"])
    vae.scaling_factor.fill_(ck["scaling_factor"])
    return vae.eval()


@torch.no_grad()
def build_cache(vae, n, seed, dev, chunk=128, out=None):
    tok = default_tokenizer()
    rng = np.random.default_rng(seed)
    lat, ids, caps = [], [], []
    t0 = time.time()
    vae = vae.to(dev)
    for i in range(0, n, chunk):
        m = min(chunk, n - i)
        imgs, c, _ = world.sample_batch(rng, m, held_out="exclude")
        mean, _ = vae.encode(images_to_tensor(imgs).to(dev))
        lat.append((mean * vae.scaling_factor).cpu())
        ids.append(torch.tensor([tok(x) for x in c], dtype=torch.int16))
        caps += c
        if (i // chunk) % 20 == 0:
            print(json.dumps(dict(stage="cache", n=i + m, s=round(time.time() - t0, 1))), flush=True)
    cache = dict(
        latents=torch.cat(lat), input_ids=torch.cat(ids), captions=caps, empty_ids=torch.tensor(tok("")), seed=seed
    )
    if out:
        save(cache, out)
    return cache


def replay_cache(cache, seed=None):
    """The cache's training images, captions, scenes and render() masks, drawn again from its seed
    (the same draws as build_cache); the captions must match the cache's exactly."""
    seed = cache.get("seed", seed)  # caches from before the seed was stored: the caller's guess
    n = cache["latents"].shape[0]
    imgs, caps, scenes, masks = world.sample_batch(np.random.default_rng(seed), n, held_out="exclude", with_masks=True)
    if caps != list(cache["captions"]):
        raise RuntimeError("latent cache was not drawn from seed %d: rebuild it" % seed)
    return imgs, caps, scenes, masks


def ensure_targets(cache, seed, path=None):
    """Grounding targets for a latent cache: the cache's scenes are replayed from its seed (the
    same draws as build_cache) rather than stored, and the captions must match exactly."""
    if "token_slot" in cache:
        return cache
    _, caps, scenes, masks = replay_cache(cache, seed)
    cache["slots"], cache["token_slot"] = build_targets(scenes, masks, caps, default_tokenizer())
    if path:
        save(cache, path)
    return cache


def _running(avg, x):
    """Exponential running mean of a logged loss (None until the first value)."""
    return x if avg is None else 0.98 * avg + 0.02 * x


def min_snr_weight(ac_t, gamma=5.0):
    snr = ac_t / (1 - ac_t)
    return torch.clamp(snr, max=gamma) / snr


def train(
    vae_path=None,
    images=12000,
    steps=3200,
    batch=32,
    lr=8e-4,
    seed=0,
    dev=None,
    out=None,
    cache_path=None,
    ema_decay=0.998,
    p_uncond=0.1,
    max_minutes=None,
    ckpt_every=500,
    log_every=50,
    init=None,
    stop_step=None,
    grounding=0.0,
    pixel=0.0,
):
    if pixel and not grounding:
        raise ValueError("--pixel is a term of the grounding loss: give --grounding too")
    setup(seed)
    dev = device(dev)
    out = out or os.path.join(WORK, "unet.pt")
    vae_path = vae_path or os.path.join(WORK, "vae.pt")
    vae = load_vae(vae_path)
    if cache_path and os.path.exists(cache_path):
        cache = load(cache_path)
        if cache["latents"].shape[0] != images:
            cache = None
    else:
        cache = None
    if cache is None:
        cache = build_cache(vae, images, seed + 1, dev, out=cache_path)
    if grounding:
        cache = ensure_targets(cache, seed + 1, cache_path)
        slots = cache["slots"].to(dev)
        token_slot = cache["token_slot"].long().to(dev)
    latents = cache["latents"].to(dev)
    input_ids = cache["input_ids"].long().to(dev)
    empty = cache["empty_ids"].long().to(dev)
    print(
        json.dumps(
            dict(stage="unet", latent_std=float(latents.std()), latent_mean=float(latents.mean()), n=latents.shape[0])
        ),
        flush=True,
    )

    torch.manual_seed(seed)
    te = TextEncoder(**TEXT_CONFIG).to(dev)
    unet = UNet2DConditionModel(**UNET_CONFIG).to(dev)
    if init:
        # Continue from an earlier run's EMA weights: a second, shorter cosine cycle at a lower
        # rate is how the committed model got more training without redoing the first stage.
        prev = load(init)
        te.load_state_dict(prev["text_encoder"])
        unet.load_state_dict(prev["unet"])
    captured = []
    if grounding:
        for name, m in unet.named_modules():
            if name.endswith("attn2"):
                m.capture = captured
    params = list(te.parameters()) + list(unet.parameters())
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01, betas=(0.9, 0.99))
    warm = min(200, max(1, steps // 10))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    )
    ema_te, ema_unet = EMA(te, ema_decay), EMA(unet, ema_decay)
    ac = alphas_cumprod().to(dev)
    gen = torch.Generator().manual_seed(seed + 7)
    n = latents.shape[0]
    t0 = time.time()
    avg = g_avg = p_avg = None
    step = 0
    for step in range(steps):
        idx = torch.randint(0, n, (batch,), generator=gen).to(dev)
        x0 = latents[idx]
        ids = input_ids[idx]
        drop = (torch.rand(batch, generator=gen) < p_uncond).to(dev)
        ids = torch.where(drop[:, None], empty[None, :].expand_as(ids), ids)
        t = torch.randint(0, 1000, (batch,), generator=gen).to(dev)
        noise = torch.randn(x0.shape, generator=gen).to(dev)
        a = ac[t][:, None, None, None]
        xt = a.sqrt() * x0 + (1 - a).sqrt() * noise
        ctx = te(ids)
        captured.clear()
        pred = unet(xt, t, ctx)
        w = min_snr_weight(ac[t])
        loss = ((pred - noise).pow(2).mean(dim=(1, 2, 3)) * w).mean()
        g_loss = p_loss = None
        if grounding:
            g_loss, p_loss = grounding_loss(captured, slots[idx].float(), token_slot[idx], ~drop, pixel)
            loss = loss + grounding * g_loss + (pixel * p_loss if pixel else 0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        ema_te.update(te)
        ema_unet.update(unet)
        avg = _running(avg, loss.item())
        if g_loss is not None:
            g_avg = _running(g_avg, g_loss.item())
        if p_loss is not None:
            p_avg = _running(p_avg, p_loss.item())
        if step % log_every == 0 or step == steps - 1:
            el = time.time() - t0
            print(
                json.dumps(
                    dict(
                        stage="unet",
                        step=step,
                        loss=round(avg, 5),
                        grounding=g_avg and round(g_avg, 4),
                        pixel=p_avg and round(p_avg, 4),
                        lr=round(sched.get_last_lr()[0], 6),
                        s=round(el, 1),
                        samples_per_s=round((step + 1) * batch / max(el, 1e-6), 1),
                    )
                ),
                flush=True,
            )
        # --stop-step replays a run that a --max-minutes cap stopped, with the same LR schedule.
        done = (max_minutes and time.time() - t0 > max_minutes * 60) or (stop_step and step + 1 >= stop_step)
        if (step + 1) % ckpt_every == 0 or step == steps - 1 or done:
            save(
                dict(
                    text_encoder=ema_te.shadow,
                    unet=ema_unet.shadow,
                    text_config=TEXT_CONFIG,
                    unet_config=UNET_CONFIG,
                    steps=step + 1,
                    planned_steps=steps,
                    batch=batch,
                    images=n,
                    wall_s=time.time() - t0,
                    seed=seed,
                    grounding=grounding,
                    pixel=pixel,
                ),
                out,
            )
        if done:
            print("unet: time limit reached at step", step, flush=True)
            break
    wall = time.time() - t0
    print(json.dumps(dict(stage="unet", done=True, steps=step + 1, wall_s=round(wall, 1))), flush=True)
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--vae", default=None)
    p.add_argument("--images", type=int, default=12000)
    p.add_argument("--steps", type=int, default=3200)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=8e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None)
    p.add_argument("--out", default=None)
    p.add_argument("--cache", default=os.path.join(WORK, "latents.pt"))
    p.add_argument("--max-minutes", type=float, default=None)
    p.add_argument("--init", default=None, help="checkpoint of an earlier run to continue from")
    p.add_argument("--stop-step", type=int, default=None, help="stop after this many steps of the --steps schedule")
    p.add_argument("--grounding", type=float, default=0.0, help="weight of the cross-attention grounding loss")
    p.add_argument(
        "--pixel", type=float, default=0.0, help="weight of the grounding loss's per-position term (needs --grounding)"
    )
    a = p.parse_args()
    train(
        a.vae,
        a.images,
        a.steps,
        a.batch,
        a.lr,
        a.seed,
        a.device,
        a.out,
        a.cache,
        max_minutes=a.max_minutes,
        init=a.init,
        stop_step=a.stop_step,
        grounding=a.grounding,
        pixel=a.pixel,
    )


if __name__ == "__main__":
    main()
