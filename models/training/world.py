"""The synthetic world: flat-colour shapes and snowmen, drawn procedurally with numpy.

Every scene is a small dict (objects with kind, colour, geometry) that renders to a
128x128 RGB uint8 image plus per-object boolean masks (the ground truth for attention
evaluation), and a caption drawn from varied templates.

Some colour/shape and hat/scarf combinations are held out from training entirely
(see HELD_OUT_SHAPES / HELD_OUT_ACCESSORIES); evaluation prompts use them.

The palette, the shapes and the held-out lists are written once, in the bundled model's folder
(models/daam-shapes/world.json, which ships with the model): this module and the TypeScript
evaluation (scripts/eval.ts, test/attention/colour-key.ts) both read them from there.
"""
import json
import os

import numpy as np

# Not common.BUNDLE: that module imports torch, and the tokenizer imports this one without it.
WORLD_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "daam-shapes", "world.json")
with open(WORLD_FILE, encoding="utf-8") as _f:
    WORLD = json.load(_f)

SIZE = WORLD["size"]
PALETTE = {name: tuple(rgb) for name, rgb in WORLD["palette"].items()}
COLOURS = list(PALETTE)
WHITE = tuple(WORLD["snowman"]["white"])
BLACK = tuple(WORLD["snowman"]["black"])
OUTLINE = tuple(WORLD["snowman"]["outline"])
BACKGROUND = tuple(WORLD["background"])
SHAPES = list(WORLD["shapes"])

# held-out combinations: never drawn in training images
HELD_OUT_SHAPES = {tuple(pair) for pair in WORLD["heldOut"]["shapes"]}
HELD_OUT_ACCESSORIES = {tuple(pair) for pair in WORLD["heldOut"]["accessories"]}  # (hat colour, scarf colour)


def article(word):
    return "an" if word[0] in "aeiou" else "a"


def _grid():
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    return x + 0.5, y + 0.5


_X, _Y = _grid()


def shape_mask(kind, cx, cy, r):
    if kind == "circle":
        return (_X - cx) ** 2 + (_Y - cy) ** 2 <= r * r
    if kind == "square":
        s = r * 0.9
        return (np.abs(_X - cx) <= s) & (np.abs(_Y - cy) <= s)
    if kind == "triangle":
        # upright equilateral-ish triangle inscribed in the bounding box of radius r
        top, bottom = cy - r, cy + r * 0.85
        t = (_Y - top) / max(bottom - top, 1e-6)
        half = t * r * 1.05
        return (_Y >= top) & (_Y <= bottom) & (np.abs(_X - cx) <= half)
    if kind == "rect":  # (cx, cy) centre, r = (half w, half h)
        hw, hh = r
        return (np.abs(_X - cx) <= hw) & (np.abs(_Y - cy) <= hh)
    raise ValueError(kind)


def _disk(cx, cy, r):
    return (_X - cx) ** 2 + (_Y - cy) ** 2 <= r * r


# ----------------------------------------------------------------------------- scenes


def _free(boxes, box, margin=3):
    x0, y0, x1, y1 = box
    for b in boxes:
        if not (x1 + margin < b[0] or b[2] + margin < x0 or y1 + margin < b[1] or b[3] + margin < y0):
            return False
    return True


def _place_shape(rng, boxes, rmin=12, rmax=24):
    for _ in range(60):
        r = float(rng.uniform(rmin, rmax))
        cx = float(rng.uniform(r + 3, SIZE - r - 3))
        cy = float(rng.uniform(r + 3, SIZE - r - 3))
        box = (cx - r, cy - r, cx + r, cy + r)
        if _free(boxes, box):
            return cx, cy, r, box
    return None


def _allowed_shape(colour, kind, held_out):
    pair = (colour, kind) in HELD_OUT_SHAPES
    return pair if held_out == "only" else (not pair if held_out == "exclude" else True)


def sample_snowman(rng, x_range=(30, 98), hat=None, scarf=None):
    """Geometry of a snowman. hat/scarf are colour names or None."""
    rh = float(rng.uniform(11.5, 15.0))  # head radius
    three = bool(rng.random() < 0.5)
    rb = rh * float(rng.uniform(1.6, 1.9))  # bottom radius
    rm = rh * float(rng.uniform(1.25, 1.4)) if three else None
    cx = float(rng.uniform(*x_range))
    bottom = float(rng.uniform(118, 124))
    cb = bottom - rb
    if three:
        cm = cb - rb * 0.8 - rm * 0.8
        ch = cm - rm * 0.8 - rh * 0.85
    else:
        ch = cb - rb * 0.8 - rh * 0.85
        cm = None
    hat_h = rh * 1.05
    top = ch - rh - (hat_h + 2 if hat else 0)
    if top < 3:  # shift down into view if needed (clip bottom instead)
        d = 3 - top
        cb += d
        ch += d
        cm = cm + d if cm is not None else None
    return dict(
        kind="snowman",
        cx=cx,
        rh=rh,
        rb=rb,
        rm=rm,
        ch=ch,
        cm=cm,
        cb=cb,
        hat=hat,
        scarf=scarf,
        tail=bool(rng.random() < 0.5),
    )


