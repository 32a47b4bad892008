"""PyTorch eager baseline for `npm run bench`: the same networks (the run directory the bundle
was exported from, or, with --config and no run directory, untrained networks of the bundle's
architecture: eager timing does not depend on the weights' values) and the same sampler
(training/unclip/pipeline.py), timed per stage for one prompt at a time and for static batches
of 4 and 8 prompts.

Prints JSON lines on stdout, flushed as they come (so a run cut short still reports):
{"skipped": reason}, or {"device", "threads", "torch"} then one {"scenario": {...}} per batch size.
"""
import argparse
import json
import os
import sys
import time


def untrained_pipeline(config: str, tokenizer_path: str):
    """The Pipeline of a config preset with freshly initialised networks (for timing only)."""
    import torch
    from unclip.checkpoint import build_model
    from unclip.config import get_config
    from unclip.pipeline import Pipeline
    from unclip.tokenizer import WordTokenizer
    data, preset = config.split(":")
    cfg = get_config(data, preset)
    with open(tokenizer_path) as f:
        cfg.clip.vocab_size = len(json.load(f)["model"]["vocab"])
    torch.manual_seed(0)
    clip, prior, decoder, upsampler = (build_model(s, cfg).eval() for s in ("clip", "prior", "decoder", "upsampler"))
    tok = WordTokenizer.load(tokenizer_path, cfg.clip.context_length)
    return Pipeline(clip, prior, decoder, upsampler, tok, cfg)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--run-dir", help="training run directory with clip/prior/decoder/upsampler .pt")
    ap.add_argument("--config", help="data:preset (e.g. emoji:gpu): untrained networks of that architecture")
    ap.add_argument("--tokenizer", help="the bundle's tokenizer.json (with --config)")
    ap.add_argument("--sampler", default="ddim", choices=["ddim", "dpmpp_2m"])
    ap.add_argument("--requests", type=int, default=4, help="images per scenario (at least one batch)")
    ap.add_argument("--batches", default="1,4,8", help="prompts per pipeline call, one scenario each")
    ap.add_argument("--prior-steps", type=int, required=True)
    ap.add_argument("--prior-guidance", type=float, required=True)
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--guidance", type=float, required=True)
    ap.add_argument("--upsampler-steps", type=int, required=True)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--prompts", default="[]", help="JSON list of prompts")
    args = ap.parse_args()

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, os.path.join(root, "training"))
    try:
        import torch
        from unclip.checkpoint import load_pipeline
    except Exception as e:  # noqa: BLE001 - report any import failure as a skip
        print(json.dumps({"skipped": f"cannot import torch / training.unclip: {e}"}))
        return
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    if args.run_dir:
        for stage in ("clip", "prior", "decoder", "upsampler"):
            if not os.path.exists(os.path.join(args.run_dir, f"{stage}.pt")):
                print(json.dumps({"skipped": f"no {stage}.pt in {args.run_dir}"}))
                return
        pipe, weights = load_pipeline(args.run_dir), "trained"
    elif args.config and args.tokenizer:
        pipe, weights = untrained_pipeline(args.config, args.tokenizer), "untrained, same architecture"
    else:
        print(json.dumps({"skipped": "neither --run-dir nor --config with --tokenizer"}))
        return
    pipe.sampler = args.sampler
    prompts = json.loads(args.prompts) or ["a red circle"]

    def run(captions, seed):
        """One pipeline pass over `captions` (one static batch); returns seconds per stage."""
        g = torch.Generator().manual_seed(seed)
        t = {}
        t0 = time.perf_counter()
        with torch.no_grad():
            emb, tt, tm = pipe.sample_prior(captions, g, args.prior_steps, args.prior_guidance)
            t1 = time.perf_counter()
            low = pipe.decode(emb, tt, tm, g, args.steps, args.guidance)
            t2 = time.perf_counter()
            pipe.upsample(low, g, args.upsampler_steps)
            t3 = time.perf_counter()
        t["text_encoder+prior"], t["decoder"], t["upsampler"] = t1 - t0, t2 - t1, t3 - t2
        return t

    print(json.dumps({"device": "cpu", "threads": torch.get_num_threads(), "torch": torch.__version__,
                      "weights": weights, "sampler": args.sampler}), flush=True)
    run(prompts[:1], 0)  # warm-up
    for b in (int(x) for x in args.batches.split(",")):
        totals = {}
        start = time.perf_counter()
        done = 0
        while done < args.requests:
            captions = [prompts[(done + i) % len(prompts)] for i in range(b)]
            for k, v in run(captions, done).items():
                totals[k] = totals.get(k, 0.0) + v
            done += b
        elapsed = time.perf_counter() - start
        print(json.dumps({"scenario": {
            "batch": b,
            "images": done,
            "seconds": elapsed,
            "images_per_s": done / elapsed,
            "stage_ms_per_image": {k: 1000 * v / done for k, v in totals.items()},
        }}), flush=True)


if __name__ == "__main__":
    main()
