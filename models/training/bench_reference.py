"""Benchmark of the PyTorch eager reference sampler for the bundled model; prints JSON.

/usr/bin/python3 -m models.training.bench_reference --steps 20 [--runs 2] [--threads 2]
"""
import argparse
import json
import time

import torch

from .common import CHECKPOINT, load
from .export import build_models
from .sampler import generate
from .tokenizer import default_tokenizer

PROMPT = "a snowman wearing a red hat and a blue scarf around its neck"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--guidance", type=float, default=5.0)
    p.add_argument("--checkpoint", default=CHECKPOINT)
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    te, unet, vae = build_models(load(a.checkpoint))
    tok = default_tokenizer()
    generate(tok, te, unet, vae, [PROMPT], seeds=[0], steps=2, guidance=a.guidance)  # warm-up
    times = []
    for r in range(a.runs):
        t0 = time.perf_counter()
        generate(tok, te, unet, vae, [PROMPT], seeds=[r], steps=a.steps, guidance=a.guidance)
        times.append(time.perf_counter() - t0)
    best = min(times)
    print(
        json.dumps(
            dict(
                backend="pytorch-eager",
                torch=torch.__version__,
                threads=torch.get_num_threads(),
                steps=a.steps,
                guidance=a.guidance,
                runs=a.runs,
                seconds_per_image=best,
                seconds_per_step=best / a.steps,
                times=times,
                prompt=PROMPT,
            )
        )
    )


if __name__ == "__main__":
    main()
