"""A bundle's own networks in PyTorch (unclip/from_bundle.py): what the benchmarks' baselines
run. They must be the bundle's networks, with its weights, or refuse."""
import json
import os
import shutil

import pytest
import torch

from unclip.checkpoint import build_model
from unclip.config import get_config
from unclip.export import write_bundle
from unclip.from_bundle import (NetworkMismatch, generation_parameters, load_bundle_networks,
                                stage_modules)
from unclip.pipeline import Pipeline
from unclip.tokenizer import load_tokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = os.path.join(ROOT, "models", "tiny-test")


def _vocab(bundle_dir):
    with open(os.path.join(bundle_dir, "tokenizer.json")) as f:
        return len(json.load(f)["model"]["vocab"])


def _tensor(a):
    return torch.tensor(a["data"], dtype=torch.long if a["dtype"] == "int64" else torch.float32).reshape(a["shape"])


def test_the_shipped_tiny_bundle_loads_into_its_recorded_networks_and_reproduces_its_golden_outputs():
    nets, _, report = load_bundle_networks(TINY)
    counts = report["parameters"]
    assert all(c["onnx"] == c["torch"] > 0 for c in counts.values()), counts
    assert generation_parameters(counts, "torch") == generation_parameters(counts, "onnx")
    assert report["weights"] == "the bundle's ONNX initializers"
    with open(os.path.join(TINY, "golden", "parity.json")) as f:
        graphs = json.load(f)["graphs"]
    modules = stage_modules(nets)
    modules["upsampler_32"] = modules.pop("upsampler")
    for graph, golden in graphs.items():
        with torch.no_grad():
            out = modules[graph](*(_tensor(a) for a in golden["inputs"].values()))
        out = out if isinstance(out, tuple) else (out,)
        for got, (name, want) in zip(out, golden["outputs"].items()):
            # untrained weights would miss by O(1); the exported ones match to float rounding
            assert torch.allclose(got, _tensor(want), atol=golden["tolerance"]), f"{graph}.{name}"


def test_a_config_that_is_not_the_bundles_network_is_refused_with_the_stages_that_differ():
    # The bug this check exists for: the bench took emoji-gpu's baseline from the preset
    # emoji:gpu, which became model v2 (a 64 px decoder of twice the parameters).
    emoji = os.path.join(ROOT, "models", "emoji-gpu")
    preset = get_config("emoji", "gpu")
    preset.clip.vocab_size = _vocab(emoji)
    with pytest.raises(NetworkMismatch, match=r"config emoji:gpu.*decoder: bundle 4,241,907 vs PyTorch 8,519,987"):
        load_bundle_networks(emoji, preset, weights=False)
    # Only the context length differs (16 vs 32): the text encoder and prior grow, the rest not.
    wrong = get_config("emoji", "tiny")
    wrong.clip.vocab_size = _vocab(TINY)
    with pytest.raises(NetworkMismatch, match=r"text_encoder: bundle 14,816 vs PyTorch 15,328; prior: bundle 18,224"):
        load_bundle_networks(TINY, wrong)


def test_a_config_one_embedding_row_off_is_refused():
    off = get_config("shapes", "tiny")
    off.clip.vocab_size = _vocab(TINY) + 1
    with pytest.raises(NetworkMismatch, match="text_encoder: bundle 14,816 vs PyTorch 14,848"):
        load_bundle_networks(TINY, off)


def test_a_manifest_without_an_architecture_says_how_to_get_one(tmp_path):
    old = tmp_path / "old"
    shutil.copytree(TINY, old)
    manifest = json.loads((old / "manifest.json").read_text())
    del manifest["architecture"]
    (old / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(NetworkMismatch, match="records no architecture"):
        load_bundle_networks(str(old))


def test_an_exported_bundle_records_its_architecture_and_loads_back_into_the_same_functions(tmp_path):
    cfg = get_config("shapes", "tiny")
    cfg.clip.vocab_size = _vocab(TINY)
    torch.manual_seed(3)
    nets = {s: build_model(s, cfg).eval() for s in ("clip", "prior", "decoder", "upsampler")}
    with torch.no_grad():  # as after training: at their initial ones and zeros, torch.onnx
        for net in nets.values():  # would store equal tensors once, and no count could match
            for p in net.parameters():
                p.copy_(torch.randn_like(p) * 0.1)
    tok = load_tokenizer(os.path.join(TINY, "tokenizer.json"), cfg.clip.context_length)
    pipe = Pipeline(nets["clip"], nets["prior"], nets["decoder"], nets["upsampler"], tok, cfg)
    out = str(tmp_path / "bundle")
    manifest = write_bundle(pipe, out, "export-check", "1", "", [], os.path.join(TINY, "tokenizer.json"))
    assert manifest["architecture"]["decoder"]["base_channels"] == cfg.decoder.base_channels
    back, _, _ = load_bundle_networks(out)
    x, t = torch.randn(2, 3, 32, 32), torch.tensor([5.0, 900.0])
    low = torch.rand(2, 3, 16, 16)
    with torch.no_grad():
        assert torch.allclose(back["upsampler"](x, t, low), nets["upsampler"](x, t, low), atol=1e-6)
        ids = torch.tensor([[2, 5, 6, 3] + [0] * 12])
        assert torch.allclose(back["clip"].text(ids)[1], nets["clip"].text(ids)[1], atol=1e-6)


def test_the_bench_baseline_refuses_a_wrong_config_and_prints_no_timing():
    """bench/torch_baseline.py, as `npm run bench` runs it, with the preset that is not tiny-test's."""
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "torch_baseline.py"), "--bundle", TINY,
                           "--config", "emoji:tiny", "--prior-steps", "2", "--prior-guidance", "2", "--steps", "2",
                           "--guidance", "3", "--upsampler-steps", "1", "--threads", "1", "--probe-only"],
                          capture_output=True, text=True, timeout=300)
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert any("refused" in line and "text_encoder: bundle 14,816" in line["refused"] for line in lines)
    assert not any("scenario" in line or "gmac_per_row" in line for line in lines)
