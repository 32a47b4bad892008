"""Every stage on the tiny config for a few steps, resume, export with goldens, eval: the CI smoke."""
import json
import os

import onnx

import eval as evaluate
import export
import train
from unclip.export import sha256


def test_every_stage_trains_resumes_exports_and_evaluates(tmp_path):
    run = str(tmp_path / "run")
    train.main(["--stage", "all", "--data", "shapes", "--config", "tiny", "--run-dir", run, "--steps", "3"])
    for s in train.STAGES:
        assert os.path.exists(os.path.join(run, f"{s}.pt")), s
    train.main(["--stage", "decoder", "--data", "shapes", "--config", "tiny", "--run-dir", run, "--steps", "5", "--resume"])
    assert "[decoder] resumed at step 3" in open(os.path.join(run, "train.log")).read()

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
