"""Token grounding for cross-attention (in the spirit of TokenCompose, Wang et al., CVPR 2024).

A small U-Net trained on a diffusion loss alone learns cross-attention that is spread over the
background and binds colours weakly (a hat takes the scarf's colour). The world knows where every
object is, so training can add a loss on the attention itself: each object word's attention
mass (summed over query positions) should fall inside its object. Words and targets:

- a colour word and the noun right after it -> that object (a shape, the hat, the scarf);
- "snowman" -> the whole snowman; "neck" -> the scarf band (it is drawn at the neck).

Targets are stored per image as up to MAX_SLOTS soft masks at latent size (fraction of each
8x8 pixel cell covered) plus a [77] map from token position to slot (-1: no target).

Two terms, as in TokenCompose. The token term (share of a word's attention inside its object)
gathers the mass but lets it peak at the object's centre, so a DAAM mask at tau 0.4 covers only
the middle of the object. The pixel term (binary cross-entropy between the probability that a
query position attends to an object's words and that object's mask) asks every position of the
object to attend to its words and the rest of the image not to: the map fills the object, and a
hat's words stay off the scarf.
"""
import numpy as np
import torch
import torch.nn.functional as F

from . import world
from .tokenizer import MAX_LEN, PAT

MAX_SLOTS = 4
LATENT = world.SIZE // 8
NOUNS = set(world.SHAPES) | {"hat", "scarf"}


def _cell_fraction(mask):
    return mask.reshape(LATENT, 8, LATENT, 8).mean(axis=(1, 3)).astype(np.float32)


def targets_for(scene, masks, caption, tok):
    """(slots [MAX_SLOTS, 16, 16] float32, token_slot [77] int8) for one training image, from its
    scene and the masks world.render() returned for it."""
    slots = np.zeros((MAX_SLOTS, LATENT, LATENT), np.float32)
    token_slot = np.full(MAX_LEN, -1, np.int8)
    part = {}  # colour name -> mask name, and the snowman's parts
    for i, o in enumerate(scene["objects"]):
        if o["kind"] == "snowman":
            part["snowman"] = "snowman"
            if o["hat"]:
                part[o["hat"]] = "hat"
            if o["scarf"]:
                part[o["scarf"]] = "scarf"
                part["neck"] = "scarf"
        else:
            part[o["colour"]] = "object%d" % i
    slot_of = {}
    words = []  # (token position, word) for single-token words
    pos = 1  # after BOS
    for w in PAT.findall(caption.lower()):
        pieces = tok.bpe(w)
        if len(pieces) == 1:
            words.append((pos, w))
        pos += len(pieces)
    for j, (p, w) in enumerate(words):
        name = part.get(w)
        if name is None or p >= MAX_LEN - 1:
            continue
        if name not in slot_of:
            if len(slot_of) == MAX_SLOTS:
                continue
            slot_of[name] = len(slot_of)
            slots[slot_of[name]] = _cell_fraction(masks[name])
        token_slot[p] = slot_of[name]
        # the noun right after a colour word belongs to the same object
        if w in world.COLOURS and j + 1 < len(words) and words[j + 1][1] in NOUNS and words[j + 1][0] == p + 1:
            token_slot[p + 1] = slot_of[name]
    return slots, token_slot


def build_targets(scenes, masks, captions, tok):
    n = len(scenes)
    slots = np.zeros((n, MAX_SLOTS, LATENT, LATENT), np.float32)
    token_slot = np.full((n, MAX_LEN), -1, np.int8)
    for i, (sc, m, cap) in enumerate(zip(scenes, masks, captions)):
        slots[i], token_slot[i] = targets_for(sc, m, cap, tok)
    return torch.from_numpy(slots).half(), torch.from_numpy(token_slot)


def _pixel_targets(m):
    """Slot masks overlap (the snowman's mask holds its hat and scarf); probabilities over words
    sum to 1 at a position, so overlapping targets share that position."""
    total = m.sum(1, keepdim=True)
    return torch.where(total > 1, m / total.clamp(min=1e-8), m)


def grounding_loss(probs_per_layer, slots, token_slot, keep, pixel=0.0):
    """probs_per_layer: list of [B*heads, h*w, 77] softmax outputs of the attn2 layers (heads
    first-major like the 3-D layout); slots [B, S, 16, 16]; token_slot [B, 77] (long, -1 none);
    keep [B] bool (False for samples whose caption was dropped).
    Returns (token term, pixel term): the mean over layers and targeted tokens of (1 - share of
    the token's attention inside its object's mask)^2, and (when pixel > 0, else None) the mean
    over layers and targeted slots of the binary cross-entropy between the slot's attention
    probability and its mask, inside and outside the mask averaged separately."""
    b = slots.shape[0]
    valid = (token_slot >= 0) & keep[:, None]  # [B, 77]
    if not bool(valid.any()):
        return slots.new_zeros(()), (slots.new_zeros(()) if pixel else None)
    idx = token_slot.clamp(min=0)
    # [B, T, S]: which slot each kept, targeted token belongs to
    onehot = F.one_hot(idx, slots.shape[1]).to(slots.dtype) * valid[:, :, None].to(slots.dtype)
    used = onehot.sum(1) > 0  # [B, S]
    # layer side -> (each token's object mask [B, T, HW], pixel targets [B, HW, S] or None),
    # pooled once per resolution
    per_side = {}
    losses, pixel_losses = [], []
    for probs in probs_per_layer:
        bh, hw, t = probs.shape
        a = probs.reshape(b, bh // b, hw, t).mean(1)  # [B, HW, T]
        side = int(round(hw**0.5))
        if side not in per_side:
            m = (slots if side == LATENT else F.adaptive_avg_pool2d(slots, side)).flatten(2)  # [B, S, HW]
            per_side[side] = (
                torch.gather(m, 1, idx[:, :, None].expand(-1, -1, hw)),
                _pixel_targets(m).transpose(1, 2) if pixel else None,
            )
        mt, target = per_side[side]
        at = a.transpose(1, 2)  # [B, T, HW]
        inside = (at * mt).sum(-1) / (at.sum(-1) + 1e-8)
        losses.append(((1 - inside) ** 2)[valid].mean())
        if pixel:
            p = torch.bmm(a, onehot).clamp(1e-6, 1 - 1e-6)  # [B, HW, S]: each slot's words' probability
            m = target
            # inside and outside weighted alike: a hat is a few percent of the image, and a plain
            # mean over positions would mostly ask for "not here"
            pos = (m * -torch.log(p)).sum(1) / m.sum(1).clamp(min=1e-6)
            neg = ((1 - m) * -torch.log(1 - p)).sum(1) / (1 - m).sum(1).clamp(min=1e-6)
            pixel_losses.append((0.5 * (pos + neg))[used].mean())
    return torch.stack(losses).mean(), (torch.stack(pixel_losses).mean() if pixel else None)
