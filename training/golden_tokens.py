"""Write training/golden/bpe_tokens.json: a small BPE tokenizer.json (with emoji names) trained on
emoji captions, and the ids the Python tokenizer gives for prompts that exercise every step
(emoji, skin tones, ZWJ, keycaps, non-ASCII, unknown words, truncation, literal specials).
training/parity.test.ts checks that @huggingface/tokenizers gives the same ids for the same file;
tests/test_tokenizer.py that the Python tokenizer still does.

  python3 training/golden_tokens.py
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from unclip.bpe import BPETokenizer  # noqa: E402
from unclip.data_emoji import captions_for, emoji_meta, plain_label  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PATH = os.path.join(HERE, "golden", "bpe_tokens.json")
CASES = ["a cat", "an astronaut riding a horse", "🐱🐶🍕", "🍕🍕", "猫猫猫", "犬犬犬", "a dog wearing sunglasses 😎",
         "zebra xylophone quokka", "👋🏽 hello", "👩🏽‍🚀 in space", "1️⃣ #️⃣ © ™", "🇯🇵 flag", "Piñata PARTY!!",
         "ＦＵＬＬ width", "don't stop", "a   cat\tsits", "[BOS] a cat [EOS]", "ßtraße İstanbul ΣΑΣ", "",
         " ".join(["a red apple"] * 12), "a cat, noto style", "twemoji style grinning face"]

if __name__ == "__main__":
    meta = emoji_meta(os.path.join(HERE, "..", "node_modules"))
    base = {h: m for h, m in meta.items() if m["concept"] == h}
    texts = [c for m in list(base.values())[:600] for c in captions_for(m["label"], m["tags"], "noto")]
    names = {m["emoji"]: plain_label(m["label"]) for m in base.values()}
    tok = BPETokenizer.train(texts, 16, 600, names)
    os.makedirs(os.path.dirname(PATH), exist_ok=True)
    json.dump({"context_length": 16, "tokenizer": tok.to_hf_json(),
               "cases": [{"text": t, "ids": tok.encode(t)} for t in CASES]},
              open(PATH, "w", encoding="utf-8"), ensure_ascii=False, separators=(",", ":"))
    print(f"{PATH}: {len(tok.vocab)} tokens, {len(CASES)} cases ({os.path.getsize(PATH) / 1e3:.0f} kB)")
