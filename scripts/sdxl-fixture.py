"""Builds the tiny SDXL-shaped test pipeline test/fixtures/sdxl-tiny/ (random weights) in the layout
Optimum writes for Stable Diffusion XL, plus one U-Net call's reference attention probabilities.
Callers: scripts/sdxl-fixture.sh (regenerates the committed fixture); the tests read the output
(src/main/engine/sdxl.test.ts, test/engine/sdxl.test.ts, e2e/sdxl.spec.ts).

    /usr/bin/python3 scripts/sdxl-fixture.py [OUT_DIR]     (default test/fixtures/sdxl-tiny)
    /usr/bin/python3 scripts/sdxl-fixture.py --full-depth-unet FILE.onnx   (SDXL's depths, 70 layers)

SDXL's structure, scaled down (widths, depths and image size), from the public configs of
stabilityai/stable-diffusion-xl-base-1.0 and Optimum's ONNX export contract:
  - text_encoder: CLIP-like causal transformer (CLIPTextModel), outputs last_hidden_state,
    pooler_output and hidden_states.0..N (Optimum exports SDXL's encoders with output_hidden_states);
  - text_encoder_2: a wider one with a projection (CLIPTextModelWithProjection), outputs
    text_embeds (projected pooled state), last_hidden_state and hidden_states.0..N;
  - the prompt embedding is both encoders' penultimate hidden states concatenated on the last axis,
    so the U-Net cross-attends over width1 + width2;
  - unet: inputs sample, timestep, encoder_hidden_states, text_embeds [B, projection_dim] and
    time_ids [B, 6] (original size, crop top-left, target size), whose sinusoidal embeddings with
    the pooled text go through add_embedding and are added to the time embedding; no attention at
    the finest level, 2-layer transformers at the middle one, deeper (3 here, 10 in SDXL) at the
    coarsest and in the mid block; linear proj_in/proj_out; output out_sample;
  - vae_decoder (scaling_factor 0.13025 as SDXL's) and vae_encoder (latent_parameters: mean and
    log-variance), scheduler EulerDiscrete "leading" as SDXL base.
The Turbo variant (EulerAncestral, "trailing") is made by the tests from a copy of this folder.

Reference (reference/): one batch-2 U-Net call ([uncond, cond]) on fixed inputs; for every
cross-attention layer in execution order, the softmax probabilities averaged over heads, per batch
half: probs.npy [layers-concatenated] with their names and shapes in reference.json.
"""
import json
import os
import shutil
import sys

import numpy as np
import torch
import torch.nn as nn

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
from models.training.export import _export as export  # noqa: E402
from models.training.export import _json as write_json  # noqa: E402
from models.training.nets import (  # noqa: E402  (the project's own SD building blocks)
    CLIPEncoderLayer,
    TimestepEmbedding,
    Timesteps,
    VAEDecoder,
    VAEEncoder,
    add_unet_blocks,
    run_unet_blocks,
)
from models.training.scheduler_configs import SDXL_SCHEDULER_CONFIG  # noqa: E402

MAX_LEN = 77
VOCAB = 662  # the bundled model's tokenizer (copied into tokenizer/ and tokenizer_2/)
BOS_ID, EOS_ID = 660, 661

TEXT1 = dict(hidden_size=32, num_hidden_layers=3, num_attention_heads=2, intermediate_size=64)
TEXT2 = dict(hidden_size=48, num_hidden_layers=3, num_attention_heads=3, intermediate_size=96, projection_dim=32)
CROSS = TEXT1["hidden_size"] + TEXT2["hidden_size"]
UNET = dict(
    block_out_channels=(8, 16, 24),
    layers_per_block=2,
    # heads per level (SDXL: 5, 10, 20 = head width 64); head width 8 here
    heads=(1, 2, 3),
    # transformer depth per level (SDXL: 1, 2, 10; level 0 has no attention)
    depth=(1, 2, 3),
    norm_num_groups=8,
    addition_time_embed_dim=8,
    sample_size=16,
)
VAE_CHANNELS = (8, 16, 16, 16)  # four levels: 8 pixels per latent cell, as SD's VAE
SCALING_FACTOR = 0.13025


# ----------------------------------------------------------------------------- text encoders


