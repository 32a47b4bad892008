"""Export a trained run directory as a model bundle (Contract 4, docs/ARCHITECTURE.md): ONNX
graphs with a dynamic batch dimension, manifest.json with sha256s, tokenizer.json, and (for test
bundles) golden files that the TypeScript parity tests replay: parity.json, sampler.json, tokens.json."""
import hashlib
import json
import math
import os
import shutil

import numpy as np
import onnx
import torch
import torch.nn as nn

from .diffusion import Diffusion, ddim_sample, respaced_timesteps

OPSET = 14
SCHEDULE = {"name": "cosine", "timesteps": 1000}


class TextEncoderGraph(nn.Module):
    def __init__(self, clip):
        super().__init__()
        self.text = clip.text

    def forward(self, input_ids):
        return self.text(input_ids)


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def io(name, dtype, shape):
    return {"name": name, "dtype": dtype, "shape": ["batch"] + list(shape)}


def export_graph(model, inputs: dict, outputs: list, path: str):
    """torch.onnx.export with dim 0 of every input and output dynamic ("batch")."""
    names_in = list(inputs)
    dyn = {n: {0: "batch"} for n in names_in + outputs}
    torch.onnx.export(model.eval(), tuple(inputs.values()), path, input_names=names_in, output_names=outputs,
                      dynamic_axes=dyn, opset_version=OPSET, do_constant_folding=True)
    m = onnx.load(path)
    onnx.checker.check_model(m)
    got_in = [i.name for i in m.graph.input]
    got_out = [o.name for o in m.graph.output]
    assert got_in == names_in and got_out == outputs, f"{path}: graph IO {got_in}->{got_out}, expected {names_in}->{outputs}"


def graph_specs(clip, prior, decoder, upsampler, cfg):
    """name -> (module, example inputs (batch 2), output names, manifest IO). Inputs are seeded."""
    g = torch.Generator().manual_seed(7)
    L, W, D = cfg.clip.context_length, cfg.clip.text_width, cfg.clip.embed_dim
    R, R2, R1 = cfg.decoder.resolution, cfg.upsampler.resolution, cfg.upsampler.low_res
    ids = torch.zeros(2, L, dtype=torch.long)
    ids[0, :5] = torch.tensor([2, 4, 5, 6, 3]) % cfg.clip.vocab_size
    ids[1, :3] = torch.tensor([2, 1, 3])
    te = torch.nn.functional.normalize(torch.randn(2, D, generator=g), dim=-1)
    tt = torch.randn(2, L, W, generator=g)
    tm = torch.zeros(2, L)
    tm[0, :5] = 1
    tm[1, :3] = 0  # second sample: fully masked (the unconditional branch)
    t = torch.tensor([999.0, 17.0])
    specs = {
        "text_encoder": (TextEncoderGraph(clip), {"input_ids": ids}, ["text_embed", "text_tokens"],
                         ([io("input_ids", "int64", [L])], [io("text_embed", "float32", [D]), io("text_tokens", "float32", [L, W])])),
        "image_encoder": (clip.image, {"image": torch.rand(2, 3, R, R, generator=g) * 2 - 1}, ["image_embed"],
                          ([io("image", "float32", [3, R, R])], [io("image_embed", "float32", [D])])),
        "prior": (prior, {"x_t": torch.randn(2, D, generator=g) * 3, "timestep": t, "text_embed": te,
                          "text_tokens": tt, "text_mask": tm}, ["pred"],
                  ([io("x_t", "float32", [D]), io("timestep", "float32", []), io("text_embed", "float32", [D]),
                    io("text_tokens", "float32", [L, W]), io("text_mask", "float32", [L])], [io("pred", "float32", [D])])),
        "decoder": (decoder, {"x_t": torch.randn(2, 3, R, R, generator=g), "timestep": t, "image_embed": te,
                              "text_tokens": tt, "text_mask": tm}, ["pred"],
                    ([io("x_t", "float32", [3, R, R]), io("timestep", "float32", []), io("image_embed", "float32", [D]),
                      io("text_tokens", "float32", [L, W]), io("text_mask", "float32", [L])],
                     [io("pred", "float32", [3, R, R])])),
        f"upsampler_{R2}": (upsampler, {"x_t": torch.randn(2, 3, R2, R2, generator=g), "timestep": t,
                                        "low_res": torch.rand(2, 3, R1, R1, generator=g) * 2 - 1}, ["pred"],
                            ([io("x_t", "float32", [3, R2, R2]), io("timestep", "float32", []),
                              io("low_res", "float32", [3, R1, R1])], [io("pred", "float32", [3, R2, R2])])),
    }
    return specs