def snowman_box(s):
    w = s["rb"]
    top = s["ch"] - s["rh"] - (s["rh"] * 1.1 + 2 if s["hat"] else 0)
    return (s["cx"] - w, top, s["cx"] + w, s["cb"] + s["rb"])


def sample_scene(rng, held_out="exclude", kind=None):
    """held_out: 'exclude' (training), 'only' (scene must contain a held-out combo), 'any'."""
    if kind is None:
        kind = "snowman" if rng.random() < 0.45 else "shapes"
    for _ in range(200):
        scene = _sample_scene_once(rng, kind, held_out)
        if scene is not None:
            return scene
    raise RuntimeError("could not sample scene")


def _sample_scene_once(rng, kind, held_out):
    objs = []
    if kind == "snowman":
        r = rng.random()
        hat = scarf = None
        cols = list(rng.permutation(COLOURS))
        if r < 0.45:
            hat, scarf = cols[0], cols[1]
        elif r < 0.7:
            hat = cols[0]
        elif r < 0.9:
            scarf = cols[1]
        pair = (hat, scarf) in HELD_OUT_ACCESSORIES
        if held_out == "exclude" and pair:
            return None
        want_extra = rng.random() < 0.3
        if held_out == "only" and not pair:
            # a held-out shape next to the snowman also counts
            if not want_extra:
                return None
        x_range = (30, 98) if not want_extra else ((26, 50) if rng.random() < 0.5 else (78, 102))
        s = sample_snowman(rng, x_range, hat, scarf)
        objs.append(s)
        if want_extra:
            used = {hat, scarf}
            boxes = [snowman_box(s)]
            choices = [c for c in COLOURS if c not in used]
            colour = choices[rng.integers(len(choices))]
            shape = SHAPES[rng.integers(3)]
            if held_out == "only" and not pair and (colour, shape) not in HELD_OUT_SHAPES:
                return None
            if held_out == "exclude" and (colour, shape) in HELD_OUT_SHAPES:
                return None
            p = _place_shape(rng, boxes, 11, 18)
            if p is None:
                return None
            objs.append(dict(kind=shape, colour=colour, cx=p[0], cy=p[1], r=p[2]))
        return dict(objects=objs)
    n = int(rng.choice([1, 2, 3], p=[0.3, 0.4, 0.3]))
    cols = list(rng.permutation(COLOURS))[:n]
    boxes = []
    for i in range(n):
        shape = SHAPES[rng.integers(3)]
        p = _place_shape(rng, boxes, 12 if n > 1 else 16, 24 if n > 1 else 34)
        if p is None:
            return None
        boxes.append(p[3])
        objs.append(dict(kind=shape, colour=str(cols[i]), cx=p[0], cy=p[1], r=p[2]))
    pairs = [(o["colour"], o["kind"]) in HELD_OUT_SHAPES for o in objs]
    if held_out == "exclude" and any(pairs):
        return None
    if held_out == "only" and not any(pairs):
        return None
    return dict(objects=objs)


# ----------------------------------------------------------------------------- render


def background(rng):
    base = np.array(BACKGROUND, np.float32) + rng.uniform(-10, 8, 3).astype(np.float32)
    return np.clip(base, 200, 250)


def render(scene, rng=None, bg=None):
    """Returns (uint8 image [128,128,3], masks: dict name -> bool [128,128]).

    Mask names: 'object{i}' for each object, plus for snowmen 'snowman', 'hat', 'scarf'.
    """
    if bg is None:
        bg = background(rng) if rng is not None else np.array(BACKGROUND, np.float32)
    img = np.empty((SIZE, SIZE, 3), np.float32)
    img[:] = bg
    masks = {}
    for i, o in enumerate(scene["objects"]):
        if o["kind"] == "snowman":
            m = _draw_snowman(img, o, masks)
        else:
            m = shape_mask(o["kind"], o["cx"], o["cy"], o["r"])
            img[m] = PALETTE[o["colour"]]
        masks["object%d" % i] = m
    return np.clip(img + 0.5, 0, 255).astype(np.uint8), masks


