"""Emoji in every permissively licensed vendor style on npm, rasterized from vector at 256 px by
training/rasterize_emoji.ts, with captions as people write them.

Concepts and words come from emojibase-data (CLDR names, tags). A concept is an emoji without
its skin tone, so the six tones of a hand are one concept and sampling by concept keeps people
from drowning objects and animals. JUDGE_SETS never train the generator: the two CC BY-SA sets
(OpenMoji, EmojiOne v1), because ShareAlike could bind the shipped weights, and three sets whose
style the generator does not draw (Fluent 3D, Fluent High Contrast, EmojiOne Monotone). They
train only the independent judge (training/judge.py), which never sees the generator's images.
"""
import json
import os
import re

import numpy as np

# Iconify set -> (style word in captions, licence record). Licences are the sets' own
# info.json (SPDX) from the pinned @iconify-json packages.
STYLES = {
    "noto": ("noto", "Noto Emoji", "Apache-2.0", "Google Inc.", "https://github.com/googlefonts/noto-emoji"),
    "noto-v1": ("blob", "Noto Emoji v1 (blob)", "Apache-2.0", "Google Inc.", "https://github.com/googlefonts/noto-emoji"),
    "twemoji": ("twemoji", "Twemoji", "CC-BY-4.0", "Twitter, Inc. and other contributors", "https://github.com/jdecked/twemoji"),
    "fluent-emoji-flat": ("fluent", "Fluent Emoji Flat", "MIT", "Microsoft Corporation", "https://github.com/microsoft/fluentui-emoji"),
    "fxemoji": ("firefox", "Firefox OS Emoji (fxemoji)", "Apache-2.0", "Mozilla", "https://github.com/mozilla/fxemoji"),
    "emojione": ("emojione", "EmojiOne 2 (EmojiTwo)", "CC-BY-4.0", "Emoji One", "https://github.com/EmojiTwo/emojitwo"),
    "streamline-emojis": ("streamline", "Streamline Emojis", "CC-BY-4.0", "Streamline", "https://github.com/webalys-hq/streamline-vectors"),
    "openmoji": ("openmoji", "OpenMoji", "CC-BY-SA-4.0", "OpenMoji / HfG Schwäbisch Gmünd", "https://github.com/hfg-gmuend/openmoji"),
    "emojione-v1": ("emojione classic", "EmojiOne v1", "CC-BY-SA-4.0", "Emoji One", "https://github.com/joypixels/emojione-legacy"),
    "fluent-emoji": ("fluent 3d", "Fluent Emoji (3D colour)", "MIT", "Microsoft Corporation", "https://github.com/microsoft/fluentui-emoji"),
    "fluent-emoji-high-contrast": ("fluent high contrast", "Fluent Emoji High Contrast", "MIT", "Microsoft Corporation", "https://github.com/microsoft/fluentui-emoji"),
    "emojione-monotone": ("emojione monotone", "Emoji One (Monotone)", "CC-BY-4.0", "Emoji One", "https://github.com/EmojiTwo/emojitwo"),
}
# Sets that train only the judge, never the generator, and why:
JUDGE_ONLY_BECAUSE = {
    "openmoji": "licence: CC BY-SA (ShareAlike could bind weights trained on it)",
    "emojione-v1": "licence: CC BY-SA (ShareAlike could bind weights trained on it)",
    # style: the generator draws flat colour emoji; these are outside that style, so they add
    # nothing it should imitate, while they teach the judge shapes apart from one palette
    "fluent-emoji": "style: shaded pseudo-3D renders with gradients, not the flat vector look the generator draws",
    "fluent-emoji-high-contrast": "style: black-and-white line art, no colour",
    "emojione-monotone": "style: black-and-white silhouettes, no colour",
}
JUDGE_SETS = tuple(JUDGE_ONLY_BECAUSE)  # judge only, never the generator
GENERATOR_SETS = tuple(s for s in STYLES if s not in JUDGE_SETS)
UNSEEN_STYLE = "twemoji"  # held-out (concept, twemoji) pairs: the never-seen split


def _source(set_name: str, role: str) -> dict:
    _, title, spdx, author, url = STYLES[set_name]
    bears = {"Apache-2.0": "permissive; weights ship with this attribution and the licence named",
             "MIT": "permissive; weights ship with this attribution and the licence named",
             "CC-BY-4.0": "if weights are adapted material, CC BY requires this attribution, which the manifest and model card give",
             "CC-BY-SA-4.0": "ShareAlike could bind weights trained on it, so it trains only the evaluation judge (not shipped)"}[spdx]
    if set_name in JUDGE_SETS:
        bears = f"judge only ({JUDGE_ONLY_BECAUSE[set_name]}); the judge is not shipped"
    return {"name": f"{title} (npm @iconify-json/{set_name})", "license": spdx,
            "attribution": f"{title} by {author}, licensed under {spdx}; rasterized with resvg. {role}; {bears}",
            "url": url}


SOURCES = [_source(s, "generator training") for s in GENERATOR_SETS] + [
    {"name": "emojibase-data (CLDR names, tags)", "license": "MIT",
     "attribution": "Emojibase by Miles Johnson; annotations from Unicode CLDR (Unicode License v3)",
     "url": "https://emojibase.dev"}]
JUDGE_SOURCES = [_source(s, "judge training only") for s in JUDGE_SETS]


def article(phrase: str) -> str:
    return ("an " if phrase[:1] in "aeiou" else "a ") + phrase


def plain_label(label: str) -> str:
    """CLDR 'waving hand: medium skin tone' -> 'waving hand, medium skin tone'; 'flag: Japan' -> 'flag, japan'."""
    return re.sub(r"\s*:\s*", ", ", label).replace("’", "'").lower()


def captions_for(label: str, tags: list, style: str) -> list:
    """Every caption of one (concept, style) image; training draws one at random per step.
    Half name the style, half do not, so a prompt without a style word is in-distribution."""
    name = plain_label(label)
    caps = [name, article(name), f"an emoji of {article(name)}", f"{name} emoji",
            f"{article(name)}, {style} style", f"{style} style {name}", f"{name} in {style} style"]
    for t in tags[:8]:
        t = t.lower()
        if t != name:
            caps += [t, article(t)]
    if tags:
        caps.append(f"{name}, " + ", ".join(t.lower() for t in tags[:3]))
    return list(dict.fromkeys(caps))


def emoji_meta(node_modules: str) -> dict:
    """hexcode -> {label, tags, concept (hexcode without skin tone), emoji, group} for every
    emoji and skin variant in emojibase."""
    data = json.load(open(os.path.join(node_modules, "emojibase-data/en/data.json"), encoding="utf-8"))
    meta = {}
    for e in data:
        base = {"tags": e.get("tags", []), "concept": e["hexcode"], "group": e.get("group", -1)}
        meta[e["hexcode"]] = {**base, "label": e["label"], "emoji": e["emoji"]}
        for s in e.get("skins", []) or []:
            meta[s["hexcode"]] = {**base, "label": s["label"], "emoji": s["emoji"]}
    return meta


def load_raster_index(raster_dir: str) -> list:
    return json.load(open(os.path.join(raster_dir, "index.json"), encoding="utf-8"))


def held_out_concepts(concepts, fraction: float = 0.05, seed: int = 0) -> set:
    rng = np.random.default_rng(seed)
    concepts = sorted(set(concepts))
    return set(rng.choice(concepts, size=max(1, int(len(concepts) * fraction)), replace=False).tolist())