def arr(t: torch.Tensor) -> dict:
    a = t.detach().cpu()
    # %.9g round-trips float32 exactly and halves the golden files
    return {"shape": list(a.shape), "dtype": "int64" if a.dtype == torch.long else "float32",
            "data": a.reshape(-1).tolist() if a.dtype == torch.long else [float("%.9g" % v) for v in a.float().reshape(-1).numpy()]}


def write_bundle(pipe, out_dir: str, name: str, version: str, description: str, sources: list,
                 tokenizer_path: str, goldens: bool = False, golden_captions=None, extra_files=None):
    clip, prior, decoder, upsampler, cfg = pipe.clip, pipe.prior, pipe.decoder, pipe.upsampler, pipe.cfg
    os.makedirs(out_dir, exist_ok=True)
    shutil.copyfile(tokenizer_path, os.path.join(out_dir, "tokenizer.json"))
    specs = graph_specs(clip, prior, decoder, upsampler, cfg)
    stage_entries = {}
    parity = {}
    for gname, (module, inputs, outputs, (io_in, io_out)) in specs.items():
        path = os.path.join(out_dir, f"{gname}.onnx")
        export_graph(module, inputs, outputs, path)
        entry = {"file": f"{gname}.onnx", "sha256": sha256(path), "inputs": io_in, "outputs": io_out}
        stage_entries[gname] = entry
        if goldens:
            with torch.no_grad():
                res = module.eval()(*inputs.values())
            res = res if isinstance(res, tuple) else (res,)
            parity[gname] = {"file": entry["file"], "inputs": {k: arr(v) for k, v in inputs.items()},
                             "outputs": {k: arr(v) for k, v in zip(outputs, res)}, "tolerance": 1e-4}
    R, R2 = cfg.decoder.resolution, cfg.upsampler.resolution
    steps = cfg.default_steps
    sampler = {} if cfg.sampler == "ddim" else {"sampler": cfg.sampler}  # ddim is the schema's default
    up_name = f"upsampler_{R2}"
    stages = {
        "text_encoder": stage_entries["text_encoder"],
        "image_encoder": {**stage_entries["image_encoder"], "resolution": R},
        "prior": {**stage_entries["prior"], "schedule": dict(SCHEDULE, timesteps=cfg.prior.timesteps),
                  "prediction": "x0", **sampler, "default_steps": steps["prior"], "default_guidance": 2.0,
                  "embedding_scale": float(pipe.scale)},
        "decoder": {**stage_entries["decoder"], "resolution": R,
                    "schedule": dict(SCHEDULE, timesteps=cfg.decoder.timesteps), "prediction": "v",
                    **sampler, "default_steps": steps["decoder"], "default_guidance": 3.0},
        "upsamplers": [{**stage_entries[up_name], "input_resolution": cfg.upsampler.low_res, "resolution": R2,
                        "schedule": dict(SCHEDULE, timesteps=cfg.upsampler.timesteps), "prediction": "v",
                        **sampler, "default_steps": steps["upsampler"], "default_guidance": 1.0}],
    }
    tok_path = os.path.join(out_dir, "tokenizer.json")
    manifest = {"schema_version": 1, "name": name, "version": version, "description": description,
                "tokenizer": {"file": "tokenizer.json", "sha256": sha256(tok_path),
                              "context_length": cfg.clip.context_length},
                "embedding_dim": cfg.clip.embed_dim, "sources": sources, "stages": stages}
    manifest_path = os.path.join(out_dir, "manifest.json")
    if os.path.exists(manifest_path):
        # example_prompts are chosen by looking at what a bundle draws well: a re-export keeps them.
        with open(manifest_path) as f:
            previous = json.load(f).get("example_prompts")
        if previous:
            manifest = {**{k: v for k, v in manifest.items() if k != "sources"},
                        "example_prompts": previous, "sources": sources}
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=2)
    if goldens:
        gdir = os.path.join(out_dir, "golden")
        os.makedirs(gdir, exist_ok=True)
        with open(os.path.join(gdir, "parity.json"), "w") as f:
            json.dump({"note": "inputs (batch 2) and PyTorch outputs; arrays flattened row-major", "graphs": parity}, f)
        with open(os.path.join(gdir, "sampler.json"), "w") as f:
            json.dump(sampler_goldens(pipe), f)
        caps = golden_captions or []
        with open(os.path.join(gdir, "tokens.json"), "w") as f:
            json.dump({"context_length": cfg.clip.context_length,
                       "rule": "ids = [BOS] + first (L-2) word ids + [EOS], padded with [PAD]=0 to L",
                       "cases": [{"text": c, "ids": pipe.tok.encode(c)} for c in caps]}, f, ensure_ascii=False, indent=1)
    return manifest


