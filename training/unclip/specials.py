"""What the word-level and the BPE tokenizer share: the special tokens, their ids, the JS
Whitespace pre-tokenizer's piece regex, and the rule that keeps literal special tokens whole.
Both tokenizers import this module and not each other."""
import re

SPECIALS = ["[PAD]", "[UNK]", "[BOS]", "[EOS]"]
PAD, UNK, BOS, EOS = 0, 1, 2, 3
# JS `\w` is [A-Za-z0-9_] (RegExp without the `u` flag); `\s` is close to Python's str `\s` after NFKC.
PIECE = re.compile(r"[A-Za-z0-9_]+|[^A-Za-z0-9_\s]+")
_SPECIAL_SPLIT = re.compile("(" + "|".join(re.escape(s) for s in SPECIALS) + ")")


def split_specials(text: str, section_pieces) -> list:
    """Literal special tokens kept whole (as the JS tokenizer does); the text between them
    goes through section_pieces."""
    out = []
    for section in _SPECIAL_SPLIT.split(text):
        if section in SPECIALS:
            out.append(section)
        elif section:
            out.extend(section_pieces(section))
    return out
