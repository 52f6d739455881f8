"""The "shapes" domain: procedurally rendered images and questions about them.

Everything is a pure function of (split, index, seed): item i of a split is rendered from
its own numpy Generator, so splits can be regenerated in any order, in parallel or not,
and always give the same pixels (PNG bytes) and the same question.

Splits
  train, val, test     the clean distribution (the model only ever trains on `train`)
  sketch               outline-only shapes (never filled) on paper-white backgrounds
                       (analogue of ImageNet-Sketch)
  noise                heavy Gaussian pixel noise and blur (analogue of corruption sets)
  cast                 dark / saturated, striped or checkered backgrounds under a global
                       colour cast (analogue of ImageNet-R/-A style shifts)
The shift strengths below were tuned so that the trained model lands in the accuracy
windows of the issue (clean 60-90 %, shifted 30-70 %).
"""

import io
import math
import re

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

IMAGE_SIZE = 64
SUPERSAMPLE = 4  # draw at 4x and downsample: smooth edges, no aliasing artefacts

SHAPES = ["circle", "square", "triangle", "star"]
COLORS = {
    "red": (215, 40, 40),
    "green": (40, 160, 60),
    "blue": (40, 80, 215),
    "yellow": (235, 205, 35),
    "purple": (135, 55, 185),
    "orange": (240, 135, 25),
}
COLOR_NAMES = list(COLORS)
QTYPES = ["color", "shape", "count", "presence", "mc", "recognition"]
CLASSES = [f"{c} {s}" for c in COLOR_NAMES for s in SHAPES]  # recognition classes, e.g. "red circle"
# TTRV's recognition instruction (its examples/ttrv prompts; docs/ttrv.md §3), options appended.
RECOGNITION_PROMPT = (
    "Look at the given image and identify what it shows. Choose the correct answer from the options below "
    "and respond with only the corresponding option letter (A, B, C, or D). Do not include any explanation "
    "or extra text. Options:"
)
LETTERS = "ABCD"
SPLIT_IDS = {"train": 0, "val": 1, "test": 2, "clean": 2, "sketch": 3, "noise": 4, "cast": 5}  # clean = test
SHIFTED = ["sketch", "noise", "cast"]

# Shift strengths (tuned, see module docstring and README).
SKETCH_STROKE = (2.5, 3.5)  # outline width in output pixels
NOISE_SIGMA = (34.0, 48.0)  # std of additive Gaussian noise, 0..255 scale
NOISE_BLUR = (0.9, 1.4)  # Gaussian blur radius in output pixels
CAST_ALPHA = (0.1, 0.2)  # blend weight of the global colour cast
CAST_PATTERN = (0.2, 0.4)  # opacity of the stripes / checks over the cast background


def rng_for(split, index, seed):
    # One independent stream per item: SeedSequence mixes the three integers.
    return np.random.default_rng([seed, SPLIT_IDS[split], index])


def _polygon(kind, cx, cy, r, rot):
    if kind == "square":
        n, radii = 4, [r * 1.0]
        rot += math.pi / 4
    elif kind == "triangle":
        n, radii = 3, [r * 1.15]
        rot += -math.pi / 2
    elif kind == "star":
        n, radii = 10, [r * 1.2, r * 0.5]
        rot += -math.pi / 2
    else:
        raise ValueError(kind)
    pts = []
    for k in range(n):
        a = rot + 2 * math.pi * k / n
        rr = radii[k % len(radii)]
        pts.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
    return pts


def _jitter_color(rng, rgb, amount):
    c = np.array(rgb, dtype=np.float64) + rng.uniform(-amount, amount, size=3)
    return tuple(int(v) for v in np.clip(np.round(c), 0, 255))


def _place(rng, n):
    """Random non-overlapping circles (cx, cy, r) inside the image, in output pixels."""
    placed = []
    for _ in range(n):
        for _try in range(200):
            r = rng.uniform(7.0, 13.0)
            cx = rng.uniform(r + 2, IMAGE_SIZE - r - 2)
            cy = rng.uniform(r + 2, IMAGE_SIZE - r - 2)
            if all(math.hypot(cx - x, cy - y) > r + rr + 2.5 for x, y, rr in placed):
                placed.append((cx, cy, r))
                break
        else:
            return None
    return placed


