"""Networks shaped like Stable Diffusion's, small enough to train on a 2-core CPU.

Module names mirror diffusers (down_blocks.N.attentions.M.transformer_blocks.0.attn1/attn2,
mid_block, up_blocks, conv_in, time_embedding, ...) so an ONNX export gets node names like a
real SD export. Attention is written unfused in the old 3-D layout:
q,k,v -> [B*heads, S, d]; MatMul(q, k^T) -> Mul(scale) -> Softmax -> MatMul(v).
Callers: the training and export stages here (export.py, train_unet.py, train_vae.py), sd15_shape.py
(SD 1.5's shapes) and scripts/sdxl-fixture.py (the SDXL-shaped test fixture, linear projections and
deeper transformers through the same blocks).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

TEXT_CONFIG = dict(
    vocab_size=662,
    hidden_size=64,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=256,
    max_position_embeddings=77,
)
UNET_CONFIG = dict(
    block_out_channels=(32, 64, 64),
    layers_per_block=1,
    cross_attention_dim=64,
    attention_head_dim=2,
    norm_num_groups=16,
    sample_size=16,
    in_channels=4,
    out_channels=4,
)
VAE_CONFIG = dict(
    block_out_channels=(16, 32, 64, 64), latent_channels=4, norm_num_groups=8, layers_per_block=1, sample_size=128
)


# ----------------------------------------------------------------------------- text encoder


class CLIPAttention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.q_proj = nn.Linear(d, d)
        self.k_proj = nn.Linear(d, d)
        self.v_proj = nn.Linear(d, d)
        self.out_proj = nn.Linear(d, d)

    def forward(self, x, mask):
        b, s, d = x.shape
        h = self.heads
        q = self.q_proj(x).reshape(b, s, h, d // h).transpose(1, 2)
        k = self.k_proj(x).reshape(b, s, h, d // h).transpose(1, 2)
        v = self.v_proj(x).reshape(b, s, h, d // h).transpose(1, 2)
        w = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(d // h)) + mask
        o = torch.matmul(w.softmax(-1), v).transpose(1, 2).reshape(b, s, d)
        return self.out_proj(o)


class CLIPMLP(nn.Module):
    def __init__(self, d, inner):
        super().__init__()
        self.fc1 = nn.Linear(d, inner)
        self.fc2 = nn.Linear(inner, d)

    def forward(self, x):
        x = self.fc1(x)
        return self.fc2(x * torch.sigmoid(1.702 * x))  # quick_gelu like CLIP


class CLIPEncoderLayer(nn.Module):
    def __init__(self, d, heads, inner):
        super().__init__()
        self.self_attn = CLIPAttention(d, heads)
        self.layer_norm1 = nn.LayerNorm(d)
        self.mlp = CLIPMLP(d, inner)
        self.layer_norm2 = nn.LayerNorm(d)

    def forward(self, x, mask):
        x = x + self.self_attn(self.layer_norm1(x), mask)
        return x + self.mlp(self.layer_norm2(x))


class TextEncoder(nn.Module):
    """CLIP-like causal transformer: input_ids [B,77] -> last_hidden_state [B,77,D]."""

    def __init__(
        self,
        vocab_size,
        hidden_size,
        num_hidden_layers,
        num_attention_heads,
        intermediate_size,
        max_position_embeddings,
    ):
        super().__init__()
        self.config = dict(
            vocab_size=vocab_size,
            hidden_size=hidden_size,
            num_hidden_layers=num_hidden_layers,
            num_attention_heads=num_attention_heads,
            intermediate_size=intermediate_size,
            max_position_embeddings=max_position_embeddings,
        )
        self.token_embedding = nn.Embedding(vocab_size, hidden_size)
        self.position_embedding = nn.Embedding(max_position_embeddings, hidden_size)
        self.layers = nn.ModuleList(
            [CLIPEncoderLayer(hidden_size, num_attention_heads, intermediate_size) for _ in range(num_hidden_layers)]
        )
        self.final_layer_norm = nn.LayerNorm(hidden_size)
        n = max_position_embeddings
        self.register_buffer("causal_mask", torch.full((n, n), -1e4).triu(1), persistent=False)
        self.register_buffer("position_ids", torch.arange(n), persistent=False)
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        nn.init.normal_(self.position_embedding.weight, std=0.01)

    def forward(self, input_ids):
        s = input_ids.shape[1]
        x = self.token_embedding(input_ids) + self.position_embedding(self.position_ids[:s])
        mask = self.causal_mask[:s, :s]
        for layer in self.layers:
            x = layer(x, mask)
        return self.final_layer_norm(x)


class TextEncoderExport(nn.Module):
    """Adds CLIP's pooler_output (hidden state at the first EOS = argmax id)."""

    def __init__(self, te):
        super().__init__()
        self.te = te

    def forward(self, input_ids):
        h = self.te(input_ids)
        idx = input_ids.argmax(-1)
        pooled = h[torch.arange(h.shape[0]), idx]
        return h, pooled


