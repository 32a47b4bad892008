"""Byte-level BPE tokenizer written as a Hugging Face `tokenizer.json`, giving the ids that
`@huggingface/tokenizers` (JS, what shared/ loads for the edge and the runner) gives for it.

Pipeline, the same on both sides:
  normalizer     emoji -> what they show (Replace: U+FE0F dropped, each emoji sequence from
                 emojibase, longest first, -> " cat face ", ZWJ -> " "), then NFKC, Lowercase
  pre-tokenizer  Whitespace (JS `\\w+|[^\\w\\s]+`, ASCII `\\w`), then ByteLevel without its regex:
                 every UTF-8 byte is a symbol, so no text is ever [UNK] and different unknown
                 words get different ids
  model          BPE: merge the lowest-ranked adjacent pair, leftmost first, until none applies
  post           [BOS] ids [EOS]; the shared truncation rule keeps the first L-1 and the last
"""
import heapq
import json
import unicodedata
from collections import Counter, defaultdict

from .specials import BOS, EOS, PAD, PIECE, SPECIALS, UNK, split_specials

VS16, ZWJ = "\ufe0f", "\u200d"


def _bytes_to_unicode() -> dict:
    """GPT-2's printable stand-in for every byte (tokenizers.js uses the same table)."""
    bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


BYTE = _bytes_to_unicode()


def emoji_replacements(names: dict) -> list:
    """[(emoji sequence without U+FE0F, ' name ')], longest first so a ZWJ sequence or a
    toned emoji is named whole before its parts; pure-ASCII keys (digits, '#') are left alone."""
    out = {}
    for seq, name in names.items():
        key = seq.replace(VS16, "")
        if key and not key.isascii() and key not in out:
            out[key] = f" {name} "
    return sorted(out.items(), key=lambda kv: (-len(kv[0]), kv[0]))