def _draw_snowman(img, s, masks):
    cx, rh = s["cx"], s["rh"]
    body = np.zeros((SIZE, SIZE), bool)
    parts = [(cx, s["cb"], s["rb"])]
    if s["rm"] is not None:
        parts.append((cx, s["cm"], s["rm"]))
    parts.append((cx, s["ch"], rh))
    for x, y, r in parts:
        outer = _disk(x, y, r + 1.2)
        inner = _disk(x, y, r)
        img[outer & ~body] = OUTLINE
        img[inner] = WHITE
        body |= outer
    # eyes
    for dx in (-0.35, 0.35):
        e = _disk(cx + dx * rh, s["ch"] - 0.15 * rh, max(1.3, 0.13 * rh))
        img[e] = BLACK
    full = body.copy()
    if s["scarf"]:
        neck_y = s["ch"] + rh * 0.85
        band = shape_mask("rect", cx, neck_y, (rh * 1.2, rh * 0.4))
        sc = band
        if s["tail"]:
            side = 0.55 if (int(cx) % 2 == 0) else -0.55
            tail = shape_mask("rect", cx + side * rh, neck_y + rh * 0.75, (rh * 0.22, rh * 0.55))
            sc = sc | tail
        img[sc] = PALETTE[s["scarf"]]
        masks["scarf"] = sc
        full |= sc
    if s["hat"]:
        top_head = s["ch"] - rh
        brim = shape_mask("rect", cx, top_head + rh * 0.05, (rh * 1.05, rh * 0.16))
        crown = shape_mask("rect", cx, top_head - rh * 0.5, (rh * 0.68, rh * 0.55))
        h = brim | crown
        img[h] = PALETTE[s["hat"]]
        masks["hat"] = h
        full |= h
    masks["snowman"] = full
    return full


# ----------------------------------------------------------------------------- captions


def _phrase(o):
    return "%s %s %s" % (article(o["colour"]), o["colour"], o["kind"])


def _relation(a, b, rng):
    dx, dy = b["cx"] - a["cx"], b["cy"] - a["cy"]
    if abs(dx) > abs(dy) and abs(dx) > 20:
        return "to the left of" if dx > 0 else "to the right of"
    if abs(dy) > 20:
        return "above" if dy > 0 else "below"
    return None


def _shape_caption(objs, rng):
    ps = [_phrase(o) for o in objs]
    if len(objs) == 2 and rng.random() < 0.4:
        rel = _relation(objs[0], objs[1], rng)
        if rel:
            return "%s %s %s" % (ps[0], rel, ps[1])
    if len(ps) == 1:
        body = ps[0]
    elif len(ps) == 2:
        body = "%s and %s" % (ps[0], ps[1])
    else:
        body = "%s, %s and %s" % (ps[0], ps[1], ps[2])
    pre = rng.choice(["", "", "", "a picture of ", "an image of ", "a drawing of "])
    return pre + body


def _snowman_caption(s, rng):
    hat, scarf = s["hat"], s["scarf"]
    hat_p = "%s %s hat" % (article(hat), hat) if hat else None
    neck = rng.random() < 0.75
    scarf_p = None
    if scarf:
        scarf_p = "%s %s scarf" % (article(scarf), scarf) + (" around its neck" if neck else "")
    verb = rng.choice(["wearing", "with", "wearing"])
    if hat and scarf:
        r = rng.random()
        if r < 0.6:
            return "a snowman %s %s and %s" % (verb, hat_p, scarf_p)
        if r < 0.8:
            return "a snowman in %s with %s" % (hat_p, scarf_p)
        return "a snowman %s %s and %s" % (verb, scarf_p, hat_p)
    if hat:
        return rng.choice(["a snowman %s %s" % (verb, hat_p), "a snowman in %s" % hat_p])
    if scarf:
        return "a snowman %s %s" % (verb, scarf_p)
    return rng.choice(["a snowman", "a picture of a snowman", "a plain snowman"])


def caption(scene, rng):
    objs = scene["objects"]
    if objs[0]["kind"] == "snowman":
        c = _snowman_caption(objs[0], rng)
        if len(objs) > 1:
            o = objs[1]
            side = "left" if o["cx"] < objs[0]["cx"] else "right"
            c += rng.choice(
                [" next to %s" % _phrase(o), " and %s" % _phrase(o), " with %s on the %s" % (_phrase(o), side)]
            )
        return c
    return _shape_caption(objs, rng)


def named_colours(scene):
    out = []
    for o in scene["objects"]:
        if o["kind"] == "snowman":
            out += [c for c in (o["hat"], o["scarf"]) if c]
        else:
            out.append(o["colour"])
    return out


# every word the templates can produce (the tokenizer makes each a single token)
WORDS = sorted(
    set(
        "a an the of and with wearing in around its neck hat scarf snowman plain picture image "
        "drawing to left right above below next on".split()
        + COLOURS
        + SHAPES
        + [
            "white",
            "black",
            "circles",
            "squares",
            "triangles",
            "snowmen",
            "hats",
            "scarves",
            "one",
            "two",
            "three",
            "big",
            "small",
            "background",
            "is",
            "it",
            "his",
            "her",
            "head",
            "photo",
            "red",
            "top",
            "under",
        ]
    )
)


def sample_batch(rng, n, held_out="exclude", with_masks=False):
    """(images [n,128,128,3], captions, scenes) and, with_masks, each image's render() masks."""
    imgs, caps, scenes, masks = [], [], [], []
    for _ in range(n):
        sc = sample_scene(rng, held_out)
        img, m = render(sc, rng)
        imgs.append(img)
        caps.append(caption(sc, rng))
        scenes.append(sc)
        if with_masks:
            masks.append(m)
    if with_masks:
        return np.stack(imgs), caps, scenes, masks
    return np.stack(imgs), caps, scenes