class TextEncoder(nn.Module):
    """CLIP-like causal encoder returning every hidden state, as output_hidden_states=True."""

    def __init__(self, hidden_size, num_hidden_layers, num_attention_heads, intermediate_size, projection_dim=None):
        super().__init__()
        self.token_embedding = nn.Embedding(VOCAB, hidden_size)
        self.position_embedding = nn.Embedding(MAX_LEN, hidden_size)
        self.layers = nn.ModuleList(
            [CLIPEncoderLayer(hidden_size, num_attention_heads, intermediate_size) for _ in range(num_hidden_layers)]
        )
        self.final_layer_norm = nn.LayerNorm(hidden_size)
        self.text_projection = nn.Linear(hidden_size, projection_dim, bias=False) if projection_dim else None
        self.register_buffer("causal_mask", torch.full((MAX_LEN, MAX_LEN), -1e4).triu(1), persistent=False)
        self.register_buffer("position_ids", torch.arange(MAX_LEN), persistent=False)
        nn.init.normal_(self.token_embedding.weight, std=0.5)
        nn.init.normal_(self.position_embedding.weight, std=0.1)

    def forward(self, input_ids):
        s = input_ids.shape[1]
        x = self.token_embedding(input_ids) + self.position_embedding(self.position_ids[:s])
        states = [x]
        for layer in self.layers:
            x = layer(x, self.causal_mask[:s, :s])
            states.append(x)
        last = self.final_layer_norm(x)
        # pooled: the state at the first EOS; EOS has the highest id in this vocabulary, as in CLIP's
        pooled = last[torch.arange(last.shape[0]), input_ids.argmax(-1)]
        return last, pooled, states


class TextEncoder1Export(nn.Module):
    def __init__(self, te):
        super().__init__()
        self.te = te

    def forward(self, input_ids):
        last, pooled, states = self.te(input_ids)
        return (last, pooled, *states)


class TextEncoder2Export(nn.Module):
    def __init__(self, te):
        super().__init__()
        self.te = te

    def forward(self, input_ids):
        last, pooled, states = self.te(input_ids)
        return (self.te.text_projection(pooled), last, *states)


# ----------------------------------------------------------------------------- U-Net


class UNetSDXL(nn.Module):
    """Down: plain (16^2) -> CrossAttn depth 2 (8^2) -> CrossAttn depth 3 (4^2); mid depth 3;
    up: CrossAttn depth 3 (4^2) -> CrossAttn depth 2 (8^2) -> plain (16^2), like SDXL's
    DownBlock2D / CrossAttnDownBlock2D x2 and the mirror, with the text_time add embedding."""

    def __init__(self):
        super().__init__()
        ch = list(UNET["block_out_channels"])
        heads, depth, g, L = UNET["heads"], UNET["depth"], UNET["norm_num_groups"], UNET["layers_per_block"]
        attn = [0] + list(depth[1:])  # SDXL: no attention at the finest level
        temb = ch[0] * 4
        self.conv_in = nn.Conv2d(4, ch[0], 3, padding=1)
        self.time_proj = Timesteps(ch[0])
        self.time_embedding = TimestepEmbedding(ch[0], temb)
        self.add_time_proj = Timesteps(UNET["addition_time_embed_dim"])
        self.add_embedding = TimestepEmbedding(6 * UNET["addition_time_embed_dim"] + TEXT2["projection_dim"], temb)
        add_unet_blocks(self, ch, temb, L, attn, CROSS, heads, g, mid_depth=depth[-1], linear=True)
        self.conv_norm_out = nn.GroupNorm(g, ch[0], eps=1e-5)
        self.conv_out = nn.Conv2d(ch[0], 4, 3, padding=1)

    def forward(self, sample, timestep, encoder_hidden_states, text_embeds, time_ids):
        temb = self.time_embedding(self.time_proj(timestep))
        b = time_ids.shape[0]
        t_emb = self.add_time_proj(time_ids.reshape(-1)).reshape(b, -1)
        temb = temb + self.add_embedding(torch.cat([text_embeds, t_emb], dim=-1))
        return run_unet_blocks(self, sample, temb, encoder_hidden_states)


class VAEDecoderExport(nn.Module):
    def __init__(self):
        super().__init__()
        self.post_quant_conv = nn.Conv2d(4, 4, 1)
        self.decoder = VAEDecoder(list(VAE_CHANNELS), 4, 4, 1)

    def forward(self, latent_sample):
        return self.decoder(self.post_quant_conv(latent_sample)).clamp(-1, 1)