def _background(rng, style):
    s = IMAGE_SIZE
    if style in ("clean", "noise"):  # the noise split corrupts clean-looking scenes
        base = rng.uniform(175, 250, size=3)
        tilt = rng.uniform(-25, 25, size=3)
    elif style == "sketch":
        base = np.full(3, rng.uniform(238, 252)) + rng.uniform(-4, 4, size=3)
        tilt = np.zeros(3)
    else:  # cast: dark or saturated, with stripes or checks
        base = rng.uniform(20, 120, size=3) if rng.random() < 0.5 else rng.uniform(0, 255, size=3)
        tilt = rng.uniform(-40, 40, size=3)
    y, x = (np.mgrid[0:s, 0:s] + 0.5) / s
    ang = rng.uniform(0, 2 * math.pi)
    ramp = (np.cos(ang) * x + np.sin(ang) * y)[..., None]
    img = base[None, None, :] + tilt[None, None, :] * ramp
    if style == "cast":
        other = rng.uniform(0, 255, size=3)
        period = rng.uniform(6, 16)
        if rng.random() < 0.5:
            mask = (np.floor((x * np.cos(ang) + y * np.sin(ang)) * s / period) % 2)[..., None]
        else:
            mask = ((np.floor(x * s / period) + np.floor(y * s / period)) % 2)[..., None]
        k = rng.uniform(*CAST_PATTERN)
        img = img * (1 - k * mask) + other[None, None, :] * k * mask
    return np.clip(img, 0, 255)


def render_scene(rng, style, n=None):
    """Returns (uint8 HxWx3 array, objects, places) with objects = [(shape, color)] and
    places = [(cx, cy, r)] in pixels, or None."""
    n = int(rng.integers(1, 5)) if n is None else n
    places = _place(rng, n)
    if places is None:
        return None
    objs = [(SHAPES[int(rng.integers(len(SHAPES)))], COLOR_NAMES[int(rng.integers(len(COLOR_NAMES)))]) for _ in range(n)]
    bg = _background(rng, style)
    # Shapes go on a supersampled colour layer (on black) plus a coverage mask; both are
    # box-downsampled, which gives premultiplied colour and fractional coverage, and then
    # composited over the background: anti-aliased edges at a fraction of the cost.
    S = SUPERSAMPLE
    layer = Image.new("RGB", (IMAGE_SIZE * S, IMAGE_SIZE * S))
    cover = Image.new("L", (IMAGE_SIZE * S, IMAGE_SIZE * S))
    d, dm = ImageDraw.Draw(layer), ImageDraw.Draw(cover)
    for (cx, cy, r), (shape, color) in zip(places, objs):
        rgb = _jitter_color(rng, COLORS[color], 18)
        rot = rng.uniform(-0.35, 0.35)
        cx, cy, r = cx * S, cy * S, r * S
        if style == "sketch":
            w = int(round(rng.uniform(*SKETCH_STROKE) * S))
            for dd, col in ((d, rgb), (dm, 255)):
                if shape == "circle":
                    dd.ellipse([cx - r, cy - r, cx + r, cy + r], outline=col, width=w)
                else:
                    pts = _polygon(shape, cx, cy, r, rot)
                    dd.line(pts + [pts[0], pts[1]], fill=col, width=w, joint="curve")
        else:
            for dd, col in ((d, rgb), (dm, 255)):
                if shape == "circle":
                    dd.ellipse([cx - r, cy - r, cx + r, cy + r], fill=col)
                else:
                    dd.polygon(_polygon(shape, cx, cy, r, rot), fill=col)
    small = np.asarray(layer.resize((IMAGE_SIZE, IMAGE_SIZE), Image.BOX)).astype(np.float64)
    m = np.asarray(cover.resize((IMAGE_SIZE, IMAGE_SIZE), Image.BOX)).astype(np.float64)[..., None] / 255.0
    a = bg * (1 - m) + small
    if style == "noise":
        im = Image.fromarray(a.astype(np.uint8)).filter(ImageFilter.GaussianBlur(rng.uniform(*NOISE_BLUR)))
        a = np.asarray(im).astype(np.float64) + rng.normal(0, rng.uniform(*NOISE_SIGMA), size=a.shape)
    elif style == "cast":
        cast = rng.uniform(0, 255, size=3)
        alpha = rng.uniform(*CAST_ALPHA)
        a = (1 - alpha) * a + alpha * cast[None, None, :] + rng.normal(0, 3.0, size=a.shape)
    else:
        a = a + rng.normal(0, 3.0, size=a.shape)  # mild sensor noise, even on clean images
    return np.clip(np.round(a), 0, 255).astype(np.uint8), objs, places


def _mc(rng, question, answer, pool):
    others = [x for x in pool if x != answer]
    picks = [others[i] for i in rng.permutation(len(others))[:3]] + [answer]
    opts = [picks[i] for i in rng.permutation(4)]
    letter = LETTERS[opts.index(answer)]
    text = question + " " + " ".join(f"{LETTERS[k]}. {o}" for k, o in enumerate(opts)) + " Answer with the letter."
    return text, letter


def _a(word):
    return "an" if word[0] in "aeiou" else "a"


