"""Stage 5: export the trained (EMA) weights to the diffusers ONNX layout.

/usr/bin/python3 -m models.training.export [--out models/daam-shapes] [--untrained]
Also writes the combined PyTorch checkpoint used by the reference sampler
(models/training/checkpoint/daam-shapes.pt).
"""
import argparse
import inspect
import json
import os
import shutil

import torch

from .common import BUNDLE, CHECKPOINT, WORK, load, save
from .nets import (
    TEXT_CONFIG,
    UNET_CONFIG,
    VAE_CONFIG,
    AutoencoderKL,
    TextEncoder,
    TextEncoderExport,
    UNet2DConditionModel,
    VAEDecoderExport,
    VAEEncoderExport,
)
from .tokenizer import MAX_LEN, default_tokenizer
from .world import WORLD_FILE

OPSET = 17

# DDIM with SD's betas, like SD 2.x ships. Not SD 1.5's PNDMScheduler: its 4th-order linear
# multistep (PLMS) diverges on this small model (the combined epsilon grows from 1 to about 10 over
# 20 steps and the image falls apart), where DDIM, Euler and DPM++ 2M converge.
SCHEDULER_CONFIG = {
    "_class_name": "DDIMScheduler",
    "_diffusers_version": "0.21.0",
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "clip_sample": False,
    "num_train_timesteps": 1000,
    "prediction_type": "epsilon",
    "set_alpha_to_one": False,
    "steps_offset": 1,
    "timestep_spacing": "leading",
    "trained_betas": None,
}


def build_models(ck=None):
    """ck: combined checkpoint dict (see export()) or None for a fresh, untrained init."""
    torch.manual_seed(0)
    te = TextEncoder(**(ck["text_config"] if ck else TEXT_CONFIG))
    unet = UNet2DConditionModel(**(ck["unet_config"] if ck else UNET_CONFIG))
    vae = AutoencoderKL(**(ck["vae_config"] if ck else VAE_CONFIG))
    if ck:
        te.load_state_dict(ck["text_encoder"])
        unet.load_state_dict(ck["unet"])
        vae.load_state_dict(ck["vae"])
        vae.scaling_factor.fill_(ck["scaling_factor"])
    return te.eval(), unet.eval(), vae.eval()


def load_bundle_checkpoint(path=CHECKPOINT):
    return build_models(load(path))


def combine(vae_path, unet_path):
    v = load(vae_path) if vae_path and os.path.exists(vae_path) else None
    u = load(unet_path) if unet_path and os.path.exists(unet_path) else None
    torch.manual_seed(0)
    te, unet, vae = TextEncoder(**TEXT_CONFIG), UNet2DConditionModel(**UNET_CONFIG), AutoencoderKL(**VAE_CONFIG)
    ck = dict(
        text_config=TEXT_CONFIG,
        unet_config=UNET_CONFIG,
        vae_config=VAE_CONFIG,
        text_encoder=u["text_encoder"] if u else te.state_dict(),
        unet=u["unet"] if u else unet.state_dict(),
        vae=v["state"] if v else vae.state_dict(),
        scaling_factor=v["scaling_factor"] if v else 1.0,
        info=dict(
            unet_steps=u["steps"] if u else 0,
            unet_wall_s=u.get("wall_s") if u else 0,
            vae_steps=v["steps"] if v else 0,
            vae_wall_s=v.get("wall_s") if v else 0,
            batch=u.get("batch") if u else None,
            images=u.get("images") if u else None,
        ),
    )
    return ck


def _export(model, args, path, inputs, outputs, axes):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    kw = {}
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kw["dynamo"] = False  # the TorchScript exporter keeps module-path node names
    with torch.no_grad():
        torch.onnx.export(
            model,
            args,
            path,
            input_names=inputs,
            output_names=outputs,
            dynamic_axes=axes,
            opset_version=OPSET,
            do_constant_folding=True,
            **kw,
        )


def _json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


