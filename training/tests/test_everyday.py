"""The everyday prompt set: written before training, as people type, never a generator training
caption (the judge alone learns them: training/judge.py)."""
import os
import re

from unclip.data_emoji import STYLES, captions_for, emoji_meta
from unclip.judge_data import PROMPTS, prompt_classes, read_prompts

NODE_MODULES = os.path.join(os.path.dirname(__file__), "..", "..", "node_modules")
norm = lambda s: re.sub(r"\s+", " ", s.strip().lower())  # noqa: E731


def test_at_least_100_prompts_across_the_six_kinds_each_naming_a_known_emoji():
    text = open(PROMPTS, encoding="utf-8").read()
    kinds = re.findall(r"^# (\w+)", text, flags=re.M)
    assert {"food", "animals", "objects", "nature", "people", "symbols"} <= set(kinds)
    prompts = read_prompts()
    assert len(prompts) >= 100 and len({p for p, _ in prompts}) == len(prompts)
    classes = prompt_classes(prompts, emoji_meta(NODE_MODULES))  # asserts every emoji is known, none twice
    assert set(classes.values()) == set(range(len(prompts)))


def test_no_prompt_is_a_training_caption_of_any_emoji_in_any_style():
    meta = emoji_meta(NODE_MODULES)
    captions = {norm(c) for m in meta.values() for style, *_ in STYLES.values()
                for c in captions_for(m["label"], m["tags"], style)}
    clashes = [p for p, _ in read_prompts() if norm(p) in captions]
    assert clashes == []
