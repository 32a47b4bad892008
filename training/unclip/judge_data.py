"""What the judge CLIP sees: the everyday prompts, its training pictures (JUDGE_SETS only, never a
generator set) with their captions, and the real renders of the generator's styles that measure
its ceiling. The judge's ruler is the prompt list of training/eval/everyday_prompts.tsv, but its
text tower takes any prompt, so it also learns every emoji's CLDR name and tags.
"""
import json
import os
from dataclasses import dataclass

import numpy as np

from .data_emoji import GENERATOR_SETS, JUDGE_SETS, STYLES, captions_for

EVAL_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "eval")
PROMPTS = os.path.join(EVAL_DIR, "everyday_prompts.tsv")


def read_prompts(path: str = PROMPTS) -> list:
    """[(prompt, [emoji, ...])] in file order."""
    out = []
    for line in open(path, encoding="utf-8"):
        if line.strip() and not line.startswith("#"):
            prompt, emoji = line.rstrip("\n").split("\t")
            out.append((prompt, emoji.split()))
    return out


def prompt_classes(prompts: list, meta: dict) -> dict:
    """concept hexcode -> prompt index, through each prompt's emoji (U+FE0F ignored)."""
    by_emoji = {m["emoji"].replace("\ufe0f", ""): m["concept"] for m in meta.values()}
    out = {}
    for k, (p, emojis) in enumerate(prompts):
        for e in emojis:
            c = by_emoji.get(e.replace("\ufe0f", ""))
            assert c is not None, f"{p!r}: {e} is not an emoji in emojibase"
            assert out.get(c, k) == k, f"{e} names two prompts"
            out[c] = k
    return out


@dataclass
class JudgeTraining:
    images: np.ndarray     # (N, 64, 64, 3) uint8, judge sets only
    caption_lists: list    # N lists of captions; a step draws one
    prompt_of: np.ndarray  # (N,) everyday prompt index, -1 for a concept no prompt names
    group: np.ndarray      # (N,) positives share a group: the prompt index, else the concept
    sets: np.ndarray       # (N,) the Iconify set of each picture


def judge_training(judge_pack: dict, meta: dict, prompts: list, prompt_weight: int = 3) -> JudgeTraining:
    """`judge_pack`: judge64.npz's arrays (images, concepts, sets); `meta`: emoji_meta() (labels
    and tags). A picture of an everyday prompt's emoji also carries the prompt itself,
    `prompt_weight` times, so the prompt is drawn about as often as the CLDR captions together."""
    sets = judge_pack["sets"]
    assert set(sets.tolist()) <= set(JUDGE_SETS), f"judge pack holds non-judge sets: {set(sets.tolist()) - set(JUDGE_SETS)}"
    assert not set(sets.tolist()) & set(GENERATOR_SETS), "a generator set would leak into the judge"
    cls = prompt_classes(prompts, meta)
    concepts = judge_pack["concepts"]
    caps, prompt_of = [], []
    for c, s in zip(concepts, sets):
        m = meta[c]
        k = cls.get(c, -1)
        cs = captions_for(m["label"], m.get("tags", []), STYLES[s][0])
        if k >= 0:
            cs += [prompts[k][0]] * prompt_weight
        caps.append(cs)
        prompt_of.append(k)
    prompt_of = np.array(prompt_of)
    _, concept_id = np.unique(concepts, return_inverse=True)
    group = np.where(prompt_of >= 0, prompt_of, len(prompts) + concept_id)
    return JudgeTraining(judge_pack["images"], caps, prompt_of, group, np.asarray(sets))


def real_renders(emoji_pack: dict, meta: dict, prompts: list) -> dict:
    """The ceiling's pictures: every generator-style render of an everyday prompt's emoji (base
    emoji, no skin-tone variant), as {images (M,64,64,3), prompt (M,), sets (M,), held_out (M,)}."""
    cls = prompt_classes(prompts, meta)
    keep = np.array([c in cls and h == c for c, h in zip(emoji_pack["concepts"], emoji_pack["hexcodes"])])
    return {"images": emoji_pack["images"][keep],
            "prompt": np.array([cls[c] for c in emoji_pack["concepts"][keep]]),
            "sets": emoji_pack["sets"][keep],
            "held_out": emoji_pack["held_out"][keep],
            "hexcodes": emoji_pack["hexcodes"][keep]}


def load_npz(path: str) -> dict:
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def load_meta(pack: str, node_modules: str) -> dict:
    """emojibase labels and tags (from node_modules) where present, else the pack's meta.json
    (labels only): the captions need tags, the ceiling needs only concepts."""
    from .data_emoji import emoji_meta
    if os.path.exists(os.path.join(node_modules, "emojibase-data/en/data.json")):
        return emoji_meta(node_modules)
    return json.load(open(os.path.join(pack, "meta.json"), encoding="utf-8"))