def make_question(rng, objs, qtype):
    """A question valid for the scene, or None if the scene cannot support this type."""
    shapes = [s for s, _ in objs]
    colors = [c for _, c in objs]
    uniq_shapes = [s for s in SHAPES if shapes.count(s) == 1]
    uniq_colors = [c for c in COLOR_NAMES if colors.count(c) == 1]
    if qtype == "color":
        if not uniq_shapes:
            return None
        s = uniq_shapes[int(rng.integers(len(uniq_shapes)))]
        return f"What color is the {s}?", colors[shapes.index(s)]
    if qtype == "shape":
        if not uniq_colors:
            return None
        c = uniq_colors[int(rng.integers(len(uniq_colors)))]
        return f"What shape is {c}?", shapes[colors.index(c)]
    if qtype == "count":
        return "How many shapes are there?", str(len(objs))
    if qtype == "presence":
        if rng.random() < 0.5:
            s, c = objs[int(rng.integers(len(objs)))]
            return f"Is there {_a(c)} {c} {s}?", "yes"
        # Hard negatives: keep one attribute of a present object and change the other.
        s, c = objs[int(rng.integers(len(objs)))]
        for _ in range(50):
            if rng.random() < 0.5:
                s2, c2 = SHAPES[int(rng.integers(len(SHAPES)))], c
            else:
                s2, c2 = s, COLOR_NAMES[int(rng.integers(len(COLOR_NAMES)))]
            if (s2, c2) not in objs:
                return f"Is there {_a(c2)} {c2} {s2}?", "no"
        return None
    if qtype == "mc":
        if rng.random() < 0.5:
            if not uniq_shapes:
                return None
            s = uniq_shapes[int(rng.integers(len(uniq_shapes)))]
            return _mc(rng, f"What color is the {s}?", colors[shapes.index(s)], COLOR_NAMES)
        if not uniq_colors:
            return None
        c = uniq_colors[int(rng.integers(len(uniq_colors)))]
        return _mc(rng, f"What shape is {c}?", shapes[colors.index(c)], SHAPES)
    raise ValueError(qtype)


def recognition(rng, objs, letter_index):
    """TTRV's recognition format: one object, options = its class and three others (one with the
    same shape, one with the same colour, one differing in both), the answer's letter fixed by the
    caller so letters are balanced A-D."""
    (s, c), = objs
    same_shape = [f"{c2} {s}" for c2 in COLOR_NAMES if c2 != c]
    same_color = [f"{c} {s2}" for s2 in SHAPES if s2 != s]
    neither = [f"{c2} {s2}" for c2 in COLOR_NAMES for s2 in SHAPES if c2 != c and s2 != s]
    distract = [same_shape[int(rng.integers(len(same_shape)))], same_color[int(rng.integers(len(same_color)))],
                neither[int(rng.integers(len(neither)))]]
    distract = [distract[i] for i in rng.permutation(3)]
    opts = distract[:letter_index] + [f"{c} {s}"] + distract[letter_index:]
    text = RECOGNITION_PROMPT + " " + " ".join(f"{LETTERS[k]}. {o}" for k, o in enumerate(opts))
    return text, LETTERS[letter_index]


MC_TYPES = ("mc", "recognition")


def option_text(question, letter):
    """The text of option `letter` in a question listing "A. ... B. ... C. ... D. ..."."""
    m = re.search(rf"(?:^| ){letter}\. (.*?)(?= [A-D]\. | Answer with|$)", question)
    return m.group(1)


def make_item(split, index, seed):
    """Item `index` of `split`: dict(image=uint8 array, question, answer, type, objects, places, word)
    (`word`: the answer in words: the option's text for multiple choice, else the answer)."""
    rng = rng_for(split, index, seed)
    style = split if split in SHIFTED else "clean"
    # Balanced question types in every split.
    qtype = QTYPES[index % len(QTYPES)]
    while True:
        scene = render_scene(rng, style, 1 if qtype == "recognition" else None)
        if scene is None:
            continue
        img, objs, places = scene
        if qtype == "recognition":  # letters balanced: the k-th recognition item answers LETTERS[k % 4]
            q = recognition(rng, objs, (index // len(QTYPES)) % len(LETTERS))
        else:
            q = make_question(rng, objs, qtype)
        if q is not None:
            word = option_text(q[0], q[1]) if qtype in MC_TYPES else q[1]
            return {"image": img, "question": q[0], "answer": q[1], "type": qtype, "objects": objs, "places": places, "word": word}


def png_bytes(img):
    buf = io.BytesIO()
    # Fixed encoder settings so the bytes are reproducible.
    Image.fromarray(img, "RGB").save(buf, format="PNG", optimize=False, compress_level=9)
    return buf.getvalue()
