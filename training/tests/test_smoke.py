"""Every stage on the tiny config for a few steps, resume, export with goldens, eval: the CI smoke."""
import json
import os
import re

import onnx
import torch

import eval_run as evaluate
import export_bundle as export
import pack_run
import train
from unclip.checkpoint import load_checkpoint, load_stage
from unclip.export import sha256


def test_every_stage_trains_resumes_exports_and_evaluates(tmp_path):
    run = str(tmp_path / "run")
    train.main(["--stage", "all", "--data", "shapes", "--config", "tiny", "--run-dir", run, "--steps", "3"])
    for s in train.STAGES:
        assert os.path.exists(os.path.join(run, f"{s}.pt")), s
    packs = str(tmp_path / "out")  # a GPU call's $OUT: the fp16 EMA packed while training
    train.main(["--stage", "decoder", "--data", "shapes", "--config", "tiny", "--run-dir", run, "--steps", "5", "--resume",
                "--pack-to", packs, "--pack-every", "0"])
    log = open(os.path.join(run, "train.log")).read()
    assert "[decoder] resumed at step 3" in log and "MMAC per sample forward" in log and "BLAS:" in log
    assert load_checkpoint(os.path.join(packs, "decoder.pt"))["step"] == 5

    # a checkpoint folder (parts forced small), then a new run continuing from its EMA weights
    folder, run2 = str(tmp_path / "checkpoints"), str(tmp_path / "run2")
    pack_run.main(["--run-dir", run, "--out", folder, "--part-mb", "0.1"])
    assert os.path.exists(os.path.join(folder, "decoder.pt.001")) and os.path.exists(os.path.join(folder, "tokenizer.json"))
    packed, _, _ = load_stage(folder, "decoder")
    trained = load_checkpoint(os.path.join(run, "decoder.pt"))["ema"]
    for k, v in packed.state_dict().items():
        assert torch.equal(v, trained[k].half().float()), k
    assert pack_run.main(["--unpack", folder, "--run-dir", run2, "--stages", "clip", "decoder"]) == {"clip": 3, "decoder": 5}
    train.main(["--stage", "decoder", "--data", "shapes", "--config", "tiny", "--run-dir", run2, "--steps", "6", "--resume"])
    assert re.search(r"\[decoder\] resumed at step 5 \(\d+s\) from EMA weights", open(os.path.join(run2, "train.log")).read())

    out = str(tmp_path / "bundle")
    export.main(["--run-dir", run, "--out", out, "--goldens"])
    m = json.load(open(os.path.join(out, "manifest.json")))
    assert m["schema_version"] == 1 and set(m["stages"]) == {"text_encoder", "image_encoder", "prior", "decoder", "upsamplers"}
    for entry in [m["stages"][k] for k in ("text_encoder", "image_encoder", "prior", "decoder")] + m["stages"]["upsamplers"]:
        g = onnx.load(os.path.join(out, entry["file"]))
        assert [i.name for i in g.graph.input] == [i["name"] for i in entry["inputs"]]
        assert all(i.type.tensor_type.shape.dim[0].dim_param == "batch" for i in g.graph.input)
        assert sha256(os.path.join(out, entry["file"])) == entry["sha256"]
    for f in ("parity.json", "sampler.json", "tokens.json"):
        assert os.path.getsize(os.path.join(out, "golden", f)) > 0

    res = evaluate.main(["--run-dir", run, "--out", out, "--n", "4", "--steps", "2"])
    assert set(res["splits"]) == {"seen", "unseen"}
    assert "detector_accuracy" in res["splits"]["unseen"]
    assert os.path.exists(os.path.join(out, "samples.png"))


def test_emoji_v2_packs_trains_every_stage_exports_and_evaluates(tmp_path, monkeypatch):
    """The model v2 path on `tiny`: a pack made by prepare_emoji.py from a few drawn pictures in
    the layout rasterize_emoji.ts writes, then every stage, resume, export and eval."""
    import numpy as np
    from PIL import Image, ImageDraw

    import prepare_emoji
    from unclip import dataset
    raster = tmp_path / "raster"
    rows = []
    hexes = ["1F431", "1F436", "1F355", "1F34E", "2764", "1F680", "1F3E0", "1F31E", "1F44B", "1F44B-1F3FD",
             "1F308", "1F525", "1F40D", "1F98A", "1F333", "2B50", "1F382", "1F697", "1F47B", "1F916"]
    rng = np.random.default_rng(0)
    for s in ("noto", "twemoji", "fluent-emoji-flat", "openmoji"):
        (raster / s).mkdir(parents=True)
        for h in hexes:
            im = Image.new("RGB", (256, 256), "white")
            ImageDraw.Draw(im).ellipse([40, 40, 216, 216], fill=tuple(int(v) for v in rng.integers(0, 255, 3)))
            im.save(raster / s / f"{h}.png")
            rows.append({"set": s, "hexcode": h, "name": h})
    (raster / "index.json").write_text(json.dumps(rows))
    pack = str(tmp_path / "pack")
    prepare_emoji.main(["--raster", str(raster), "--out", pack, "--hi-per-style", "8", "--vocab-size", "600"])
    monkeypatch.setattr(dataset, "PACK", pack)

    run = str(tmp_path / "run")
    train.main(["--stage", "all", "--data", "emoji", "--config", "tiny", "--run-dir", run, "--steps", "2"])
    train.main(["--stage", "upsampler", "--data", "emoji", "--config", "tiny", "--run-dir", run, "--steps", "3", "--resume"])
    assert "[upsampler] resumed at step 2" in open(os.path.join(run, "train.log")).read()
    out = str(tmp_path / "bundle")
    export.main(["--run-dir", run, "--out", out])
    m = json.load(open(os.path.join(out, "manifest.json")))
    up = m["stages"]["upsamplers"][0]
    assert (m["stages"]["decoder"]["resolution"], up["input_resolution"], up["resolution"]) == (16, 16, 64)
    assert {s["license"] for s in m["sources"]} >= {"Apache-2.0", "CC-BY-4.0", "MIT"}
    assert "CC-BY-SA-4.0" not in {s["license"] for s in m["sources"]}  # judge-only sets never train the generator
    res = evaluate.main(["--run-dir", run, "--out", out, "--n", "2", "--steps", "2"])
    assert set(res["splits"]) == {"seen", "unseen"}