class BPETokenizer:
    def __init__(self, vocab: dict, merges: list, context_length: int, replacements: list = ()):
        assert all(vocab[s] == i for i, s in enumerate(SPECIALS)), "special tokens must be ids 0..3"
        self.vocab = vocab
        self.merges = [tuple(m) for m in merges]
        self.ranks = {m: i for i, m in enumerate(self.merges)}
        self.context_length = context_length
        self.replacements = list(replacements)
        self._cache = {}

    # --- the pipeline -------------------------------------------------------------------
    def normalize(self, text: str) -> str:
        if not text.isascii():  # every emoji key is non-ASCII: plain text skips the list
            text = text.replace(VS16, "")
            for seq, name in self.replacements:
                if seq in text:
                    text = text.replace(seq, name)
            text = text.replace(ZWJ, " ")
        return unicodedata.normalize("NFKC", text).lower()

    def words(self, text: str) -> list:
        """Normalised, pre-tokenized words as byte symbols (no special tokens)."""
        return ["".join(BYTE[b] for b in w.encode("utf-8")) for w in PIECE.findall(self.normalize(text))]

    def bpe(self, word: str) -> list:
        if word in self._cache:
            return self._cache[word]
        parts = list(word)
        while len(parts) > 1:
            best = min(((self.ranks.get((a, b), 1 << 60), i) for i, (a, b) in enumerate(zip(parts, parts[1:]))))
            if best[0] == 1 << 60:
                break
            i = best[1]
            parts[i:i + 2] = [parts[i] + parts[i + 1]]
        self._cache[word] = parts
        return parts

    def pieces(self, text: str) -> list:
        """Tokens as the JS tokenizer yields them: literal special tokens are kept whole."""
        return split_specials(text, lambda section: [p for w in self.words(section) for p in self.bpe(w)])

    def encode(self, text: str) -> list:
        """(L,) ids: [BOS] + ids + [EOS], truncated to the first L-1 and the last, padded with [PAD]."""
        L = self.context_length
        ids = [BOS] + [self.vocab.get(p, UNK) for p in self.pieces(text)] + [EOS]
        if len(ids) > L:
            ids = ids[:L - 1] + ids[-1:]
        return ids + [PAD] * (L - len(ids))

    def encode_batch(self, texts) -> list:
        return [self.encode(t) for t in texts]

    # --- training -----------------------------------------------------------------------
    @classmethod
    def train(cls, texts, context_length: int, vocab_size: int = 4096, emoji_names: dict = None,
              min_count: int = 2):
        """Merges learned from `texts` (most frequent pair first; ties by the pair itself)."""
        tok = cls({s: i for i, s in enumerate(SPECIALS)}, [], context_length,
                  emoji_replacements(emoji_names or {}))
        freq = Counter(w for t in texts for w in tok.words(t))
        words = [list(w) for w in freq]
        counts = list(freq.values())
        vocab = {s: i for i, s in enumerate(SPECIALS)}
        for b in range(256):
            vocab[BYTE[b]] = len(vocab)
        pair_count = Counter()
        where = defaultdict(set)
        for k, w in enumerate(words):
            for p in zip(w, w[1:]):
                pair_count[p] += counts[k]
                where[p].add(k)
        heap = [(-c, p) for p, c in pair_count.items()]
        heapq.heapify(heap)
        merges = []
        while len(vocab) < vocab_size and heap:
            c, p = heapq.heappop(heap)
            if -c != pair_count.get(p, 0):
                if pair_count.get(p, 0) > 0:
                    heapq.heappush(heap, (-pair_count[p], p))
                continue
            if -c < min_count:
                break
            merges.append(p)
            new = p[0] + p[1]
            vocab.setdefault(new, len(vocab))
            touched = set()
            for k in list(where[p]):
                w = words[k]
                for q in zip(w, w[1:]):
                    pair_count[q] -= counts[k]
                i, out = 0, []
                while i < len(w):  # leftmost first, as encoding does
                    if i + 1 < len(w) and (w[i], w[i + 1]) == p:
                        out.append(new)
                        i += 2
                    else:
                        out.append(w[i])
                        i += 1
                words[k] = out
                for q in zip(out, out[1:]):
                    pair_count[q] += counts[k]
                    where[q].add(k)
                    touched.add(q)
            del pair_count[p]
            for q in touched:
                if pair_count[q] > 0:
                    heapq.heappush(heap, (-pair_count[q], q))
        tok.vocab, tok.merges = vocab, merges
        tok.ranks = {m: i for i, m in enumerate(merges)}
        return tok

    # --- tokenizer.json -----------------------------------------------------------------
    def to_hf_json(self) -> dict:
        added = [{"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
                  "normalized": False, "special": True} for i, s in enumerate(SPECIALS)]
        spec = lambda s: {"id": s, "ids": [self.vocab[s]], "tokens": [s]}  # noqa: E731
        replace = lambda a, b: {"type": "Replace", "pattern": {"String": a}, "content": b}  # noqa: E731
        return {
            "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
            "normalizer": {"type": "Sequence", "normalizers": [replace(VS16, "")]
                           + [replace(a, b) for a, b in self.replacements]
                           + [replace(ZWJ, " "), {"type": "NFKC"}, {"type": "Lowercase"}]},
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Whitespace"},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]},
            "post_processor": {
                "type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": "[BOS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                           {"SpecialToken": {"id": "[EOS]", "type_id": 0}}],
                "pair": [{"SpecialToken": {"id": "[BOS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                         {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "[EOS]", "type_id": 0}}],
                "special_tokens": {s: spec(s) for s in ("[BOS]", "[EOS]")},
            },
            "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
            "model": {"type": "BPE", "dropout": None, "unk_token": "[UNK]", "continuing_subword_prefix": None,
                      "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                      "ignore_merges": False, "vocab": self.vocab, "merges": [list(m) for m in self.merges]},
        }

    def save(self, path: str):
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_hf_json(), f, ensure_ascii=False, indent=None, separators=(",", ":"))

    @classmethod
    def from_hf_json(cls, j: dict, context_length: int):
        reps = [(n["pattern"]["String"], n["content"]) for n in j["normalizer"]["normalizers"][1:]
                if n["type"] == "Replace" and n["pattern"]["String"] != ZWJ]
        return cls(j["model"]["vocab"], j["model"]["merges"], context_length, reps)
