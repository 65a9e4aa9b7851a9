"""An SD-1.5-shape pipeline with random weights, for the Stable-Diffusion-scale bench.

/usr/bin/python3 -m models.training.sd15_shape --out /var/tmp/sd15-shape/raw

Callers: bench/sd15-scale.ts runs this once (when its cache folder is missing); bench/sd15-shape.ts
then gathers the U-Net's per-tensor weight files into one `model.onnx_data` (as Optimum's export
does) and writes the float16 variant. Nothing in the app or the tests imports it.

Shapes are Stable Diffusion 1.5's, parameter for parameter (printed at the end):
- U-Net 859.5 M: the project's own modules (nets.py, diffusers' module names) with SD 1.5's config:
  320/640/1280/1280 channels, 2 resnets per block, one transformer per attention block, 8 heads,
  cross-attention over 768, attention in the first three down blocks, the mid block and the last
  three up blocks.
- Text encoder 123.1 M: CLIP ViT-L/14's text tower (12 layers, width 768, 12 heads, MLP 3072,
  49408 tokens). The tokenizer is the bundled model's (662 tokens), its vocabulary padded with
  unreachable filler entries to 49408 so that the tokenizer and the embedding table agree.
- VAE decoder 49.5 M: SD's (post_quant_conv, 512-channel mid block with a single-head attention,
  up blocks 512/512/256/128 with 3 resnets each).
Random weights (seeded) stand in for trained ones: speed and memory depend on shapes only. Weights
are scaled down so that activations stay finite through 16 transformer blocks in float16 too.
"""
import argparse
import json
import os
import shutil

import torch
import torch.nn as nn
import torch.nn.functional as F

from .export import OPSET, SCHEDULER_CONFIG, _json, export_text_encoder, export_unet, export_vae_decoder
from .nets import ResnetBlock2D, TextEncoder, UNet2DConditionModel, count_params, run_vae_up_blocks, vae_up_blocks

HERE = os.path.dirname(os.path.abspath(__file__))
BUNDLED_TOKENIZER = os.path.join(HERE, "..", "daam-shapes", "tokenizer")

CLIP_VOCAB = 49408
TEXT = dict(
    vocab_size=CLIP_VOCAB,
    hidden_size=768,
    num_hidden_layers=12,
    num_attention_heads=12,
    intermediate_size=3072,
    max_position_embeddings=77,
)
UNET = dict(
    block_out_channels=(320, 640, 1280, 1280),
    layers_per_block=2,
    cross_attention_dim=768,
    attention_head_dim=8,
    norm_num_groups=32,
    sample_size=64,
    in_channels=4,
    out_channels=4,
)
VAE_CHANNELS = (128, 256, 512, 512)
VAE_LAYERS = 2
SD15_SCALING = 0.18215


class VAEAttention(nn.Module):
    """SD's VAE mid-block attention: one head over all channels, on the flattened latent."""

    def __init__(self, c, groups):
        super().__init__()
        self.group_norm = nn.GroupNorm(groups, c, eps=1e-6)
        self.to_q = nn.Linear(c, c)
        self.to_k = nn.Linear(c, c)
        self.to_v = nn.Linear(c, c)
        self.to_out = nn.ModuleList([nn.Linear(c, c), nn.Dropout(0.0)])
        self.scale = c**-0.5

    def forward(self, x):
        b, c, h, w = x.shape
        t = self.group_norm(x).reshape(b, c, h * w).transpose(1, 2)
        q, k, v = self.to_q(t), self.to_k(t), self.to_v(t)
        p = (torch.matmul(q, k.transpose(1, 2)) * self.scale).softmax(-1)
        o = self.to_out[0](torch.matmul(p, v))
        return x + o.transpose(1, 2).reshape(b, c, h, w)


class SDVAEDecoder(nn.Module):
    """latent_sample -> image in [-1, 1], SD's decoder layout (diffusers' module names)."""

    def __init__(self, ch=VAE_CHANNELS, latent=4, groups=32, layers=VAE_LAYERS):
        super().__init__()
        rev = list(ch)[::-1]
        self.post_quant_conv = nn.Conv2d(latent, latent, 1)
        self.decoder = nn.Module()
        d = self.decoder
        d.conv_in = nn.Conv2d(latent, rev[0], 3, padding=1)
        d.mid_block = nn.Module()
        d.mid_block.resnets = nn.ModuleList([ResnetBlock2D(rev[0], rev[0], 0, groups) for _ in range(2)])
        d.mid_block.attentions = nn.ModuleList([VAEAttention(rev[0], groups)])
        d.up_blocks = vae_up_blocks(rev, groups, layers)
        d.conv_norm_out = nn.GroupNorm(groups, rev[-1], eps=1e-6)
        d.conv_out = nn.Conv2d(rev[-1], 3, 3, padding=1)

    def forward(self, z):
        d = self.decoder
        x = d.conv_in(self.post_quant_conv(z))
        x = d.mid_block.resnets[0](x)
        x = d.mid_block.attentions[0](x)
        x = run_vae_up_blocks(d.up_blocks, d.mid_block.resnets[1](x))
        return d.conv_out(F.silu(d.conv_norm_out(x))).clamp(-1, 1)


