"""Shared training helpers: device selection, seeds, noise schedule, checkpoints."""
import os
import random

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, "work")
MODELS = os.path.dirname(HERE)
BUNDLE = os.path.join(MODELS, "daam-shapes")
CHECKPOINT = os.path.join(MODELS, "training", "checkpoint", "daam-shapes.pt")

NUM_TRAIN_TIMESTEPS = 1000
BETA_START = 0.00085
BETA_END = 0.012


def setup(seed=0, threads=2):
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    if threads:
        torch.set_num_threads(threads)


def device(name=None):
    if name:
        return torch.device(name)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def alphas_cumprod():
    """scaled_linear betas exactly as Stable Diffusion / diffusers (float32)."""
    betas = torch.linspace(BETA_START**0.5, BETA_END**0.5, NUM_TRAIN_TIMESTEPS, dtype=torch.float32) ** 2
    return torch.cumprod(1.0 - betas, dim=0)


def save(obj, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def load(path):
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except TypeError:  # older torch without weights_only
        return torch.load(path, map_location="cpu")


class EMA:
    def __init__(self, model, decay=0.999):
        self.decay = decay
        self.n = 0
        self.shadow = {k: v.detach().clone() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self, model):
        self.n += 1
        d = min(self.decay, (1 + self.n) / (10 + self.n))
        for k, v in model.state_dict().items():
            if v.dtype.is_floating_point:
                self.shadow[k].mul_(d).add_(v.detach(), alpha=1 - d)
            else:
                self.shadow[k].copy_(v)
