"""The judge CLIP: its data never includes a generator set, everyday pictures carry their prompt,
a tiny judge trained on one "style" of shapes ranks another style's renders above chance, and
the export writes the graphs, tokenizer and card the TypeScript side loads."""
import json
import os

import numpy as np
import onnx
import pytest
import torch

import judge
from unclip.clip import CLIP
from unclip.data_emoji import GENERATOR_SETS, JUDGE_ONLY_BECAUSE, JUDGE_SETS, STYLES
from unclip.data_shapes import render
from unclip.judge_data import JudgeTraining, judge_training

PROMPTS = [("a circle", []), ("a square", []), ("a triangle", [])]


def shapes(colours: list, n: int, seed: int):
    """n pictures per shape and colour: (images (M,64,64,3), prompt index (M,))."""
    rng = np.random.default_rng(seed)
    ims, labels = [], []
    for k, shape in enumerate(("circle", "square", "triangle")):
        for colour in colours:
            for _ in range(n):
                a = {"shape": shape, "colour": colour, "size": "large", "count": 1, "background": "white",
                     "position": str(rng.choice(["center", "top left", "bottom right"]))}
                ims.append(render(a, 64, rng, ss=1))
                labels.append(k)
    return np.stack(ims), np.array(labels)


def tiny_args(**kw):
    argv = ["--max-steps", "120", "--batch", "48", "--lr", "3e-3", "--log-every", "1000", "--no-resume"]
    args = judge.parser().parse_args(argv)
    for k, v in kw.items():
        setattr(args, k, v)
    return args


def test_every_judge_set_is_kept_from_the_generator_and_says_why():
    assert set(JUDGE_SETS).isdisjoint(GENERATOR_SETS)
    assert set(JUDGE_SETS) | set(GENERATOR_SETS) == set(STYLES)
    assert all(JUDGE_ONLY_BECAUSE[s].startswith(("licence:", "style:")) for s in JUDGE_SETS)


def test_an_everyday_emoji_carries_its_prompt_and_shares_a_group_with_the_prompts_other_emoji():
    meta = {"1F431": {"label": "cat face", "tags": ["cat", "face"], "concept": "1F431", "emoji": "🐱"},
            "1F408": {"label": "cat", "tags": ["cat"], "concept": "1F408", "emoji": "🐈"},
            "1F355": {"label": "pizza", "tags": ["cheese"], "concept": "1F355", "emoji": "🍕"}}
    pack = {"images": np.zeros((3, 64, 64, 3), np.uint8), "concepts": np.array(["1F431", "1F408", "1F355"]),
            "sets": np.array(["openmoji", "fluent-emoji", "openmoji"])}
    data = judge_training(pack, meta, [("a cute cat", ["🐱", "🐈"])])
    assert "a cute cat" in data.caption_lists[0] and "a cute cat" in data.caption_lists[1]
    assert "a cute cat" not in data.caption_lists[2] and "pizza" in data.caption_lists[2]
    assert data.group[0] == data.group[1] != data.group[2]
    assert data.prompt_of.tolist() == [0, 0, -1]


def test_a_generator_set_in_the_judge_pack_is_refused():
    meta = {"1F355": {"label": "pizza", "tags": [], "concept": "1F355", "emoji": "🍕"}}
    pack = {"images": np.zeros((1, 64, 64, 3), np.uint8), "concepts": np.array(["1F355"]),
            "sets": np.array(["twemoji"])}
    with pytest.raises(AssertionError, match="non-judge sets"):
        judge_training(pack, meta, [])


@pytest.fixture(scope="module")
def tiny_judge(tmp_path_factory):
    """A judge trained briefly on red/green/blue shapes (the "judge styles")."""
    torch.manual_seed(0)
    ims, labels = shapes(["red", "green", "blue"], 6, seed=0)
    caps = [[PROMPTS[k][0], PROMPTS[k][0].split()[-1]] for k in labels]
    data = JudgeTraining(ims, caps, labels, labels, np.array(["openmoji"] * len(labels)))
    tok = judge.train_tokenizer(caps, PROMPTS, {}, vocab_size=300, context_length=8)
    cfg = judge.judge_config(len(tok.vocab), resolution=16)
    cfg.context_length, cfg.image_channels, cfg.text_width, cfg.text_layers = 8, (8, 16, 32), 32, 1
    clip = CLIP(cfg)
    ckpt = str(tmp_path_factory.mktemp("judge") / "judge.pt")
    ema, steps, _, phases = judge.train(clip, tok, data, [p for p, _ in PROMPTS], tiny_args(budget_s=1e9), ckpt,
                                        log=lambda m: None)
    assert steps == 120
    assert phases == [{"from_step": 0, "sets": ["openmoji"], "pictures": len(labels), "prompt_loss": 1.0}]
    return ema, tok


def test_a_tiny_judge_ranks_renders_of_a_style_it_never_saw_better_than_chance(tiny_judge):
    ema, tok = tiny_judge
    ims, labels = shapes(["yellow", "purple"], 4, seed=1)  # colours the judge never saw
    real = {"images": ims, "prompt": labels, "sets": np.array(["noto", "twemoji"] * (len(labels) // 2))}
    c = judge.ceiling(ema, tok, real, PROMPTS)
    assert c["images"] == len(labels) and set(c["per_style"]) == {"noto", "twemoji"}
    assert c["r_precision_at_1"] > 0.6, c  # chance is 1/3


def test_r_precision_counts_an_image_whose_own_prompt_ranks_first():
    text = torch.eye(3)
    images = torch.tensor([[1.0, 0, 0], [0, 0.2, 0.9], [0, 1, 0], [0.9, 0.1, 0]])
    assert judge.r_precision_at_1(images, torch.tensor([0, 1, 1, 0]), text) == 0.75


def test_export_writes_both_graphs_the_tokenizer_and_a_card_with_pytorch_goldens(tiny_judge, tmp_path):
    ema, tok = tiny_judge
    card = judge.export(ema, tok, str(tmp_path), {"ceiling": {"r_precision_at_1": 0.5}})
    for key, ins, outs in (("image", ["image"], ["image_embed"]), ("text", ["input_ids"], ["text_embed", "text_tokens"])):
        m = onnx.load(os.path.join(tmp_path, judge.FILES[key]))
        assert [i.name for i in m.graph.input] == ins and [o.name for o in m.graph.output] == outs
    saved = json.load(open(os.path.join(tmp_path, "judge.json"), encoding="utf-8"))
    assert saved["golden"] == card["golden"] and saved["resolution"] == 16 and saved["embed_dim"] == 128
    with torch.no_grad():
        te = ema.encode_text(torch.tensor(tok.encode_batch(saved["golden"]["prompts"])))[0]
        ie = ema.encode_image(judge.golden_image(16))[0]
    np.testing.assert_allclose(saved["golden"]["text_embed"], te.numpy(), atol=1e-5)
    np.testing.assert_allclose(saved["golden"]["image_embed"], ie.numpy(), atol=1e-5)
    assert json.load(open(os.path.join(tmp_path, judge.FILES["tokenizer"]), encoding="utf-8"))["model"]["type"] == "BPE"


def test_the_committed_judge_image_tower_loads_into_pytorch_and_reproduces_its_golden():
    from judge import load_image_tower
    tower = load_image_tower()  # asserts the card's golden embedding within 1e-4
    assert sum(p.numel() for p in tower.parameters()) > 0
