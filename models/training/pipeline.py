"""The whole pipeline with the settings used for the committed model (fixed seeds):

/usr/bin/python3 -m models.training.pipeline
= train_vae (schedule of 1000 steps, stopped after 803 as the committed run was by its 10 min cap) -> train_unet (12k cached latents, 3200 steps, batch 32, 55 min cap)
  -> train_unet again from those weights (second cosine cycle: 1800 steps at lr 3e-4, other batches) -> export (models/daam-shapes + checkpoint) -> fixtures (test/fixtures/parity) -> evaluate (models/eval)
"""
import subprocess
import sys

STAGES = [
    ["models.training.train_vae", "--steps", "1000", "--stop-step", "803"],
    ["models.training.train_unet", "--images", "12000", "--steps", "3200", "--batch", "32", "--max-minutes", "55",
     "--out", "models/training/work/unet_stage1.pt"],
    ["models.training.train_unet", "--images", "12000", "--steps", "1800", "--batch", "32", "--lr", "3e-4", "--seed", "1",
     "--init", "models/training/work/unet_stage1.pt"],
    ["models.training.export"],
    ["models.training.fixtures"],
    ["models.training.evaluate"],
]


def main():
    for st in STAGES:
        print("==>", " ".join(st), flush=True)
        subprocess.check_call([sys.executable, "-m"] + st)


if __name__ == "__main__":
    main()