# The SD 1.x component exports (diffusers' OnnxStableDiffusionPipeline names and dynamic axes), shared
# by export() and sd15_shape.py.
def export_text_encoder(te, ids, out):
    _export(
        TextEncoderExport(te),
        (ids,),
        os.path.join(out, "text_encoder", "model.onnx"),
        ["input_ids"],
        ["last_hidden_state", "pooler_output"],
        {"input_ids": {0: "batch"}, "last_hidden_state": {0: "batch"}, "pooler_output": {0: "batch"}},
    )


def export_unet(unet, args, out):
    """args: (sample, timestep, encoder_hidden_states) to trace with; the axes are dynamic."""
    _export(
        unet,
        args,
        os.path.join(out, "unet", "model.onnx"),
        ["sample", "timestep", "encoder_hidden_states"],
        ["out_sample"],
        {
            "sample": {0: "batch", 2: "height", 3: "width"},
            "timestep": {0: "batch"},
            "encoder_hidden_states": {0: "batch", 1: "sequence"},
            "out_sample": {0: "batch", 2: "height", 3: "width"},
        },
    )


def export_vae_decoder(decoder, latent, out):
    """decoder: latent_sample -> sample in [-1, 1] (VAEDecoderExport or sd15_shape.SDVAEDecoder)."""
    _export(
        decoder,
        (latent,),
        os.path.join(out, "vae_decoder", "model.onnx"),
        ["latent_sample"],
        ["sample"],
        {"latent_sample": {0: "batch", 2: "height", 3: "width"}, "sample": {0: "batch", 2: "height", 3: "width"}},
    )


