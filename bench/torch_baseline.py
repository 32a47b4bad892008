"""PyTorch side of `npm run bench`: the bundle's own networks (rebuilt from its manifest's
architecture and loaded with its ONNX weights by training/unclip/from_bundle.py, refused when a
stage's parameter count differs), the bundle's sampler per stage (training/unclip/diffusion.py),
timed per stage over static batches, each batch size `--repeats` times. Also what the roofline
needs: the BLAS torch loaded, fp32 matmul and conv GFLOP/s in torch, and GMAC per network
evaluation of each stage (counted by torch's profiler on the modules: they are the graph's).

Prints JSON lines on stdout, flushed as they come (a run cut short still reports):
{"torch", "threads", "blas"}, then {"network": {...}} or {"refused": why}, {"peak_gflops"},
{"gmac_per_row"}, then one {"scenario": {...}} per batch size (none with --probe-only).
--probe-dir DIR also writes the probe's two graphs (matmul.onnx, conv.onnx) for onnxruntime.
"""
import argparse
import json
import os
import sys
import time

# The probe's shapes: a 1024² matmul (BLAS bound), and one 3x3 convolution of the decoder's
# widest full-resolution level for two guided rows (what the runner calls one at a time).
MATMUL_N = 1024
CONV = {"rows": 2, "channels": 96, "size": 32, "kernel": 3}


def emit(obj):
    print(json.dumps(obj), flush=True)


