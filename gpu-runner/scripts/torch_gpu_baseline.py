"""Step 5 of the GPU check: PyTorch eager on the same GPU, the baseline the runner is compared
with. The networks are the bundle's own: the training code's modules (training/unclip) built
from the architecture the manifest records, loaded with the bundle's ONNX initializers
(unclip/from_bundle.py), and refused, with no timing, when a stage's parameter count differs
from the bundle's. The sampler is the training code's (Pipeline.sample_prior / decode /
upsample), with the bundle's default steps and guidance, for static batches.

Prints one JSON document on stdout ({"refused": why} and exit 2 when the networks differ).
  python3 torch_gpu_baseline.py --bundle models/emoji-gpu --device cuda
"""
import argparse
import json
import os
import sys
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--config", help="data:preset instead of the manifest's architecture (refused unless it is the same)")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--batches", default="1,8,32,64")
    ap.add_argument("--min-images", type=int, default=8, help="images per batch size (whole batches, at least one)")
    args = ap.parse_args()

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.path.insert(0, os.path.join(root, "training"))
    import torch
    from unclip.config import get_config
    from unclip.from_bundle import NetworkMismatch, baseline_networks, generation_parameters, read_manifest
    from unclip.pipeline import Pipeline
    from unclip.tokenizer import load_tokenizer

    manifest = read_manifest(args.bundle)
    stages = manifest["stages"]
    tok_path = os.path.join(args.bundle, manifest["tokenizer"]["file"])
    cfg = None
    if args.config:
        cfg = get_config(*args.config.split(":"))
        with open(tok_path) as f:
            cfg.clip.vocab_size = len(json.load(f)["model"]["vocab"])
    torch.manual_seed(0)
    try:
        nets, cfg, network = baseline_networks(args.bundle, cfg)
    except NetworkMismatch as e:
        print(json.dumps({"refused": str(e), "error": f"refused: {e}"}))
        sys.exit(2)
    device = torch.device(args.device)
    if device.type != "cpu":
        # The training Pipeline builds token ids and noise with torch's default device.
        torch.set_default_device(device)
    for net in nets.values():
        net.to(device)
    tok = load_tokenizer(tok_path, cfg.clip.context_length)
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
        "network": network["config"],
        "weights": network["weights"],
        "parameters": network["parameters"],
        "generation_parameters": {side: generation_parameters(network["parameters"], side) for side in ("onnx", "torch")},
        "steps": {"prior": stages["prior"]["default_steps"], "decoder": stages["decoder"]["default_steps"],
                  "upsampler": up_steps},
        "scenarios": scenarios,
    }))


if __name__ == "__main__":
    main()
