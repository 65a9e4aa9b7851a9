"""Reference DDIM sampler (PyTorch eager, the same modules/weights that are exported to ONNX).

Follows diffusers' DDIMScheduler with the SD 1.5 config: "leading" spacing
(timesteps = arange(0, steps) * (1000 // steps) + steps_offset, reversed), set_alpha_to_one=False
(the final alpha_prod_t_prev is alphas_cumprod[0]), eta 0, epsilon prediction, no clipping.
Classifier-free guidance with the batch ordered [uncond, cond]:
noise_pred = uncond + g * (cond - uncond).
"""
import torch

from .common import alphas_cumprod

STEPS_OFFSET = 1


def ddim_timesteps(steps, offset=STEPS_OFFSET, train_steps=1000):
    ratio = train_steps // steps
    return (torch.arange(0, steps, dtype=torch.int64) * ratio).flip(0) + offset


@torch.no_grad()
def encode_prompts(tok, te, prompts):
    ids = torch.tensor([tok(p) for p in prompts], dtype=torch.int64)
    return te(ids), ids


@torch.no_grad()
def ddim_sample(unet, uncond, cond, noise, steps=20, guidance=5.0, callback=None):
    """uncond/cond: [B,77,D]; noise: [B,4,h,w] initial latents (init_noise_sigma = 1 for DDIM).
    Returns the final latents (before division by the VAE scaling factor)."""
    ac = alphas_cumprod()
    final = ac[0]
    ratio = 1000 // steps
    x = noise.clone()
    ctx = torch.cat([uncond, cond])
    b = x.shape[0]
    for t in ddim_timesteps(steps):
        tt = torch.full((2 * b,), int(t), dtype=torch.int64)
        eps = unet(torch.cat([x, x]), tt, ctx)
        e_u, e_c = eps[:b], eps[b:]
        e = e_u + guidance * (e_c - e_u)
        prev = int(t) - ratio
        a_t = ac[int(t)]
        a_prev = ac[prev] if prev >= 0 else final
        x0 = (x - (1 - a_t).sqrt() * e) / a_t.sqrt()
        x = a_prev.sqrt() * x0 + (1 - a_prev).sqrt() * e
        if callback:
            callback(int(t), x)
    return x


@torch.no_grad()
def decode(vae, latents):
    """latents from the sampler -> images in [-1,1] (divides by scaling_factor like diffusers)."""
    z = latents / vae.scaling_factor
    return torch.cat([vae.decode(z[i : i + 1]).clamp(-1, 1) for i in range(z.shape[0])])


@torch.no_grad()
def generate(tok, te, unet, vae, prompts, seeds=None, noise=None, steps=20, guidance=5.0, negative=""):
    cond, _ = encode_prompts(tok, te, prompts)
    uncond, _ = encode_prompts(tok, te, [negative] * len(prompts))
    if noise is None:
        noise = torch.cat([make_noise(s) for s in seeds])
    lat = ddim_sample(unet, uncond, cond, noise, steps, guidance)
    return decode(vae, lat), lat


def make_noise(seed, shape=(1, 4, 16, 16)):
    g = torch.Generator().manual_seed(int(seed))
    return torch.randn(shape, generator=g, dtype=torch.float32)
