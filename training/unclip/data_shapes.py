"""A seeded synthetic world of coloured shapes, its captions, and the analytic detector that
checks generated images (colour masks + shape moments), which is the shapes evaluation.

Some (colour, shape) combinations never appear in training (HELD_OUT); eval prompts cover
both seen and never-seen combinations.
"""
import numpy as np

COLOURS = {"red": (220, 40, 40), "green": (40, 170, 60), "blue": (40, 80, 220),
           "yellow": (240, 210, 40), "purple": (150, 60, 190)}
BACKGROUNDS = {"white": (255, 255, 255), "black": (20, 20, 20), "gray": (128, 128, 128)}
SHAPES = ("circle", "square", "triangle")
SIZES = {"small": 0.12, "large": 0.19}  # half-extent as a fraction of the image side
POSITIONS = {"top left": (0.28, 0.28), "top right": (0.72, 0.28), "bottom left": (0.28, 0.72),
             "bottom right": (0.72, 0.72), "center": (0.5, 0.5)}
COUNTS = {1: "a", 2: "two", 3: "three"}
HELD_OUT = {("red", "triangle"), ("green", "circle"), ("blue", "square")}


def caption(a: dict) -> str:
    """'a small red circle in the top left on a white background' / 'two large blue squares on a gray background'."""
    if a["count"] == 1:
        where = "in the center" if a["position"] == "center" else f"in the {a['position']}"
        return f"a {a['size']} {a['colour']} {a['shape']} {where} on a {a['background']} background"
    return f"{COUNTS[a['count']]} {a['size']} {a['colour']} {a['shape']}s on a {a['background']} background"


def sample_attributes(rng: np.random.Generator, held_out: str = "exclude") -> dict:
    """held_out: 'exclude' (training), 'only' (never-seen eval) or 'any'."""
    while True:
        a = {"colour": str(rng.choice(list(COLOURS))), "shape": str(rng.choice(SHAPES)),
             "size": str(rng.choice(list(SIZES))), "background": str(rng.choice(list(BACKGROUNDS))),
             "count": int(rng.choice([1, 1, 2, 3])), "position": str(rng.choice(list(POSITIONS)))}
        if a["count"] > 1:
            a["position"] = "none"
        if a["count"] == 3:
            a["size"] = "small"  # three large shapes do not fit without touching
        unseen = (a["colour"], a["shape"]) in HELD_OUT
        if held_out == "any" or (held_out == "only") == unseen:
            return a


def _centres(rng, a) -> list:
    h = SIZES[a["size"]]
    if a["count"] == 1:
        cx, cy = POSITIONS[a["position"]]
        return [(cx + rng.uniform(-0.03, 0.03), cy + rng.uniform(-0.03, 0.03))]
    for _ in range(5000):
        pts = [tuple(rng.uniform(h + 0.01, 1 - h - 0.01, size=2)) for _ in range(a["count"])]
        if all(np.hypot(p[0] - q[0], p[1] - q[1]) > 2 * h * 1.15 + 0.03
               for i, p in enumerate(pts) for q in pts[i + 1:]):
            return pts
    raise RuntimeError("could not place shapes")


def render(a: dict, res: int, rng: np.random.Generator, ss: int = 4) -> np.ndarray:
    """(res, res, 3) uint8 image of the scene, anti-aliased by ss x ss supersampling."""
    n = res * ss
    yy, xx = (np.mgrid[0:n, 0:n] + 0.5) / n
    inside = np.zeros((n, n), bool)
    h = SIZES[a["size"]]
    for cx, cy in _centres(rng, a):
        if a["shape"] == "circle":
            inside |= (xx - cx) ** 2 + (yy - cy) ** 2 <= h * h
        elif a["shape"] == "square":
            inside |= (np.abs(xx - cx) <= h) & (np.abs(yy - cy) <= h)
        else:  # upward triangle with apex at (cx, cy - h), base at y = cy + h, width 2h
            inside |= (yy <= cy + h) & (np.abs(xx - cx) <= (yy - (cy - h)) / 2)
    fg = np.array(COLOURS[a["colour"]], np.float32) + rng.uniform(-8, 8, 3)
    bg = np.array(BACKGROUNDS[a["background"]], np.float32)
    img = np.where(inside[..., None], fg, bg)
    img = img.reshape(res, ss, res, ss, 3).mean(axis=(1, 3))
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