def best_seconds(fn, min_s=0.4, min_reps=3):
    """Fastest of repeated calls after one warm-up: a peak, so the fastest is the estimate."""
    fn()
    times, start = [], time.perf_counter()
    while len(times) < min_reps or time.perf_counter() - start < min_s:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def peak_gflops(torch):
    """fp32 GFLOP/s of a matmul and a convolution in torch (2 flops per multiply-add)."""
    import torch.nn.functional as F
    g = torch.Generator().manual_seed(0)
    a, b = (torch.randn(MATMUL_N, MATMUL_N, generator=g) for _ in range(2))
    mm = 2 * MATMUL_N ** 3 / best_seconds(lambda: a @ b) / 1e9
    r, c, s, k = CONV["rows"], CONV["channels"], CONV["size"], CONV["kernel"]
    x, w = torch.randn(r, c, s, s, generator=g), torch.randn(c, c, k, k, generator=g)
    with torch.no_grad():
        conv = 2 * r * c * s * s * c * k * k / best_seconds(lambda: F.conv2d(x, w, padding=k // 2)) / 1e9
    return {"matmul": mm, "conv": conv}


def write_probe_graphs(out_dir):
    """The same two products as ONNX graphs (weights as initializers, as in the bundle)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(0)
    n = MATMUL_N
    mm = helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["y"])], "matmul",
                           [helper.make_tensor_value_info("a", TensorProto.FLOAT, [n, n])],
                           [helper.make_tensor_value_info("y", TensorProto.FLOAT, [n, n])],
                           [numpy_helper.from_array(rng.standard_normal((n, n), dtype=np.float32), "b")])
    r, c, s, k = CONV["rows"], CONV["channels"], CONV["size"], CONV["kernel"]
    conv = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], pads=[k // 2] * 4)], "conv",
                             [helper.make_tensor_value_info("x", TensorProto.FLOAT, [r, c, s, s])],
                             [helper.make_tensor_value_info("y", TensorProto.FLOAT, [r, c, s, s])],
                             [numpy_helper.from_array(rng.standard_normal((c, c, k, k), dtype=np.float32), "w")])
    for name, graph in (("matmul", mm), ("conv", conv)):
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
        model.ir_version = 7  # what onnxruntime-node reads for opset 14
        onnx.save(model, os.path.join(out_dir, f"{name}.onnx"))
    return {"matmul": {"gflop": 2 * n ** 3 / 1e9, "inputs": {"a": [n, n]}},
            "conv": {"gflop": 2 * r * c * s * s * c * k * k / 1e9, "inputs": {"x": [r, c, s, s]}}}


def gmac_per_row(torch, nets, cfg):
    """Multiply-adds of one network evaluation (batch 1) per stage: convolutions and matrix
    products (elementwise work, norms and softmax are left out: they are not what a BLAS or
    a convolution kernel runs, and are a few percent)."""
    from torch.profiler import profile
    L, W, D = cfg.clip.context_length, cfg.clip.text_width, cfg.clip.embed_dim
    R, R2, R1 = cfg.decoder.resolution, cfg.upsampler.resolution, cfg.upsampler.low_res
    calls = {
        "text_encoder": lambda: nets["clip"].text(torch.ones(1, L, dtype=torch.long)),
        "prior": lambda: nets["prior"](torch.randn(1, D), torch.ones(1), torch.randn(1, D), torch.randn(1, L, W),
                                       torch.ones(1, L)),
        "decoder": lambda: nets["decoder"](torch.randn(1, 3, R, R), torch.ones(1), torch.randn(1, D),
                                           torch.randn(1, L, W), torch.ones(1, L)),
        "upsampler": lambda: nets["upsampler"](torch.randn(1, 3, R2, R2), torch.ones(1), torch.randn(1, 3, R1, R1)),
    }
    counted = ("aten::conv2d", "aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm")
    out = {}
    for stage, call in calls.items():
        with torch.no_grad(), profile(with_flops=True) as prof:
            call()
        out[stage] = sum(e.flops for e in prof.events() if e.name in counted and e.flops) / 2e9
    return out


class RowCounter:
    """Rows (samples) each stage's network evaluates: guided steps run two, the upsampler one."""

    def __init__(self, modules: dict):
        self.rows = dict.fromkeys(modules, 0)
        for stage, m in modules.items():
            m.register_forward_pre_hook(lambda _m, inputs, stage=stage: self._add(stage, inputs[0].shape[0]))

    def _add(self, stage, n):
        self.rows[stage] += n

    def take(self):
        rows, self.rows = self.rows, dict.fromkeys(self.rows, 0)
        return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bundle", required=True, help="the bundle directory the runner serves")
    ap.add_argument("--config", help="data:preset instead of the manifest's architecture (shows the refusal)")
    ap.add_argument("--untrained", action="store_true", help="keep the initial weights (timing only)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--images", type=int, default=2, help="images per repeat (whole batches, at least one)")
    ap.add_argument("--batches", default="1,4", help="prompts per pipeline call, one scenario each")
    ap.add_argument("--prior-steps", type=int, required=True)
    ap.add_argument("--prior-guidance", type=float, required=True)
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--guidance", type=float, required=True)
    ap.add_argument("--upsampler-steps", type=int, required=True)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--prompts", default="[]", help="JSON list of prompts")
    ap.add_argument("--probe-dir", help="write the probe graphs for onnxruntime here")
    ap.add_argument("--probe-only", action="store_true", help="BLAS, peak, network and GMAC; no pipeline timing")
    args = ap.parse_args()

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, os.path.join(root, "training"))
    try:
        import torch
        import torch.nn.functional as F
        from unclip.blas import loaded_blas
        from unclip.config import get_config
        from unclip.diffusion import sample
        from unclip.from_bundle import (NetworkMismatch, baseline_networks, generation_parameters,
                                        load_bundle_networks, read_manifest)
        from unclip.pipeline import Pipeline
        from unclip.tokenizer import load_tokenizer
    except Exception as e:  # noqa: BLE001 - report any import failure as a skip
        emit({"skipped": f"cannot import torch / training.unclip: {e}"})
        return
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    emit({"torch": torch.__version__, "threads": torch.get_num_threads(), "blas": loaded_blas()})

    manifest = read_manifest(args.bundle)
    cfg = None
    if args.config:
        cfg = get_config(*args.config.split(":"))
        with open(os.path.join(args.bundle, manifest["tokenizer"]["file"])) as f:
            cfg.clip.vocab_size = len(json.load(f)["model"]["vocab"])
    try:
        nets, cfg, report = (load_bundle_networks(args.bundle, cfg, weights=False) if args.untrained
                             else baseline_networks(args.bundle, cfg))
    except NetworkMismatch as e:
        emit({"refused": str(e)})
        sys.exit(2)
    counts = report["parameters"]
    emit({"network": {**report, "generation_parameters": {side: generation_parameters(counts, side)
                                                          for side in ("onnx", "torch")}}})
    emit({"peak_gflops": peak_gflops(torch)})
    if args.probe_dir:
        emit({"probe_graphs": write_probe_graphs(args.probe_dir)})
    emit({"gmac_per_row": gmac_per_row(torch, nets, cfg)})
    if args.probe_only:
        return

    stages = manifest["stages"]
    samplers = {"prior": stages["prior"].get("sampler", "ddim"), "decoder": stages["decoder"].get("sampler", "ddim"),
                "upsampler": stages["upsamplers"][0].get("sampler", "ddim")}
    tok = load_tokenizer(os.path.join(args.bundle, manifest["tokenizer"]["file"]), cfg.clip.context_length)
    pipe = Pipeline(nets["clip"], nets["prior"], nets["decoder"], nets["upsampler"], tok, cfg)
    rows = RowCounter({"text_encoder": nets["clip"].text, "prior": nets["prior"], "decoder": nets["decoder"],
                       "upsampler": nets["upsampler"]})
    prompts = json.loads(args.prompts) or ["a red circle"]
    D, R, R2 = cfg.clip.embed_dim, cfg.decoder.resolution, cfg.upsampler.resolution

    def run(captions, seed):
        """One pass of the pipeline over `captions` (a static batch) -> seconds per stage."""
        g = torch.Generator().manual_seed(seed)
        b = len(captions)
        with torch.no_grad():
            t0 = time.perf_counter()
            te, tt, tm = pipe.encode_text(captions)
            t1 = time.perf_counter()
            x0 = sample(samplers["prior"], pipe.prior_fn(te, tt, tm), (b, D), pipe.prior_diff, args.prior_steps,
                        args.prior_guidance, clip_x0=False, generator=g)
            emb = F.normalize(x0 / pipe.scale, dim=-1)
            t2 = time.perf_counter()
            low = sample(samplers["decoder"], pipe.decoder_fn(emb, tt, tm), (b, 3, R, R), pipe.dec_diff, args.steps,
                         args.guidance, generator=g)
            t3 = time.perf_counter()
            sample(samplers["upsampler"], pipe.upsampler_fn(low), (b, 3, R2, R2), pipe.up_diff,
                   args.upsampler_steps, stages["upsamplers"][0]["default_guidance"], generator=g)
            t4 = time.perf_counter()
        return {"text_encoder": t1 - t0, "prior": t2 - t1, "decoder": t3 - t2, "upsampler": t4 - t3}

    run(prompts[:1], 0)  # warm-up
    rows.take()
    for b in (int(x) for x in args.batches.split(",")):
        repeats = []
        for r in range(args.repeats):
            totals, done = {}, 0
            start = time.perf_counter()
            while done < max(args.images, b):
                captions = [prompts[(done + i) % len(prompts)] for i in range(b)]
                for k, v in run(captions, r * 1000 + done).items():
                    totals[k] = totals.get(k, 0.0) + v
                done += b
            elapsed = time.perf_counter() - start
            repeats.append({"images": done, "seconds": elapsed, "images_per_s": done / elapsed,
                            "stage_ms_per_image": {k: 1000 * v / done for k, v in totals.items()},
                            "rows_per_image": {k: v / done for k, v in rows.take().items()}})
        emit({"scenario": {"batch": b, "samplers": samplers, "repeats": repeats}})


if __name__ == "__main__":
    main()
