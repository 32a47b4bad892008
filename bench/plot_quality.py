"""Draws bench/results/quality_vs_steps.json (written by bench/quality_vs_steps.ts): per stage,
distance to the 250-step DDIM reference and generation R-precision against network steps,
DDIM vs DPM-Solver++(2M), with the binomial standard error of R-precision as a band.

    /usr/bin/python3 bench/plot_quality.py [in.json] [out.png]
"""
import json
import math
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "bench/results/quality_vs_steps.json"
    out = sys.argv[2] if len(sys.argv) > 2 else "bench/results/quality_vs_steps.png"
    q = json.load(open(src))
    n = q["images"]
    stages = ["prior", "decoder", "upsampler"]
    labels = {"ddim": "DDIM", "dpmpp_2m": "DPM-Solver++(2M)"}
    colors = {"ddim": "tab:blue", "dpmpp_2m": "tab:red"}
    dist_label = {"prior": "1 − cos(embedding, reference)", "decoder": "RMSE to reference (32 px)",
                  "upsampler": "RMSE to reference (64 px)"}
    fig, axes = plt.subplots(2, 3, figsize=(14, 8))
    for col, stage in enumerate(stages):
        for sampler in ("ddim", "dpmpp_2m"):
            pts = sorted((p for p in q["points"] if p["stage"] == stage and p["sampler"] == sampler),
                         key=lambda p: p["steps"])
            steps = [p["steps"] for p in pts]
            axes[0, col].plot(steps, [p["distance"] for p in pts], "o-", color=colors[sampler], label=labels[sampler])
            r = [p["r_precision"] for p in pts]
            se = [math.sqrt(max(v * (1 - v), 1e-9) / n) for v in r]
            axes[1, col].plot(steps, r, "o-", color=colors[sampler], label=labels[sampler])
            axes[1, col].fill_between(steps, [v - s for v, s in zip(r, se)], [v + s for v, s in zip(r, se)],
                                      color=colors[sampler], alpha=0.15)
        ref = q["reference"]["r_precision_final" if stage == "upsampler" else "r_precision_decoder"]
        axes[1, col].axhline(ref, color="gray", ls="--", label=f"DDIM {q['reference']['steps']} steps")
        axes[0, col].set_yscale("log")
        axes[0, col].set_title(f"{stage}: distance to DDIM-{q['reference']['steps']} (same noise)")
        axes[0, col].set_ylabel(dist_label[stage])
        title = f"{stage}: generation R-precision@1 (n={n})"
        if stage == "prior":
            d = q["prior_decode"]
            title += f"\ndecoded by {labels[d['sampler']]} {d['steps']} steps"
        axes[1, col].set_title(title)
        for ax in axes[:, col]:
            ax.set_xscale("log")
            ax.set_xticks([4, 6, 8, 10, 15, 20, 30, 50])
            ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
            ax.set_xlabel("network steps (each guided step = 2 evaluations)")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
    fig.suptitle(f"{q['bundle']}: quality vs steps, {n} images, R-precision among {q['candidates']} captions "
                 f"(band: ±1 binomial s.e.)")
    fig.tight_layout()
    fig.savefig(out, dpi=80)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
