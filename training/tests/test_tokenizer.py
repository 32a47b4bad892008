import json

from unclip.tokenizer import BOS, EOS, PAD, UNK, WordTokenizer, pre_tokenize

CAPS = ["a small red circle in the top left on a white background", "two large blue squares on a black background"]


def test_ids_are_bos_words_eos_then_padding():
    tok = WordTokenizer.from_captions(CAPS, 16)
    ids = tok.encode("two large blue squares")
    assert ids[0] == BOS and ids[5] == EOS and ids[6:] == [PAD] * 10
    assert ids[1:5] == [tok.vocab[w] for w in ("two", "large", "blue", "squares")]


def test_long_prompts_keep_the_first_l_minus_2_words_and_end_with_eos():
    tok = WordTokenizer.from_captions(CAPS, 8)
    ids = tok.encode(" ".join(["red"] * 20))
    assert len(ids) == 8 and ids[0] == BOS and ids[-1] == EOS and ids[1:7] == [tok.vocab["red"]] * 6


def test_case_width_and_spacing_variants_share_ids():
    tok = WordTokenizer.from_captions(CAPS, 16)
    assert tok.encode("Two  LARGE blue\tsquares") == tok.encode("two large blue squares")
    assert tok.encode("ｒｅｄ circle") == tok.encode("red circle")  # NFKC folds full-width


def test_unknown_words_map_to_unk_and_non_ascii_letters_split_like_js():
    tok = WordTokenizer.from_captions(CAPS, 16)
    assert tok.encode("zebra")[1] == UNK
    assert pre_tokenize("piñata") == ["pi", "ñ", "ata"]  # JS \w is ASCII-only
    assert pre_tokenize("red, green!") == ["red", ",", "green", "!"]


def test_tokenizer_json_round_trips_and_declares_the_contract(tmp_path):
    tok = WordTokenizer.from_captions(CAPS, 16)
    path = tmp_path / "tokenizer.json"
    tok.save(str(path))
    j = json.loads(path.read_text())
    assert j["model"]["type"] == "WordLevel" and j["model"]["unk_token"] == "[UNK]"
    assert [(t["id"], t["content"], t["special"]) for t in j["added_tokens"]] == [
        (0, "[PAD]", True), (1, "[UNK]", True), (2, "[BOS]", True), (3, "[EOS]", True)]
    assert j["truncation"] is None and j["padding"] is None
    assert j["pre_tokenizer"] == {"type": "Whitespace"}
    assert WordTokenizer.load(str(path), 16).encode(CAPS[0]) == tok.encode(CAPS[0])


# --- BPE (model v2) -------------------------------------------------------------------------
import os  # noqa: E402

from unclip.bpe import BPETokenizer  # noqa: E402
from unclip.tokenizer import load_tokenizer  # noqa: E402

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "golden", "bpe_tokens.json")
EMOJI = {"🐱": "cat face", "👩": "woman", "🚀": "rocket", "👩\u200d🚀": "woman astronaut", "🏽": "medium skin tone"}


def test_bpe_golden_ids_are_still_what_python_gives():
    g = json.load(open(GOLDEN, encoding="utf-8"))
    tok = BPETokenizer.from_hf_json(g["tokenizer"], g["context_length"])
    assert [tok.encode(c["text"]) for c in g["cases"]] == [c["ids"] for c in g["cases"]]


def test_bpe_never_loses_a_word_and_keeps_unknown_words_apart():
    tok = BPETokenizer.train(CAPS * 3, 16, 400, EMOJI)
    for word in ("zebra", "quokka", "猫", "piñata"):
        assert UNK not in tok.encode(word)
    assert tok.encode("猫猫猫") != tok.encode("犬犬犬") != tok.encode("🦜🦜")
    assert tok.encode("small red circle")[1:4] == [tok.vocab[w] for w in ("small", "red", "circle")]


def test_bpe_names_emoji_whole_sequences_first_and_ignores_variation_selectors():
    tok = BPETokenizer.train(["cat face", "woman astronaut", "rocket", "medium skin tone"] * 3, 32, 300, EMOJI)
    assert tok.encode("🐱") == tok.encode("cat face")
    assert tok.encode("👩\u200d🚀") == tok.encode("woman astronaut")  # not "woman rocket"
    assert tok.encode("👩🏽") == tok.encode("woman medium skin tone")
    assert tok.encode("🐱\ufe0f") == tok.encode("🐱")


def test_bpe_truncation_keeps_the_first_l_minus_1_and_the_end_token():
    tok = BPETokenizer.train(CAPS * 3, 8, 400)
    ids = tok.encode(" ".join(["red"] * 20))
    assert len(ids) == 8 and ids[0] == BOS and ids[-1] == EOS and ids[1:7] == [tok.vocab["red"]] * 6


def test_a_saved_bpe_tokenizer_loads_back_as_bpe(tmp_path):
    tok = BPETokenizer.train(CAPS, 16, 300, EMOJI)
    tok.save(str(tmp_path / "t.json"))
    back = load_tokenizer(str(tmp_path / "t.json"), 16)
    assert isinstance(back, BPETokenizer) and back.encode("🐱 zebra") == tok.encode("🐱 zebra")
