"""Word-level tokenizer written as a Hugging Face `tokenizer.json` by hand.

It must give the same ids as `@huggingface/tokenizers` (JS) loading the same file:
NFKC + lowercase, split on the JS Whitespace pre-tokenizer regex `\\w+|[^\\w\\s]+` where `\\w`
is ASCII-only (JS RegExp without the `u` flag), whole-word lookup else [UNK], then
[BOS] … [EOS]. Truncation rule (shared with the TS side): [BOS] + first L-2 word ids + [EOS],
padded with [PAD]=0 to L.
"""
import json
import unicodedata

from .bpe import BPETokenizer
from .specials import BOS, EOS, PAD, PIECE, SPECIALS, UNK, split_specials

__all__ = ["BOS", "EOS", "PAD", "UNK", "SPECIALS", "WordTokenizer", "load_tokenizer", "pre_tokenize"]


def pre_tokenize(text: str) -> list:
    """Normalised word pieces of a text without special tokens."""
    text = unicodedata.normalize("NFKC", text).lower()
    return PIECE.findall(text)


class WordTokenizer:
    def __init__(self, vocab: dict, context_length: int):
        assert all(vocab[s] == i for i, s in enumerate(SPECIALS)), "special tokens must be ids 0..3"
        self.vocab = vocab
        self.context_length = context_length

    @classmethod
    def from_captions(cls, captions, context_length: int):
        words = sorted({w for c in captions for w in pre_tokenize(c)} - set(SPECIALS))
        # JS loads this as WordPiece; a "##…" entry could then match word continuations.
        words = [w for w in words if not w.startswith("##") and len(w) <= 100]
        vocab = {s: i for i, s in enumerate(SPECIALS)}
        for w in words:
            vocab[w] = len(vocab)
        return cls(vocab, context_length)

    def pieces(self, text: str) -> list:
        """Tokens as the JS tokenizer yields them: literal special tokens are kept whole."""
        return split_specials(text, pre_tokenize)

    def encode(self, text: str) -> list:
        """(L,) ids: [BOS] + first L-2 word ids + [EOS] + [PAD]*."""
        L = self.context_length
        ids = [self.vocab.get(p, UNK) for p in self.pieces(text)][: L - 2]
        ids = [BOS] + ids + [EOS]
        return ids + [PAD] * (L - len(ids))

    def encode_batch(self, texts) -> list:
        return [self.encode(t) for t in texts]

    def to_hf_json(self) -> dict:
        added = [{"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
                  "normalized": False, "special": True} for i, s in enumerate(SPECIALS)]
        spec = lambda s: {"id": s, "ids": [self.vocab[s]], "tokens": [s]}  # noqa: E731
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": added,
            "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Lowercase"}]},
            "pre_tokenizer": {"type": "Whitespace"},
            "post_processor": {
                "type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": "[BOS]", "type_id": 0}},
                           {"Sequence": {"id": "A", "type_id": 0}},
                           {"SpecialToken": {"id": "[EOS]", "type_id": 0}}],
                "pair": [{"SpecialToken": {"id": "[BOS]", "type_id": 0}},
                         {"Sequence": {"id": "A", "type_id": 0}},
                         {"Sequence": {"id": "B", "type_id": 1}},
                         {"SpecialToken": {"id": "[EOS]", "type_id": 0}}],
                "special_tokens": {s: spec(s) for s in ("[BOS]", "[EOS]")},
            },
            "decoder": None,
            # WordLevel with an unk_token. tokenizers.js has no WordLevel class: it picks its
            # WordPiece model when `continuing_subword_prefix` is present, which reads
            # unk_token from here (its Legacy fallback would need unk_token in the config).
            # With no "##" entries in the vocab, WordPiece is exactly a whole-word lookup.
            "model": {"type": "WordLevel", "vocab": self.vocab, "unk_token": "[UNK]",
                      "continuing_subword_prefix": "##", "max_input_chars_per_word": 100},
        }

    def save(self, path: str):
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_hf_json(), f, ensure_ascii=False, indent=None, separators=(",", ":"))

    @classmethod
    def load(cls, path: str, context_length: int):
        with open(path, encoding="utf-8") as f:
            return cls(json.load(f)["model"]["vocab"], context_length)


def load_tokenizer(path: str, context_length: int):
    """A bundle's tokenizer.json as the Python tokenizer of its model type (BPE since model v2;
    the word-level one for the older bundles)."""
    with open(path, encoding="utf-8") as f:
        j = json.load(f)
    if j["model"]["type"] == "BPE":
        return BPETokenizer.from_hf_json(j, context_length)
    return WordTokenizer(j["model"]["vocab"], context_length)