class VAEEncoderExport(nn.Module):
    """sample [-1, 1] -> latent_parameters (mean and log-variance, 2 x 4 channels) as Optimum names it."""

    def __init__(self):
        super().__init__()
        self.encoder = VAEEncoder(list(VAE_CHANNELS), 4, 4, 1)
        self.quant_conv = nn.Conv2d(8, 8, 1)

    def forward(self, sample):
        return self.quant_conv(self.encoder(sample))


# ----------------------------------------------------------------------------- export


def text_config(cfg, arch):
    return {
        "architectures": [arch],
        "model_type": "clip_text_model",
        "bos_token_id": BOS_ID,
        "eos_token_id": EOS_ID,
        "pad_token_id": 1,
        "hidden_act": "quick_gelu",
        "hidden_size": cfg["hidden_size"],
        "intermediate_size": cfg["intermediate_size"],
        "max_position_embeddings": MAX_LEN,
        "num_attention_heads": cfg["num_attention_heads"],
        "num_hidden_layers": cfg["num_hidden_layers"],
        "projection_dim": cfg.get("projection_dim", cfg["hidden_size"]),
        "vocab_size": VOCAB,
    }


# SDXL base's, with the diffusers version second as the committed fixture has it (the None only
# reserves _class_name's first place; the spread fills it)
SCHEDULER = {"_class_name": None, "_diffusers_version": "0.19.0.dev0", **SDXL_SCHEDULER_CONFIG}


def copy_tokenizer(dst, pad):
    src = os.path.join(REPO, "models", "daam-shapes", "tokenizer")
    os.makedirs(dst)
    for f in ("vocab.json", "merges.txt"):
        shutil.copy(os.path.join(src, f), dst)
    for f in ("special_tokens_map.json", "tokenizer_config.json"):
        with open(os.path.join(src, f)) as fh:
            cfg = json.load(fh)
        cfg["pad_token"] = pad
        write_json(os.path.join(dst, f), cfg)


def tokenize(text):
    """The bundled tokenizer's ids for the reference prompts (word -> id from vocab.json)."""
    with open(os.path.join(REPO, "models", "daam-shapes", "tokenizer", "vocab.json")) as f:
        vocab = json.load(f)
    ids = [BOS_ID] + [vocab[w + "</w>"] for w in text.split()] + [EOS_ID]
    return ids