def make_split(n: int, res: int, seed: int, held_out: str = "exclude"):
    """n scenes: (images (n,res,res,3) uint8, captions, attributes)."""
    rng = np.random.default_rng(seed)
    attrs = [sample_attributes(rng, held_out) for _ in range(n)]
    images = np.stack([render(a, res, rng, ss=4 if res <= 32 else 2) for a in attrs])
    return images, [caption(a) for a in attrs], attrs


# ---------------------------------------------------------------- detector

def _components(mask: np.ndarray) -> list:
    """4-connected components of a bool mask as lists of (y, x) index arrays."""
    H, W = mask.shape
    label = np.zeros((H, W), np.int32)
    comps = []
    for y0, x0 in zip(*np.nonzero(mask)):
        if label[y0, x0]:
            continue
        stack, pix = [(y0, x0)], []
        label[y0, x0] = len(comps) + 1
        while stack:
            y, x = stack.pop()
            pix.append((y, x))
            for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                v, u = y + dy, x + dx
                if 0 <= v < H and 0 <= u < W and mask[v, u] and not label[v, u]:
                    label[v, u] = len(comps) + 1
                    stack.append((v, u))
        comps.append(np.array(pix))
    return comps


def _nearest(rgb: np.ndarray, palette: dict) -> str:
    names = list(palette)
    d = [np.sum((rgb - np.array(palette[k], np.float32)) ** 2) for k in names]
    return names[int(np.argmin(d))]


def detect(img: np.ndarray) -> dict:
    """Attributes read off an (N, N, 3) uint8 image: background, colour, shape, size, count, position."""
    im = img.astype(np.float32)
    N = im.shape[0]
    border = np.concatenate([im[0], im[-1], im[:, 0], im[:, -1]])
    background = _nearest(np.median(border, axis=0), BACKGROUNDS)
    bg = np.array(BACKGROUNDS[background], np.float32)
    dist = np.sqrt(((im - bg) ** 2).sum(-1))
    mask = dist > 70
    comps = [c for c in _components(mask) if len(c) >= max(3, 0.004 * N * N)]
    out = {"background": background, "count": len(comps), "colour": None, "shape": None,
           "size": None, "position": None}
    if not comps:
        return out
    fg = im[mask]
    votes = [_nearest(p, COLOURS) for p in fg[:: max(1, len(fg) // 400)]]
    out["colour"] = max(set(votes), key=votes.count)
    shapes, sizes = [], []
    for c in comps:
        ys, xs = c[:, 0], c[:, 1]
        bw, bh = xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
        fill = len(c) / float(bw * bh)
        # square fills its box (1.0), a circle pi/4, an upward triangle 1/2; the triangle's
        # mass also sits low (centroid 2/3 down its box)
        low = (ys.mean() - ys.min() + 0.5) / bh
        if fill > 0.88:
            shapes.append("square")
        elif fill < 0.66 or low > 0.58:
            shapes.append("triangle")
        else:
            shapes.append("circle")
        sizes.append("large" if max(bw, bh) / N > 0.31 else "small")
    out["shape"] = max(set(shapes), key=shapes.count)
    out["size"] = max(set(sizes), key=sizes.count)
    if len(comps) == 1:
        ys, xs = comps[0][:, 0], comps[0][:, 1]
        cx, cy = (xs.min() + xs.max() + 1) / 2 / N, (ys.min() + ys.max() + 1) / 2 / N
        if abs(cx - 0.5) < 0.12 and abs(cy - 0.5) < 0.12:
            out["position"] = "center"
        else:
            out["position"] = ("top" if cy < 0.5 else "bottom") + " " + ("left" if cx < 0.5 else "right")
    return out


def score(attrs: dict, found: dict) -> dict:
    """Per-attribute correctness (position only for single objects)."""
    s = {k: float(found[k] == attrs[k]) for k in ("colour", "shape", "size", "background", "count")}
    if attrs["count"] == 1:
        s["position"] = float(found["position"] == attrs["position"])
    return s
