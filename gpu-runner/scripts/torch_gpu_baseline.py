"""Step 3 of the GPU check: PyTorch eager on the same GPU, the baseline the runner is compared
with. The networks are the training code's own modules (training/unclip) for the bundle's
architecture preset, and the sampler is the training code's DDIM (Pipeline.sample_prior /
decode / upsample), with the bundle's default steps and guidance, for static batches.

Weights: the training checkpoints are not in the repository, so every ONNX initializer whose
name and shape match a parameter of the module is loaded into it (about 60 % of the tensors:
torch.onnx.export renames transposed Linear weights and GroupNorm affines); the rest keep their
seeded initialisation. Eager timing does not depend on the weights' values (dense fp32 products
and convolutions; no data-dependent control flow), so this times the same work. The JSON says
how many tensors were loaded.

Prints one JSON document on stdout.
  python3 torch_gpu_baseline.py --bundle models/emoji-gpu --config emoji:gpu --device cuda
"""
import argparse
import json
import os
import sys
import time


def load_onnx_weights(module, onnx_path):
    """Copies every initializer whose name and shape match a state_dict entry; -> (loaded, total)."""
    import onnx
    import torch
    from onnx import numpy_helper
    inits = {i.name: i for i in onnx.load(onnx_path).graph.initializer}
    state = module.state_dict()
    loaded = 0
    for name, tensor in state.items():
        init = inits.get(name)
        if init is not None:
            array = numpy_helper.to_array(init)
            if tuple(array.shape) == tuple(tensor.shape):
                state[name] = torch.from_numpy(array.copy()).to(tensor.dtype)
                loaded += 1
    module.load_state_dict(state)
    return loaded, len(state)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--config", required=True, help="data:preset the bundle was trained with, e.g. emoji:gpu")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--batches", default="1,8,32,64")
    ap.add_argument("--min-images", type=int, default=8, help="images per batch size (whole batches, at least one)")
    args = ap.parse_args()

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.path.insert(0, os.path.join(root, "training"))
    import torch
    from unclip.checkpoint import build_model
    from unclip.config import get_config
    from unclip.pipeline import Pipeline
    from unclip.tokenizer import WordTokenizer

    with open(os.path.join(args.bundle, "manifest.json")) as f:
        manifest = json.load(f)
    stages = manifest["stages"]
    data, preset = args.config.split(":")
    cfg = get_config(data, preset)
    tok_path = os.path.join(args.bundle, manifest["tokenizer"]["file"])
    with open(tok_path) as f:
        cfg.clip.vocab_size = len(json.load(f)["model"]["vocab"])
    torch.manual_seed(0)
    nets = {s: build_model(s, cfg).eval() for s in ("clip", "prior", "decoder", "upsampler")}
    weights = {}
    for graph, net in (("text_encoder", "clip"), ("prior", "prior"), ("decoder", "decoder")):
        weights[graph] = load_onnx_weights(nets[net], os.path.join(args.bundle, stages[graph]["file"]))
    if stages["upsamplers"]:
        weights["upsampler_0"] = load_onnx_weights(
            nets["upsampler"], os.path.join(args.bundle, stages["upsamplers"][0]["file"]))
    device = torch.device(args.device)
    if device.type != "cpu":
        # The training Pipeline builds token ids and noise with torch's default device.
        torch.set_default_device(device)
    for net in nets.values():
        net.to(device)
    tok = WordTokenizer.load(tok_path, cfg.clip.context_length)
    pipe = Pipeline(nets["clip"], nets["prior"], nets["decoder"], nets["upsampler"], tok, cfg)
    # The runner's default: the manifest's sampler (absent: DDIM); the Pipeline takes one for all.
    pipe.sampler = stages["decoder"].get("sampler", "ddim")
    prompts = ["a smiling face with heart eyes", "a red apple", "a woman mage", "a yellow star"]
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    up_steps = stages["upsamplers"][0]["default_steps"] if stages["upsamplers"] else 0

    def run(captions, seed):
        g = torch.Generator(device=device).manual_seed(seed)
        t = {}
        with torch.no_grad():
            sync()
            t0 = time.perf_counter()
            emb, tt, tm = pipe.sample_prior(captions, g, stages["prior"]["default_steps"],
                                            stages["prior"]["default_guidance"])
            sync()
            t1 = time.perf_counter()
            low = pipe.decode(emb, tt, tm, g, stages["decoder"]["default_steps"],
                              stages["decoder"]["default_guidance"])
            sync()
            t2 = time.perf_counter()
            if up_steps:
                pipe.upsample(low, g, up_steps)
            sync()
            t3 = time.perf_counter()
        t["text_encoder+prior"], t["decoder"], t["upsampler"] = t1 - t0, t2 - t1, t3 - t2
        return t

    batches = [int(b) for b in args.batches.split(",")]
    for b in batches:  # warm-up: cuDNN picks its kernels per shape
        run([prompts[i % len(prompts)] for i in range(b)], 0)
    scenarios = []
    for b in batches:
        totals, done = {}, 0
        start = time.perf_counter()
        while done < max(args.min_images, b):
            for k, v in run([prompts[(done + i) % len(prompts)] for i in range(b)], done).items():
                totals[k] = totals.get(k, 0.0) + v
            done += b
        elapsed = time.perf_counter() - start
        scenarios.append({"batch": b, "images": done, "seconds": elapsed, "images_per_s": done / elapsed,
                          "stage_ms_per_image": {k: 1000 * v / done for k, v in totals.items()}})
    print(json.dumps({
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "threads": torch.get_num_threads(),
        "sampler": pipe.sampler,
        "weights_loaded_from_onnx": {k: {"loaded": a, "tensors": n} for k, (a, n) in weights.items()},
        "steps": {"prior": stages["prior"]["default_steps"], "decoder": stages["decoder"]["default_steps"],
                  "upsampler": up_steps},
        "scenarios": scenarios,
    }))


if __name__ == "__main__":
    main()