def main(out):
    torch.manual_seed(20240)
    te1 = TextEncoder(**TEXT1).eval()
    te2 = TextEncoder(**TEXT2).eval()
    unet = UNetSDXL().eval()
    vae = VAEDecoderExport().eval()
    vae_encoder = VAEEncoderExport().eval()  # made last: the other components' weights do not move
    # Random weights, scaled so that activations stay O(1) and the image is not saturated.
    with torch.no_grad():
        unet.conv_out.weight.mul_(0.2)
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)

    ids = torch.full((2, MAX_LEN), EOS_ID, dtype=torch.int64)
    ids[:, 0] = BOS_ID
    n1 = TEXT1["num_hidden_layers"] + 1
    n2 = TEXT2["num_hidden_layers"] + 1
    hs = lambda n: [f"hidden_states.{i}" for i in range(n)]  # noqa: E731
    batch = lambda names: {k: {0: "batch_size", 1: "sequence_length"} for k in names}  # noqa: E731
    export(
        TextEncoder1Export(te1),
        (ids,),
        os.path.join(out, "text_encoder", "model.onnx"),
        ["input_ids"],
        ["last_hidden_state", "pooler_output", *hs(n1)],
        {
            "input_ids": {0: "batch_size", 1: "sequence_length"},
            "pooler_output": {0: "batch_size"},
            **batch(["last_hidden_state", *hs(n1)]),
        },
    )
    export(
        TextEncoder2Export(te2),
        (ids,),
        os.path.join(out, "text_encoder_2", "model.onnx"),
        ["input_ids"],
        ["text_embeds", "last_hidden_state", *hs(n2)],
        {
            "input_ids": {0: "batch_size", 1: "sequence_length"},
            "text_embeds": {0: "batch_size"},
            **batch(["last_hidden_state", *hs(n2)]),
        },
    )
    write_json(os.path.join(out, "text_encoder", "config.json"), text_config(TEXT1, "CLIPTextModel"))
    write_json(os.path.join(out, "text_encoder_2", "config.json"), text_config(TEXT2, "CLIPTextModelWithProjection"))
    copy_tokenizer(os.path.join(out, "tokenizer"), "<|endoftext|>")
    copy_tokenizer(os.path.join(out, "tokenizer_2"), "!")  # SDXL's second tokenizer pads with "!"

    s = UNET["sample_size"]
    g = torch.Generator().manual_seed(7)
    sample = torch.randn(2, 4, s, s, generator=g)
    timestep = torch.tensor([500, 500], dtype=torch.int64)
    ctx = torch.randn(2, MAX_LEN, CROSS, generator=g)
    text_embeds = torch.randn(2, TEXT2["projection_dim"], generator=g)
    time_ids = torch.tensor([[128.0, 128.0, 0.0, 0.0, 128.0, 128.0]] * 2)
    export(
        unet,
        (sample, timestep, ctx, text_embeds, time_ids),
        os.path.join(out, "unet", "model.onnx"),
        ["sample", "timestep", "encoder_hidden_states", "text_embeds", "time_ids"],
        ["out_sample"],
        {
            "sample": {0: "batch_size", 2: "height", 3: "width"},
            "timestep": {0: "steps"},
            "encoder_hidden_states": {0: "batch_size", 1: "sequence_length"},
            "text_embeds": {0: "batch_size"},
            "time_ids": {0: "batch_size"},
            "out_sample": {0: "batch_size", 2: "height", 3: "width"},
        },
    )
    ch = list(UNET["block_out_channels"])
    write_json(
        os.path.join(out, "unet", "config.json"),
        {
            "_class_name": "UNet2DConditionModel",
            "act_fn": "silu",
            "addition_embed_type": "text_time",
            "addition_embed_type_num_heads": 64,
            "addition_time_embed_dim": UNET["addition_time_embed_dim"],
            "attention_head_dim": list(UNET["heads"]),
            "block_out_channels": ch,
            "cross_attention_dim": CROSS,
            "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
            "flip_sin_to_cos": True,
            "freq_shift": 0,
            "in_channels": 4,
            "layers_per_block": UNET["layers_per_block"],
            "mid_block_type": "UNetMidBlock2DCrossAttn",
            "norm_num_groups": UNET["norm_num_groups"],
            "out_channels": 4,
            "projection_class_embeddings_input_dim": 6 * UNET["addition_time_embed_dim"] + TEXT2["projection_dim"],
            "sample_size": s,
            "transformer_layers_per_block": list(UNET["depth"]),
            "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
            "use_linear_projection": True,
        },
    )
    export(
        vae,
        (torch.randn(1, 4, s, s),),
        os.path.join(out, "vae_decoder", "model.onnx"),
        ["latent_sample"],
        ["sample"],
        {"latent_sample": {0: "batch_size", 2: "height", 3: "width"}, "sample": {0: "batch_size", 2: "h", 3: "w"}},
    )
    write_json(
        os.path.join(out, "vae_decoder", "config.json"),
        {
            "_class_name": "AutoencoderKL",
            "block_out_channels": list(VAE_CHANNELS),
            "force_upcast": True,
            "in_channels": 3,
            "latent_channels": 4,
            "norm_num_groups": 4,
            "out_channels": 3,
            "sample_size": s * 8,
            "scaling_factor": SCALING_FACTOR,
        },
    )
    export(
        vae_encoder,
        (torch.randn(1, 3, s * 8, s * 8),),
        os.path.join(out, "vae_encoder", "model.onnx"),
        ["sample"],
        ["latent_parameters"],
        {"sample": {0: "batch_size", 2: "height", 3: "width"}, "latent_parameters": {0: "batch_size", 2: "h", 3: "w"}},
    )
    write_json(
        os.path.join(out, "vae_encoder", "config.json"),
        json.load(open(os.path.join(out, "vae_decoder", "config.json"))),
    )
    write_json(os.path.join(out, "scheduler", "scheduler_config.json"), SCHEDULER)
    write_json(
        os.path.join(out, "model_index.json"),
        {
            "_class_name": "ORTStableDiffusionXLPipeline",
            "_diffusers_version": "0.19.0.dev0",
            "force_zeros_for_empty_prompt": True,
            "scheduler": ["diffusers", "EulerDiscreteScheduler"],
            "text_encoder": ["optimum", "ORTModelTextEncoder"],
            "text_encoder_2": ["optimum", "ORTModelTextEncoder"],
            "tokenizer": ["transformers", "CLIPTokenizer"],
            "tokenizer_2": ["transformers", "CLIPTokenizer"],
            "unet": ["optimum", "ORTModelUnet"],
            "vae_decoder": ["optimum", "ORTModelVaeDecoder"],
            "vae_encoder": ["optimum", "ORTModelVaeEncoder"],
        },
    )

    # Reference: one batch-2 call, cross-attention probabilities captured in execution order.
    caught = []
    names = []
    for name, m in unet.named_modules():
        if name.endswith("attn2"):
            m.capture = caught
            names.append(name)
    with torch.no_grad():
        out_sample = unet(sample, timestep, ctx, text_embeds, time_ids)
    layers = []
    chunks = []
    for i, p in enumerate(caught):
        bh, hw, t = p.shape
        heads = bh // 2
        mean = p.reshape(2, heads, hw, t).mean(1)  # [uncond, cond] x [HW, T]
        layers.append({"hw": hw, "tokens": t, "heads": heads})
        chunks.append(mean.reshape(-1).numpy())
    ref = os.path.join(out, "reference")
    os.makedirs(ref)
    np.save(os.path.join(ref, "probs.npy"), np.concatenate(chunks).astype(np.float32))
    np.save(os.path.join(ref, "sample.npy"), sample.numpy())
    np.save(os.path.join(ref, "encoder_hidden_states.npy"), ctx.numpy())
    np.save(os.path.join(ref, "text_embeds.npy"), text_embeds.numpy())
    np.save(os.path.join(ref, "time_ids.npy"), time_ids.numpy())
    np.save(os.path.join(ref, "out_sample.npy"), out_sample.numpy())
    # The text encoders on one prompt, for the engine's embedding check.
    prompt = "a red circle"
    pid = tokenize(prompt)
    ids1 = torch.tensor([pid + [EOS_ID] * (MAX_LEN - len(pid))])
    ids2 = torch.tensor([pid + [0] * (MAX_LEN - len(pid))])
    with torch.no_grad():
        _, _, st1 = te1(ids1)
        _, pooled2, st2 = te2(ids2)
        embeds = torch.cat([st1[-2], st2[-2]], dim=-1)
        pooled = te2.text_projection(pooled2)
    np.save(os.path.join(ref, "prompt_embeds.npy"), embeds.numpy())
    np.save(os.path.join(ref, "pooled_prompt_embeds.npy"), pooled.numpy())
    write_json(
        os.path.join(ref, "reference.json"),
        {
            "source": "scripts/sdxl-fixture.py (torch %s)" % torch.__version__,
            "timestep": 500,
            "layers": [{"name": n, **l} for n, l in zip(names, layers)],
            "prompt": prompt,
            "note": "probs.npy: per layer in order, [uncond, cond] x [HW, T] head means, float32",
        },
    )
    params = sum(p.numel() for m in (te1, te2, unet, vae, vae_encoder) for p in m.parameters())
    print(f"{out}: {len(names)} cross-attention layers, {params} parameters")