def export(ck, out=BUNDLE, write_checkpoint=True, encoder=True):
    te, unet, vae = build_models(ck)
    tok = default_tokenizer()
    D = ck["text_config"]["hidden_size"]
    # The world description lives in the bundle (its one home): read it before out (maybe the
    # bundle itself) is replaced, and write it back unchanged.
    with open(WORLD_FILE, encoding="utf-8") as f:
        world_json = f.read()
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    with open(os.path.join(out, "world.json"), "w", encoding="utf-8") as f:
        f.write(world_json)
    tok.save(os.path.join(out, "tokenizer"))
    assert len(tok.vocab) == ck["text_config"]["vocab_size"], (len(tok.vocab), ck["text_config"]["vocab_size"])

    ids = torch.tensor([tok("a snowman wearing a red hat"), tok("")], dtype=torch.int64)
    export_text_encoder(te, ids, out)
    tc = ck["text_config"]
    _json(
        os.path.join(out, "text_encoder", "config.json"),
        {
            "_name_or_path": "daam-shapes",
            "architectures": ["CLIPTextModel"],
            "model_type": "clip_text_model",
            "attention_dropout": 0.0,
            "bos_token_id": tok.bos,
            "eos_token_id": tok.eos,
            "pad_token_id": tok.eos,
            "hidden_act": "quick_gelu",
            "hidden_size": D,
            "intermediate_size": tc["intermediate_size"],
            "layer_norm_eps": 1e-5,
            "max_position_embeddings": MAX_LEN,
            "num_attention_heads": tc["num_attention_heads"],
            "num_hidden_layers": tc["num_hidden_layers"],
            "projection_dim": D,
            "torch_dtype": "float32",
            "vocab_size": tc["vocab_size"],
        },
    )

    uc = ck["unet_config"]
    sample = torch.randn(2, 4, 16, 16)
    t = torch.tensor([999, 1], dtype=torch.int64)
    ctx = torch.randn(2, MAX_LEN, D)
    export_unet(unet, (sample, t, ctx), out)
    n = len(uc["block_out_channels"])
    _json(
        os.path.join(out, "unet", "config.json"),
        {
            "_class_name": "UNet2DConditionModel",
            "_diffusers_version": "0.21.0",
            "act_fn": "silu",
            "attention_head_dim": uc["attention_head_dim"],
            "num_attention_heads": uc["attention_head_dim"],
            "block_out_channels": list(uc["block_out_channels"]),
            "center_input_sample": False,
            "cross_attention_dim": uc["cross_attention_dim"],
            "down_block_types": ["CrossAttnDownBlock2D"] * (n - 1) + ["DownBlock2D"],
            "downsample_padding": 1,
            "flip_sin_to_cos": True,
            "freq_shift": 0,
            "in_channels": uc["in_channels"],
            "layers_per_block": uc["layers_per_block"],
            "mid_block_scale_factor": 1,
            "mid_block_type": "UNetMidBlock2DCrossAttn",
            "norm_eps": 1e-5,
            "norm_num_groups": uc["norm_num_groups"],
            "out_channels": uc["out_channels"],
            "sample_size": uc["sample_size"],
            "up_block_types": ["UpBlock2D"] + ["CrossAttnUpBlock2D"] * (n - 1),
            "transformer_layers_per_block": 1,
            "use_linear_projection": False,
        },
    )

    vc = ck["vae_config"]
    vae_cfg = {
        "_class_name": "AutoencoderKL",
        "_diffusers_version": "0.21.0",
        "act_fn": "silu",
        "block_out_channels": list(vc["block_out_channels"]),
        "in_channels": 3,
        "out_channels": 3,
        "latent_channels": vc["latent_channels"],
        "layers_per_block": vc["layers_per_block"],
        "norm_num_groups": vc["norm_num_groups"],
        "sample_size": vc["sample_size"],
        "scaling_factor": float(ck["scaling_factor"]),
        "down_block_types": ["DownEncoderBlock2D"] * len(vc["block_out_channels"]),
        "up_block_types": ["UpDecoderBlock2D"] * len(vc["block_out_channels"]),
    }
    z = torch.randn(1, 4, 16, 16)
    export_vae_decoder(VAEDecoderExport(vae), z, out)
    _json(os.path.join(out, "vae_decoder", "config.json"), vae_cfg)
    components = {"vae_decoder": ["diffusers", "OnnxRuntimeModel"]}
    if encoder:
        x = torch.randn(1, 3, 128, 128)
        _export(
            VAEEncoderExport(vae),
            (x,),
            os.path.join(out, "vae_encoder", "model.onnx"),
            ["sample"],
            ["latent_parameters"],
            {
                "sample": {0: "batch", 2: "height", 3: "width"},
                "latent_parameters": {0: "batch", 2: "height", 3: "width"},
            },
        )
        _json(os.path.join(out, "vae_encoder", "config.json"), vae_cfg)
        components["vae_encoder"] = ["diffusers", "OnnxRuntimeModel"]
    _json(os.path.join(out, "scheduler", "scheduler_config.json"), SCHEDULER_CONFIG)
    index = {
        "_class_name": "OnnxStableDiffusionPipeline",
        "_diffusers_version": "0.21.0",
        "feature_extractor": [None, None],
        "requires_safety_checker": False,
        "safety_checker": [None, None],
        "scheduler": ["diffusers", SCHEDULER_CONFIG["_class_name"]],
        "text_encoder": ["diffusers", "OnnxRuntimeModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"],
        "unet": ["diffusers", "OnnxRuntimeModel"],
    }
    index.update(components)
    _json(os.path.join(out, "model_index.json"), dict(sorted(index.items())))
    if write_checkpoint:
        save(ck, CHECKPOINT if write_checkpoint is True else write_checkpoint)
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--vae", default=os.path.join(WORK, "vae.pt"))
    p.add_argument("--unet", default=os.path.join(WORK, "unet.pt"))
    p.add_argument("--out", default=BUNDLE)
    p.add_argument("--untrained", action="store_true", help="export a fresh init (architecture/I-O only)")
    p.add_argument("--checkpoint", default=None, help="export from a combined checkpoint instead")
    a = p.parse_args()
    if a.checkpoint:
        ck = load(a.checkpoint)
    else:
        ck = combine(None if a.untrained else a.vae, None if a.untrained else a.unet)
    out = export(ck, a.out)
    print("exported to", out)


if __name__ == "__main__":
    main()
