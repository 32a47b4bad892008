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
