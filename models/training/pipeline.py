"""The whole pipeline with the settings used for the committed model (fixed seeds):

/usr/bin/python3 -m models.training.pipeline
= train_vae (schedule of 1000 steps, stopped after 803 as the committed run was by its 10 min cap)
  -> train_unet, plain diffusion loss: 12k cached latents, the first 2500 steps (batch 32) of an
     8500-step cosine schedule (the committed run was switched to grounding there)
  -> train_unet with the cross-attention grounding loss (token term weight 0.03, pixel term 0.005)
     from those weights: a new 5000-step cosine cycle at lr 6e-4
  -> train_decoder: the autoencoder's decoder fine-tuned on the cached latents (encoder frozen)
  -> export (models/daam-shapes + checkpoint) -> fixtures (test/fixtures/parity) -> evaluate (models/eval)
About 115 minutes on 2 CPU cores with an optimised BLAS (models/README.md has the measured times).
"""
import subprocess
import sys

PLAIN = "models/training/work/unet_plain.pt"
DECODER = "models/training/work/vae_decoder.pt"
STAGES = [
    ["models.training.train_vae", "--steps", "1000", "--stop-step", "803"],
    [
        "models.training.train_unet",
        "--images",
        "12000",
        "--steps",
        "8500",
        "--stop-step",
        "2500",
        "--batch",
        "32",
        "--lr",
        "8e-4",
        "--out",
        PLAIN,
    ],
    [
        "models.training.train_unet",
        "--images",
        "12000",
        "--steps",
        "5000",
        "--batch",
        "32",
        "--lr",
        "6e-4",
        "--seed",
        "1",
        "--grounding",
        "0.03",
        "--pixel",
        "0.005",
        "--init",
        PLAIN,
    ],
    ["models.training.train_decoder", "--steps", "1500", "--out", DECODER],
    ["models.training.export", "--vae", DECODER],
    ["models.training.fixtures"],
    ["models.training.evaluate"],
]


def main():
    for st in STAGES:
        print("==>", " ".join(st), flush=True)
        subprocess.check_call([sys.executable, "-m"] + st)


if __name__ == "__main__":
    main()
