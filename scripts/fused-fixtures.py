"""Writes the fused-attention test fixtures (test/fixtures/fused/) by running U-Nets through ONNX
Runtime's own transformer optimizer (onnxruntime.transformers.optimizer, model_type 'unet'), the
way optimize_pipeline.py / Olive optimise Stable Diffusion exports. Callers: scripts/fused-fixtures.sh
(which runs this inside a Debian 13 root, where python3-onnxruntime is packaged); the fixtures are
committed, so the tests need neither.

    python3 scripts/fused-fixtures.py SRC_DIR OUT_DIR

For each SRC_DIR/<name>.onnx (the bundled U-Net, the synthetic ones) it writes:
  <name>.cpu.onnx  GPU-only fusions off (NhwcConv, GroupNorm, SkipGroupNorm, BiasSplitGelu, BiasAdd,
                   packed QKV/KV): self-attention becomes `Attention`, cross-attention
                   `MultiHeadAttention` with separate Q/K/V. Runs on the CPU provider.
  <name>.packed.onnx  CPU options but packed QKV (self) and packed KV (cross) MultiHeadAttention,
                   the attention layout of the GPU recipe without its GPU-only ops.
  <name>.gpu.onnx  the optimizer's defaults for unet: MultiHeadAttention with packed QKV (self) and
                   packed KV (cross), plus NhwcConv/GroupNorm that only CUDA/DirectML can run.
"""
import collections
import os
import sys

from onnxruntime.transformers.fusion_options import FusionOptions
from onnxruntime.transformers.optimizer import optimize_model


def options(kind: str) -> FusionOptions:
    o = FusionOptions("unet")
    if kind != "gpu":
        o.enable_nhwc_conv = False
        o.enable_group_norm = False
        o.enable_skip_group_norm = False
        o.enable_bias_splitgelu = False
        o.enable_bias_add = False
        o.enable_packed_qkv = False
        o.enable_packed_kv = kind == "packed"
    return o


def main(src: str, out: str) -> None:
    os.makedirs(out, exist_ok=True)
    for name in sorted(f for f in os.listdir(src) if f.endswith(".onnx")):
        base = name[: -len(".onnx")]
        for kind in ("cpu", "packed", "gpu"):
            model = optimize_model(
                os.path.join(src, name),
                model_type="unet",
                num_heads=0,  # read from the graph
                hidden_size=0,
                opt_level=0,  # only the Python fusions: no provider-specific graph rewrites baked in
                optimization_options=options(kind),
                use_gpu=kind == "gpu",
            )
            path = os.path.join(out, f"{base}.{kind}.onnx")
            model.save_model_to_file(path)
            ops = collections.Counter(
                f"{n.domain + '.' if n.domain else ''}{n.op_type}"
                for n in model.model.graph.node
                if n.domain == "com.microsoft" or n.op_type == "Softmax"
            )
            print(path, os.path.getsize(path), dict(ops))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
