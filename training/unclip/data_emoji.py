"""Emoji images (Noto via emoji-datasource-google, Twemoji via emoji-datasource-twitter, 64 px PNGs)
with captions from emojibase-data CLDR labels and the art style as words.

A seeded set of concepts is held out in Twitter style only: their Google version trains, their
Twitter version is the never-seen (concept, style) evaluation.
"""
import json
import os

import numpy as np

STYLES = {"google": "emoji-datasource-google", "twitter": "emoji-datasource-twitter"}
SOURCES = [
    {"name": "Noto Emoji (via emoji-datasource-google)", "license": "Apache-2.0",
     "attribution": "Noto Emoji by Google Inc., licensed under the Apache License 2.0",
     "url": "https://github.com/googlefonts/noto-emoji"},
    {"name": "Twemoji (via emoji-datasource-twitter)", "license": "CC-BY-4.0",
     "attribution": "Twemoji graphics by Twitter, Inc. and other contributors, licensed under CC-BY 4.0",
     "url": "https://github.com/jdecked/twemoji"},
    {"name": "emojibase-data (CLDR labels)", "license": "MIT",
     "attribution": "Emojibase by Miles Johnson; annotations from Unicode CLDR (Unicode License)",
     "url": "https://emojibase.dev"},
]


def caption(label: str, style: str) -> str:
    """Style first so the context length never truncates it: 'twitter style grinning face'."""
    return f"{style} style {label}"


def _labels(node_modules: str) -> dict:
    data = json.load(open(os.path.join(node_modules, "emojibase-data/en/data.json"), encoding="utf-8"))
    out = {}
    for e in data:
        out[e["hexcode"]] = e["label"]
        for s in e.get("skins", []) or []:
            out[s["hexcode"]] = s["label"]
    return out


def _label_for(labels: dict, unified: str):
    for key in (unified, unified.replace("-FE0F", ""), unified + "-FE0F"):
        if key in labels:
            return labels[key]
    return None


def load_emoji(node_modules: str, held_out_fraction: float = 0.05, seed: int = 0):
    """Returns (images (N,64,64,3) uint8 on white, captions, concept ids, styles, held_out bool)."""
    from PIL import Image

    meta = json.load(open(os.path.join(node_modules, "emoji-datasource-google/emoji.json"), encoding="utf-8"))
    labels = _labels(node_modules)
    entries = []
    for e in meta:
        variants = [e] + list((e.get("skin_variations") or {}).values())
        for v in variants:
            label = _label_for(labels, v["unified"])
            if label:
                entries.append((v["unified"], v["image"], label, v))
    rng = np.random.default_rng(seed)
    concepts = sorted({u for u, *_ in entries})
    held = set(rng.choice(concepts, size=int(len(concepts) * held_out_fraction), replace=False).tolist())
    images, caps, ids, styles, held_out = [], [], [], [], []
    for unified, fname, label, v in entries:
        for style, pkg in STYLES.items():
            path = os.path.join(node_modules, pkg, "img", style, "64", fname)
            if not v.get(f"has_img_{style}") or not os.path.exists(path):
                continue
            im = Image.open(path).convert("RGBA")
            if im.size != (64, 64):
                im = im.resize((64, 64), Image.LANCZOS)
            white = Image.new("RGBA", im.size, (255, 255, 255, 255))
            images.append(np.asarray(Image.alpha_composite(white, im).convert("RGB")))
            caps.append(caption(label, style))
            ids.append(unified)
            styles.append(style)
            held_out.append(style == "twitter" and unified in held)
    return np.stack(images), caps, ids, styles, np.array(held_out)