# ----------------------------------------------------------------------------- shared blocks


class ResnetBlock2D(nn.Module):
    def __init__(self, cin, cout, temb, groups):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=1e-5)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb, cout) if temb else None
        self.norm2 = nn.GroupNorm(groups, cout, eps=1e-5)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, temb=None):
        h = self.conv1(F.silu(self.norm1(x)))
        if self.time_emb_proj is not None:
            h = h + self.time_emb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        if self.conv_shortcut is not None:
            x = self.conv_shortcut(x)
        return x + h


class Downsample2D(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, stride=2, padding=1)

    def forward(self, x):
        return self.conv(x)


class Upsample2D(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


# ----------------------------------------------------------------------------- U-Net


class Attention(nn.Module):
    """Unfused multi-head attention in the old diffusers 3-D layout."""

    # Training only (grounding loss): a list that cross-attention appends its softmax output to.
    # None at export, so the graph is unchanged.
    capture = None

    def __init__(self, dim, context_dim, heads):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_k = nn.Linear(context_dim, dim, bias=False)
        self.to_v = nn.Linear(context_dim, dim, bias=False)
        self.to_out = nn.ModuleList([nn.Linear(dim, dim), nn.Dropout(0.0)])

    def head_to_batch_dim(self, t):
        b, s, d = t.shape
        h = self.heads
        return t.reshape(b, s, h, d // h).permute(0, 2, 1, 3).reshape(b * h, s, d // h)

    def batch_to_head_dim(self, t):
        bh, s, dh = t.shape
        h = self.heads
        return t.reshape(bh // h, h, s, dh).permute(0, 2, 1, 3).reshape(bh // h, s, dh * h)

    def forward(self, x, context=None):
        context = x if context is None else context
        q = self.head_to_batch_dim(self.to_q(x))
        k = self.head_to_batch_dim(self.to_k(context))
        v = self.head_to_batch_dim(self.to_v(context))
        scores = torch.matmul(q, k.transpose(1, 2)) * self.scale
        probs = scores.softmax(dim=-1)
        if self.capture is not None:
            self.capture.append(probs)
        out = self.batch_to_head_dim(torch.matmul(probs, v))
        return self.to_out[1](self.to_out[0](out))


class GEGLU(nn.Module):
    def __init__(self, dim, inner):
        super().__init__()
        self.proj = nn.Linear(dim, inner * 2)

    def forward(self, x):
        a, gate = self.proj(x).chunk(2, dim=-1)
        return a * F.gelu(gate)


class FeedForward(nn.Module):
    def __init__(self, dim, mult=4):
        super().__init__()
        self.net = nn.ModuleList([GEGLU(dim, dim * mult), nn.Dropout(0.0), nn.Linear(dim * mult, dim)])

    def forward(self, x):
        for m in self.net:
            x = m(x)
        return x


class BasicTransformerBlock(nn.Module):
    def __init__(self, dim, context_dim, heads):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn1 = Attention(dim, dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.attn2 = Attention(dim, context_dim, heads)
        self.norm3 = nn.LayerNorm(dim)
        self.ff = FeedForward(dim)

    def forward(self, x, context):
        x = self.attn1(self.norm1(x)) + x
        x = self.attn2(self.norm2(x), context) + x
        return self.ff(self.norm3(x)) + x


class Transformer2DModel(nn.Module):
    """`depth` blocks between proj_in/proj_out: 1x1 convolutions on the feature map as SD 1.x, or
    linear layers on the flattened tokens (linear=True: use_linear_projection, as SD 2.x and SDXL;
    scripts/sdxl-fixture.py builds those)."""

    def __init__(self, c, context_dim, heads, groups, depth=1, linear=False):
        super().__init__()
        self.linear = linear
        self.norm = nn.GroupNorm(groups, c, eps=1e-6)
        self.proj_in = nn.Linear(c, c) if linear else nn.Conv2d(c, c, 1)
        self.transformer_blocks = nn.ModuleList([BasicTransformerBlock(c, context_dim, heads) for _ in range(depth)])
        self.proj_out = nn.Linear(c, c) if linear else nn.Conv2d(c, c, 1)

    def forward(self, x, context):
        b, c, h, w = x.shape
        res = x
        x = self.norm(x)
        if self.linear:
            x = self.proj_in(x.permute(0, 2, 3, 1).reshape(b, h * w, c))
        else:
            x = self.proj_in(x).permute(0, 2, 3, 1).reshape(b, h * w, c)
        for blk in self.transformer_blocks:
            x = blk(x, context)
        if self.linear:
            x = self.proj_out(x).reshape(b, h, w, c).permute(0, 3, 1, 2)
        else:
            x = self.proj_out(x.reshape(b, h, w, c).permute(0, 3, 1, 2))
        return x + res


def block_attentions(c, context_dim, heads, groups, depth, linear, count):
    """A block's `count` transformers of `depth` blocks each, or None where the block has no attention."""
    if not depth:
        return None
    return nn.ModuleList([Transformer2DModel(c, context_dim, heads, groups, depth, linear) for _ in range(count)])


class DownBlock(nn.Module):
    """depth: transformer blocks per attention (0: a plain DownBlock2D); linear: see Transformer2DModel."""

    def __init__(self, cin, cout, temb, layers, depth, context_dim, heads, groups, downsample, linear=False):
        super().__init__()
        self.resnets = nn.ModuleList(
            [ResnetBlock2D(cin if i == 0 else cout, cout, temb, groups) for i in range(layers)]
        )
        self.attentions = block_attentions(cout, context_dim, heads, groups, depth, linear, layers)
        self.downsamplers = nn.ModuleList([Downsample2D(cout)]) if downsample else None

    def forward(self, x, temb, context):
        skips = []
        for i, r in enumerate(self.resnets):
            x = r(x, temb)
            if self.attentions is not None:
                x = self.attentions[i](x, context)
            skips.append(x)
        if self.downsamplers is not None:
            x = self.downsamplers[0](x)
            skips.append(x)
        return x, skips


class UpBlock(nn.Module):
    """depth, linear: as DownBlock."""

    def __init__(self, cin_skips, prev, cout, temb, layers, depth, context_dim, heads, groups, upsample, linear=False):
        super().__init__()
        self.resnets = nn.ModuleList(
            [ResnetBlock2D((prev if i == 0 else cout) + cin_skips[i], cout, temb, groups) for i in range(layers)]
        )
        self.attentions = block_attentions(cout, context_dim, heads, groups, depth, linear, layers)
        self.upsamplers = nn.ModuleList([Upsample2D(cout)]) if upsample else None

    def forward(self, x, skips, temb, context):
        for i, r in enumerate(self.resnets):
            x = torch.cat([x, skips.pop()], dim=1)
            x = r(x, temb)
            if self.attentions is not None:
                x = self.attentions[i](x, context)
        if self.upsamplers is not None:
            x = self.upsamplers[0](x)
        return x


class UNetMidBlock2DCrossAttn(nn.Module):
    def __init__(self, c, temb, context_dim, heads, groups, depth=1, linear=False):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(c, c, temb, groups), ResnetBlock2D(c, c, temb, groups)])
        self.attentions = block_attentions(c, context_dim, heads, groups, depth, linear, 1)

    def forward(self, x, temb, context):
        x = self.resnets[0](x, temb)
        x = self.attentions[0](x, context)
        return self.resnets[1](x, temb)


class TimestepEmbedding(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.linear_1 = nn.Linear(cin, cout)
        self.linear_2 = nn.Linear(cout, cout)

    def forward(self, x):
        return self.linear_2(F.silu(self.linear_1(x)))


class Timesteps(nn.Module):
    """Sinusoidal projection (flip_sin_to_cos=True, downscale_freq_shift=0 as SD)."""

    def __init__(self, dim):
        super().__init__()
        half = dim // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
        self.register_buffer("freqs", freqs, persistent=False)

    def forward(self, t):
        args = t.to(torch.float32)[:, None] * self.freqs[None, :]
        return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class UNet2DConditionModel(nn.Module):
    """Down: CrossAttn (16x16) -> CrossAttn (8x8) -> plain (4x4); mid CrossAttn (4x4);
    up: plain (4x4) -> CrossAttn (8x8) -> CrossAttn (16x16)."""

    def __init__(
        self,
        block_out_channels=(64, 128, 128),
        layers_per_block=1,
        cross_attention_dim=128,
        attention_head_dim=4,
        norm_num_groups=32,
        sample_size=16,
        in_channels=4,
        out_channels=4,
    ):
        super().__init__()
        ch = list(block_out_channels)
        heads = attention_head_dim
        g = norm_num_groups
        L = layers_per_block
        temb = ch[0] * 4
        n = len(ch)
        attn_down = [True] * (n - 1) + [False]
        self.config = dict(
            block_out_channels=tuple(ch),
            layers_per_block=L,
            cross_attention_dim=cross_attention_dim,
            attention_head_dim=heads,
            norm_num_groups=g,
            sample_size=sample_size,
            in_channels=in_channels,
            out_channels=out_channels,
        )
        self.conv_in = nn.Conv2d(in_channels, ch[0], 3, padding=1)
        self.time_proj = Timesteps(ch[0])
        self.time_embedding = TimestepEmbedding(ch[0], temb)
        depths = [int(a) for a in attn_down]
        add_unet_blocks(self, ch, temb, L, depths, cross_attention_dim, [heads] * n, g)
        self.conv_norm_out = nn.GroupNorm(g, ch[0], eps=1e-5)
        self.conv_out = nn.Conv2d(ch[0], out_channels, 3, padding=1)

    def forward(self, sample, timestep, encoder_hidden_states):
        temb = self.time_embedding(self.time_proj(timestep))
        return run_unet_blocks(self, sample, temb, encoder_hidden_states)


def add_unet_blocks(unet, ch, temb, layers, depths, context_dim, heads, groups, mid_depth=1, linear=False):
    """Adds down_blocks, mid_block and up_blocks to `unet` (in that order: the seeded init depends on
    it). Per level i: ch[i] channels, depths[i] transformer blocks per attention (0: none), heads[i]
    heads; the up path mirrors the down one. UNet2DConditionModel and scripts/sdxl-fixture.py's
    UNetSDXL build theirs here."""
    n = len(ch)
    unet.down_blocks = nn.ModuleList()
    skip_ch = [ch[0]]
    cin = ch[0]
    for i, c in enumerate(ch):
        last = i == n - 1
        unet.down_blocks.append(
            DownBlock(cin, c, temb, layers, depths[i], context_dim, heads[i], groups, not last, linear)
        )
        skip_ch += [c] * layers + ([] if last else [c])
        cin = c
    unet.mid_block = UNetMidBlock2DCrossAttn(ch[-1], temb, context_dim, heads[-1], groups, mid_depth, linear)
    unet.up_blocks = nn.ModuleList()
    prev = ch[-1]
    for i, c in enumerate(ch[::-1]):
        last = i == n - 1
        skips = [skip_ch.pop() for _ in range(layers + 1)]
        lvl = n - 1 - i
        unet.up_blocks.append(
            UpBlock(skips, prev, c, temb, layers + 1, depths[lvl], context_dim, heads[lvl], groups, not last, linear)
        )
        prev = c


def run_unet_blocks(unet, sample, temb, context):
    """conv_in, the down, mid and up blocks with their skip connections, and the output head."""
    x = unet.conv_in(sample)
    skips = [x]
    for blk in unet.down_blocks:
        x, s = blk(x, temb, context)
        skips += s
    x = unet.mid_block(x, temb, context)
    for blk in unet.up_blocks:
        x = blk(x, skips, temb, context)
    return unet.conv_out(F.silu(unet.conv_norm_out(x)))


# ----------------------------------------------------------------------------- autoencoder


class VAEEncoder(nn.Module):
    def __init__(self, ch, latent, groups, layers):
        super().__init__()
        self.conv_in = nn.Conv2d(3, ch[0], 3, padding=1)
        self.down_blocks = nn.ModuleList()
        cin = ch[0]
        for i, c in enumerate(ch):
            blk = nn.Module()
            blk.resnets = nn.ModuleList([ResnetBlock2D(cin if j == 0 else c, c, 0, groups) for j in range(layers)])
            blk.downsamplers = nn.ModuleList([Downsample2D(c)]) if i < len(ch) - 1 else None
            self.down_blocks.append(blk)
            cin = c
        self.mid_block = nn.Module()
        self.mid_block.resnets = nn.ModuleList([ResnetBlock2D(ch[-1], ch[-1], 0, groups)])
        self.conv_norm_out = nn.GroupNorm(groups, ch[-1])
        self.conv_out = nn.Conv2d(ch[-1], 2 * latent, 3, padding=1)

    def forward(self, x):
        x = self.conv_in(x)
        for blk in self.down_blocks:
            for r in blk.resnets:
                x = r(x)
            if blk.downsamplers is not None:
                x = blk.downsamplers[0](x)
        x = self.mid_block.resnets[0](x)
        return self.conv_out(F.silu(self.conv_norm_out(x)))


class VAEDecoder(nn.Module):
    def __init__(self, ch, latent, groups, layers):
        super().__init__()
        rev = ch[::-1]
        self.conv_in = nn.Conv2d(latent, rev[0], 3, padding=1)
        self.mid_block = nn.Module()
        self.mid_block.resnets = nn.ModuleList([ResnetBlock2D(rev[0], rev[0], 0, groups)])
        self.up_blocks = vae_up_blocks(rev, groups, layers)
        self.conv_norm_out = nn.GroupNorm(groups, rev[-1])
        self.conv_out = nn.Conv2d(rev[-1], 3, 3, padding=1)

    def forward(self, z):
        x = self.conv_in(z)
        x = self.mid_block.resnets[0](x)
        return self.conv_out(F.silu(self.conv_norm_out(run_vae_up_blocks(self.up_blocks, x))))


def vae_up_blocks(rev, groups, layers):
    """The VAE decoder's up blocks (UpDecoderBlock2D: layers + 1 resnets, then an upsampler but at the
    last level) over the reversed channel list; VAEDecoder and sd15_shape.SDVAEDecoder build them."""
    blocks = nn.ModuleList()
    cin = rev[0]
    for i, c in enumerate(rev):
        blk = nn.Module()
        blk.resnets = nn.ModuleList([ResnetBlock2D(cin if j == 0 else c, c, 0, groups) for j in range(layers + 1)])
        blk.upsamplers = nn.ModuleList([Upsample2D(c)]) if i < len(rev) - 1 else None
        blocks.append(blk)
        cin = c
    return blocks


def run_vae_up_blocks(blocks, x):
    for blk in blocks:
        for r in blk.resnets:
            x = r(x)
        if blk.upsamplers is not None:
            x = blk.upsamplers[0](x)
    return x


class AutoencoderKL(nn.Module):
    def __init__(
        self,
        block_out_channels=(32, 64, 64, 64),
        latent_channels=4,
        norm_num_groups=16,
        layers_per_block=1,
        sample_size=128,
    ):
        super().__init__()
        ch = list(block_out_channels)
        self.config = dict(
            block_out_channels=tuple(ch),
            latent_channels=latent_channels,
            norm_num_groups=norm_num_groups,
            layers_per_block=layers_per_block,
            sample_size=sample_size,
        )
        self.encoder = VAEEncoder(ch, latent_channels, norm_num_groups, layers_per_block)
        self.quant_conv = nn.Conv2d(2 * latent_channels, 2 * latent_channels, 1)
        self.post_quant_conv = nn.Conv2d(latent_channels, latent_channels, 1)
        self.decoder = VAEDecoder(ch, latent_channels, norm_num_groups, layers_per_block)
        self.register_buffer("scaling_factor", torch.tensor(1.0))

    def encode(self, x):
        """-> (mean, logvar) of the latent posterior."""
        m = self.quant_conv(self.encoder(x))
        mean, logvar = m.chunk(2, dim=1)
        return mean, logvar.clamp(-30, 20)

    def decode(self, z):
        return self.decoder(self.post_quant_conv(z))


class VAEDecoderExport(nn.Module):
    """latent_sample (already divided by scaling_factor, as diffusers) -> sample in [-1,1]."""

    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, latent_sample):
        return self.vae.decode(latent_sample).clamp(-1, 1)


class VAEEncoderExport(nn.Module):
    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, sample):
        mean, logvar = self.vae.encode(sample)
        return torch.cat([mean, logvar], dim=1)


def count_params(m):
    return sum(p.numel() for p in m.parameters())


def build_all(seed=0):
    torch.manual_seed(seed)
    te = TextEncoder(**TEXT_CONFIG)
    unet = UNet2DConditionModel(**UNET_CONFIG)
    vae = AutoencoderKL(**VAE_CONFIG)
    return te, unet, vae