def tame(model, gain=0.5):
    """Shrinks random weights so residual streams stay O(1): default inits compound over SD's depth."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                m.weight.mul_(gain)


def write_tokenizer(out):
    """The bundled tokenizer with its vocabulary padded to CLIP's 49408 entries (see the module doc)."""
    shutil.copytree(BUNDLED_TOKENIZER, out)
    path = os.path.join(out, "vocab.json")
    with open(path, encoding="utf-8") as f:
        vocab = json.load(f)
    n = len(vocab)
    # "<|...|>" never survives CLIP's pre-tokenizer as one piece, so these ids are unreachable.
    for i in range(n, CLIP_VOCAB):
        vocab[f"<|filler_{i}|>"] = i
    with open(path, "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    return vocab["<|startoftext|>"], vocab["<|endoftext|>"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="output folder (replaced)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    out = a.out
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    bos, eos = write_tokenizer(os.path.join(out, "tokenizer"))
    counts = {}

    te = TextEncoder(**TEXT).eval()
    counts["text_encoder"] = count_params(te)
    ids = torch.full((1, 77), eos, dtype=torch.int64)
    ids[0, 0] = bos
    export_text_encoder(te, ids, out)
    _json(
        os.path.join(out, "text_encoder", "config.json"),
        {
            "_name_or_path": "sd15-shape",
            "architectures": ["CLIPTextModel"],
            "model_type": "clip_text_model",
            "bos_token_id": bos,
            "eos_token_id": eos,
            "pad_token_id": eos,
            "hidden_act": "quick_gelu",
            "hidden_size": TEXT["hidden_size"],
            "intermediate_size": TEXT["intermediate_size"],
            "max_position_embeddings": 77,
            "num_attention_heads": TEXT["num_attention_heads"],
            "num_hidden_layers": TEXT["num_hidden_layers"],
            "projection_dim": 768,
            "torch_dtype": "float32",
            "vocab_size": CLIP_VOCAB,
        },
    )
    del te

    unet = UNet2DConditionModel(**UNET).eval()
    tame(unet)
    counts["unet"] = count_params(unet)
    # A small latent for tracing (the axes are dynamic): 16x16 reaches 2x2 at the last level.
    export_unet(
        unet, (torch.randn(2, 4, 16, 16), torch.tensor([999, 999], dtype=torch.int64), torch.randn(2, 77, 768)), out
    )
    _json(
        os.path.join(out, "unet", "config.json"),
        {
            "_class_name": "UNet2DConditionModel",
            "_diffusers_version": "0.21.0",
            "act_fn": "silu",
            "attention_head_dim": 8,
            "block_out_channels": list(UNET["block_out_channels"]),
            "center_input_sample": False,
            "cross_attention_dim": 768,
            "down_block_types": ["CrossAttnDownBlock2D"] * 3 + ["DownBlock2D"],
            "downsample_padding": 1,
            "flip_sin_to_cos": True,
            "freq_shift": 0,
            "in_channels": 4,
            "layers_per_block": 2,
            "mid_block_scale_factor": 1,
            "mid_block_type": "UNetMidBlock2DCrossAttn",
            "norm_eps": 1e-5,
            "norm_num_groups": 32,
            "out_channels": 4,
            "sample_size": 64,
            "up_block_types": ["UpBlock2D"] + ["CrossAttnUpBlock2D"] * 3,
            "use_linear_projection": False,
        },
    )
    del unet

    vae = SDVAEDecoder().eval()
    tame(vae)
    counts["vae_decoder"] = count_params(vae)
    export_vae_decoder(vae, torch.randn(1, 4, 8, 8), out)
    _json(
        os.path.join(out, "vae_decoder", "config.json"),
        {
            "_class_name": "AutoencoderKL",
            "_diffusers_version": "0.21.0",
            "act_fn": "silu",
            "block_out_channels": list(VAE_CHANNELS),
            "in_channels": 3,
            "out_channels": 3,
            "latent_channels": 4,
            "layers_per_block": VAE_LAYERS,
            "norm_num_groups": 32,
            "sample_size": 512,
            "scaling_factor": SD15_SCALING,
            "down_block_types": ["DownEncoderBlock2D"] * 4,
            "up_block_types": ["UpDecoderBlock2D"] * 4,
        },
    )
    _json(os.path.join(out, "scheduler", "scheduler_config.json"), SCHEDULER_CONFIG)
    _json(
        os.path.join(out, "model_index.json"),
        {
            "_class_name": "OnnxStableDiffusionPipeline",
            "_diffusers_version": "0.21.0",
            "scheduler": ["diffusers", "DDIMScheduler"],
            "text_encoder": ["diffusers", "OnnxRuntimeModel"],
            "tokenizer": ["transformers", "CLIPTokenizer"],
            "unet": ["diffusers", "OnnxRuntimeModel"],
            "vae_decoder": ["diffusers", "OnnxRuntimeModel"],
        },
    )
    _json(os.path.join(out, "params.json"), {"opset": OPSET, "parameters": counts, "seed": a.seed})
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