def _loop_golden(fn, shape, diff: Diffusion, steps, guidance, eta, clip_x0, seed, inputs: dict):
    g = torch.Generator().manual_seed(seed)
    rec = {}
    ts = respaced_timesteps(diff.T, steps)
    out = ddim_sample(fn, shape, diff, steps, guidance, eta=eta, clip_x0=clip_x0, generator=g, record=rec)
    return {"steps": steps, "timesteps": ts, "guidance": guidance, "eta": eta, "clip_x0": clip_x0,
            "prediction": diff.prediction, "inputs": {k: arr(v) for k, v in inputs.items()},
            "x_T": arr(rec["x_T"]), "noises": [arr(z) for z in rec["noises"]], "output": arr(out)}


def sampler_goldens(pipe) -> dict:
    """Seeded full DDIM loops of the prior and the decoder (eta 0 and eta 1); the upsampler uses the same loop."""
    cfg = pipe.cfg
    caps = ["a small red circle in the top left on a white background", "two large blue squares on a black background"]
    te, tt, tm = pipe.encode_text(caps)
    D, R = cfg.clip.embed_dim, cfg.decoder.resolution
    prior = _loop_golden(pipe.prior_fn(te, tt, tm), (2, D), pipe.prior_diff, 4, 2.0, 0.0, False, 11,
                         {"text_embed": te, "text_tokens": tt, "text_mask": tm})
    x0 = torch.tensor(prior["output"]["data"]).reshape(2, D)
    prior["image_embed"] = arr(torch.nn.functional.normalize(x0 / pipe.scale, dim=-1))
    emb = torch.tensor(prior["image_embed"]["data"]).reshape(2, D)
    dec = _loop_golden(pipe.decoder_fn(emb, tt, tm), (2, 3, R, R), pipe.dec_diff, 4, 3.0, 0.0, True, 12,
                       {"image_embed": emb, "text_tokens": tt, "text_mask": tm})
    dec_eta = _loop_golden(pipe.decoder_fn(emb, tt, tm), (2, 3, R, R), pipe.dec_diff, 4, 3.0, 1.0, True, 13,
                           {"image_embed": emb, "text_tokens": tt, "text_mask": tm})
    return {
        "algorithm": ("DDIM (Song et al. 2021 eq. 12) over timesteps = round(linspace(T-1, 0, S)) descending, "
                      "deduplicated. Guidance on the raw network output: pred = u + g (c - u), u with the "
                      "unconditional inputs (zeros for text_embed/image_embed, text_tokens, text_mask). "
                      "Per step with ab = alphas_cumprod[t], ab' = alphas_cumprod[t_next] or 1 after the last: "
                      "(1) v: x0 = sqrt(ab) x - sqrt(1-ab) v, eps = sqrt(1-ab) x + sqrt(ab) v; "
                      "x0-prediction: x0 = pred, eps = (x - sqrt(ab) x0)/sqrt(1-ab); "
                      "(2) if clip_x0: x0 = clip(x0,-1,1), eps = (x - sqrt(ab) x0)/sqrt(1-ab); "
                      "(3) sigma = eta sqrt((1-ab')/(1-ab)) sqrt(1-ab/ab'); "
                      "(4) x' = sqrt(ab') x0 + sqrt(1-ab'-sigma^2) eps + sigma z, z = noises[i] (only when sigma > 0). "
                      "Arithmetic in float64, x stored as float32 between steps; timestep input = float(t). "
                      "Prior: output x0 is divided by embedding_scale and L2-normalised -> image_embed."),
        "schedule": SCHEDULE, "alphas_cumprod": pipe.dec_diff.alphas_cumprod.tolist(),
        "embedding_scale": float(pipe.scale), "captions": caps,
        "prior": prior, "decoder": dec, "decoder_eta1": dec_eta,
    }