def full_depth_unet(path):
    """SDXL's own transformer depths (1, 2, 10) at this fixture's widths, U-Net only, 256 px (latent
    32^2: depth 2 at 16^2, depth 10 at 8^2): 70 cross-attention layers, as SDXL. Too large to commit
    (about 10 MB); written on demand to check the hook finds all 70 by structure."""
    UNET["depth"] = (1, 2, 10)
    torch.manual_seed(0)
    unet = UNetSDXL().eval()
    s = 32
    args = (
        torch.randn(2, 4, s, s),
        torch.tensor([500, 500]),
        torch.randn(2, MAX_LEN, CROSS),
        torch.randn(2, TEXT2["projection_dim"]),
        torch.tensor([[256.0, 256.0, 0.0, 0.0, 256.0, 256.0]] * 2),
    )
    names = ["sample", "timestep", "encoder_hidden_states", "text_embeds", "time_ids"]
    axes = {"sample": {0: "batch_size", 2: "height", 3: "width"}, "timestep": {0: "steps"}}
    axes.update({n: {0: "batch_size"} for n in names[2:]})
    export(unet, args, path, names, ["out_sample"], axes)
    count = sum(1 for n, _ in unet.named_modules() if n.endswith("attn2"))
    print(f"{path}: {count} cross-attention layers")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--full-depth-unet":
        full_depth_unet(sys.argv[2])
    else:
        main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "test", "fixtures", "sdxl-tiny"))
