"""Write MODEL_CARD.md for a bundle from its manifest, eval.json and the run's checkpoints."""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from unclip.checkpoint import load_checkpoint  # noqa: E402

FAILURES = {
    "shapes": ["Count is the weakest attribute: three shapes sometimes come out as two or four, or touch and merge.",
               "Never-seen (colour, shape) pairs get the shape wrong more often than seen ones (see the unseen split).",
               "Prompts outside the caption templates (other words, other colours) fall back to [UNK] and are ignored.",
               "Position is only defined for single shapes; multiple shapes are placed freely."],
    "emoji": ["Fine detail (flag emblems, keycap digits, text, small symbols) is blurred or wrong at 64 px and stays so after upsampling.",
              "Skin tone and gender words are followed less reliably than the main concept.",
              "Compositions the data never shows (\"a dog wearing sunglasses\", \"an astronaut riding a horse\") come out as one of the two concepts.",
              "The model only knows emoji concepts; the per-prompt figures in eval.json (`everyday.per_prompt`) show which everyday prompts fail.",
              "Held-out (concept, twemoji) pairs are harder than trained pairs; see the unseen split."],
}
CAVEAT = ("Retrieval and R-precision are measured with this bundle's own CLIP, trained on the same captions: "
          "they show that generations agree with the prompt as this CLIP sees it, not a human judgement. "
          "`seen` prompts are (concept, style) pairs or attribute combinations that were trained on "
          "(with different random images for shapes); `unseen` ones never were.")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--machine", default="", help="where it was trained, e.g. '1x NVIDIA H200' or '2 CPU cores'")
    args = ap.parse_args(argv)
    m = json.load(open(os.path.join(args.bundle, "manifest.json")))
    ev = json.load(open(os.path.join(args.bundle, "eval.json")))
    rows, cfg = [], None
    for stage in ("clip", "prior", "decoder", "upsampler"):
        ck = load_checkpoint(os.path.join(args.run_dir, f"{stage}.pt"))
        cfg = ck["config"]
        t = cfg["train"][stage]
        rows.append(f"| {stage} | {ck['params'] / 1e6:.2f} M | {ck['step']} | {t['batch_size']} | {t['lr']} | "
                    f"{ck['elapsed'] / 60:.1f} min | {ck.get('device', '?')} |")
    files = sorted(f for f in os.listdir(args.bundle) if f.endswith(".onnx"))
    sizes = "\n".join(f"| {f} | {os.path.getsize(os.path.join(args.bundle, f)) / 1e6:.2f} MB |" for f in files)
    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(args.bundle) for f in fs)
    srcs = "\n".join(f"- **{s['name']}** — {s['license']}. {s['attribution']}. <{s['url']}>" for s in m["sources"])
    figures = []
    for split, s in ev["splits"].items():
        figures.append(f"- **{split}** prompts: CLIP text→image R@1 {s['clip_retrieval_r1']:.3f} "
                       f"({s['clip_retrieval_pairs']} pairs, chunks of 100, chance 0.01); generation "
                       f"R-precision@1 {s['generation_r_precision_at1']:.3f} ({s['generation_images']} images, each ranked among "
                       f"{s['generation_candidates']} captions; chance {1 / s['generation_candidates']:.2f})")
        if "detector_accuracy" in s:
            acc = ", ".join(f"{k} {v:.3f}" for k, v in s["detector_accuracy"].items())
            figures.append(f"  - detector accuracy on generated images ({s['detector_prompts']} prompts; position on "
                           f"single-shape prompts only): {acc}")
            real = ", ".join(f"{k} {v:.3f}" for k, v in s["detector_accuracy_on_real_images"].items())
            figures.append(f"  - the detector's own ceiling, on real {s['detector_resolution']} px images of the same prompts: {real}")
    if "everyday" in ev:
        e = ev["everyday"]
        figures.append(f"- **everyday prompts** (training/eval/everyday_prompts.tsv, {e['prompts']} prompts as people type them, "
                       f"n={e['images_per_prompt']} at {e['size']}, prior/decoder steps {e['steps']['prior']}/{e['steps']['decoder']}, "
                       f"`training/eval/everyday.ts`): R-precision@1 among the {e['judge_r_precision_candidates']} prompts "
                       f"under the committed judge CLIP (training/eval/judge.json) {e['judge_r_precision_at_1']:.3f} "
                       f"(its ceiling on real renders of the generator's styles {e['judge_ceiling']:.3f}, chance "
                       f"{1 / e['judge_r_precision_candidates']:.3f}), with this bundle's own CLIP {e['r_precision_at_1']:.3f}; "
                       f"diversity (mean pairwise image cosine within a prompt, lower is more varied) judge "
                       f"{e['judge_diversity_cosine']:.3f}, own CLIP {e['diversity_cosine']:.3f}")
        if "decoder_judge_r_precision_at_1" in e:
            figures.append(f"  - the decoder alone (variations of {e['decoder_inputs']['pictures']} real renders, "
                           f"{e['decoder_inputs']['split']}): judge R-precision@1 {e['decoder_judge_r_precision_at_1']:.3f} "
                           f"(on the real inputs themselves {e['decoder_judge_inputs_r_precision_at_1']:.3f})")
    v = ev["variations"]
    figures.append(f"- variations: CLIP cosine input↔variation {v['clip_cosine_mean']:.3f} "
                   f"(random pairs {v['clip_cosine_random_pairs']:.3f}, n={v['n']})")
    dec = m["stages"]["decoder"]
    if cfg["name"] == "gpu" and cfg["data"] == "emoji":
        retrain = ("`npx tsx training/rasterize_emoji.ts && python3 training/prepare_emoji.py` here, then on one GPU "
                   "`OUT=$OUT training/gpu_run.sh` (CLIP, prior, decoder; the upsampler trains on the CPU), then here "
                   "`python3 training/pack_run.py --run-dir <returned files> --out training/checkpoints/emoji-v2`, "
                   "`python3 training/pack_run.py --unpack training/checkpoints/emoji-v2 --run-dir training/runs/emoji-v2` and "
                   f"`SKIP_TRAIN=1 RUN_DIR=training/runs/emoji-v2 training/build_bundle.sh emoji gpu {m['name']}` (training/README.md)")
    elif cfg["name"] == "gpu":
        # The GPU bundles before model v2 came from gpu_run.sh as it was at dc8cb6d (all four
        # stages, B_* budgets); today's script trains model v2 and has none of those variables.
        retrain = ("on a CUDA machine, with `training/gpu_run.sh` as of commit `dc8cb6d` "
                   "(`git show dc8cb6d:training/gpu_run.sh`; today's script trains model v2), "
                   "`B_CLIP=70 B_PRIOR=230 B_DEC=320 B_UP=380 B_DEC2=215 OUT=/tmp/gpu_out training/gpu_run.sh`, "
                   f"then here `python3 training/pack_run.py --unpack /tmp/gpu_out/{cfg['data']}-gpu.pt "
                   f"--run-dir training/runs/{cfg['data']}-gpu` and "
                   f"`SKIP_TRAIN=1 training/build_bundle.sh {cfg['data']} gpu` (training/README.md)")
    else:
        retrain = f"`training/build_bundle.sh {cfg['data']} {cfg['name']}`"
    up = m["stages"]["upsamplers"][0]
    text = f"""# {m['name']} — model card

{m['description']}

Version {m['version']}. A small unCLIP stack (Ramesh et al. 2022): CLIP text/image encoders,
a diffusion prior (decoder-only transformer, x0-prediction) over CLIP image embeddings, a
{dec['resolution']} px decoder UNet (v-prediction, cosine schedule) conditioned on the image
embedding and the text tokens, and one upsampler UNet {up['input_resolution']} → {up['resolution']} px.
Trained from scratch in this repository (`training/`), {args.machine or 'see the table'}.

## Data and licences
Dataset: **{cfg['data']}** ({'synthetic scenes rendered by training/unclip/data_shapes.py; (colour, shape) pairs red triangle, green circle, blue square never appear in training' if cfg['data'] == 'shapes' else 'emoji from seven permissively licensed vendor sets on npm (Iconify JSON), rasterized from vector at 256 px with resvg and trained at 64 px (decoder) and on 64 px crops of 256 px images (upsampler); sampled by concept so the six skin tones of one emoji count once; a random caption per step from the CLDR name, the emojibase tags and plain templates ("a cat face", "cat face emoji", "a cat face, noto style"), half without a style word; 5 % of concepts are held out in Twemoji style only. The two CC BY-SA sets (OpenMoji, EmojiOne v1) train only the independent judge of the everyday evaluation, never these weights'}).

{srcs}

## Training
Stage times are wall-clock; on the GPU the stages of both bundles ran side by side (six
processes sharing one card), so they overlap.

| stage | params | steps | batch | lr | time | device |
|---|---|---|---|---|---|---|
{chr(10).join(rows)}

Recipe: AdamW, linear warm-up, EMA weights (what ships), cosine schedule (T = 1000),
v-prediction for decoder and upsampler, x0 for the prior, classifier-free guidance dropout
(prior: text 10 %; decoder: embedding 10 %, text 50 %){', horizontal flips' if cfg['flip'] else ''}.
The upsampler trains on random crops with blur/noise augmentation of the low-res input.
Retrain: {retrain}.

## Files
| file | size |
|---|---|
{sizes}

Bundle total: {total / 1e6:.2f} MB.

## Evaluation (`training/eval_run.py`, {ev['steps']} DDIM steps for prior and decoder, guidance 2 / 3; metrics on the decoder's output)
{chr(10).join(figures)}

{CAVEAT}

## Known failure cases
{chr(10).join('- ' + f for f in FAILURES[cfg['data']])}
- Small models trained for minutes: images are low resolution and often imperfect; judge by eval.json.
"""
    with open(os.path.join(args.bundle, "MODEL_CARD.md"), "w") as f:
        f.write(text)
    print(f"[card] {args.bundle}/MODEL_CARD.md")


if __name__ == "__main__":
    main()
