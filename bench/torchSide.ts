// The PyTorch half of `npm run bench`: runs bench/torch_baseline.py on the bundle the runner
// serves and collects its JSON lines (BLAS, peak, per-stage parameters and GMAC, scenarios).
import { spawnSync } from "node:child_process";
import type { ProbeGraph } from "./peak.ts";
import type { StageParameters } from "./roofline.ts";

export interface TorchRepeat {
  images: number;
  seconds: number;
  images_per_s: number;
  stage_ms_per_image: Record<string, number>;
  rows_per_image: Record<string, number>;
}

export interface TorchScenario {
  batch: number;
  samplers: Record<string, string>;
  repeats: TorchRepeat[];
}

export interface TorchSide {
  /** Why nothing (or only part) came back; absent on a full run. */
  problem?: string;
  /** The PyTorch networks are not the bundle's: no ratio may be printed. */
  refused?: string;
  torch?: string;
  threads?: number;
  blas?: {
    name: string;
    path: string | null;
    reference: boolean;
    threads: number;
    blas_threads: number | null;
  };
  network?: {
    config: string;
    weights: string;
    parameters: StageParameters;
    generation_parameters: { onnx: number; torch: number };
  };
  peak_gflops?: { matmul: number; conv: number };
  probe_graphs?: Record<string, ProbeGraph>;
  gmac_per_row?: Record<string, number>;
  scenarios: TorchScenario[];
}

export interface TorchOptions {
  bundleDir: string;
  threads: number;
  probeDir: string;
  probeOnly: boolean;
  batches: string;
  repeats: number;
  timeoutS: number;
  prompts: string[];
  setting: {
    prior_steps: number;
    prior_guidance_scale: number;
    decoder_steps: number;
    decoder_guidance_scale: number;
    upsampler_steps: number;
  };
}

export const TORCH_SCRIPT = "bench/torch_baseline.py";

export function runTorchSide(o: TorchOptions): TorchSide {
  const proc = spawnSync(
    "/usr/bin/python3",
    [
      TORCH_SCRIPT,
      "--bundle",
      o.bundleDir,
      "--repeats",
      String(o.repeats),
      "--batches",
      o.batches,
      "--prior-steps",
      String(o.setting.prior_steps),
      "--prior-guidance",
      String(o.setting.prior_guidance_scale),
      "--steps",
      String(o.setting.decoder_steps),
      "--guidance",
      String(o.setting.decoder_guidance_scale),
      "--upsampler-steps",
      String(o.setting.upsampler_steps),
      "--threads",
      String(o.threads),
      "--probe-dir",
      o.probeDir,
      "--prompts",
      JSON.stringify(o.prompts),
      ...(o.probeOnly ? ["--probe-only"] : []),
    ],
    { encoding: "utf8", maxBuffer: 16 << 20, timeout: o.timeoutS * 1000 },
  );
  const side: TorchSide = { scenarios: [] };
  for (const line of (proc.stdout ?? "").split("\n")) {
    if (!line.startsWith("{")) continue;
    const obj = JSON.parse(line);
    if (obj.scenario) side.scenarios.push(obj.scenario);
    else if (obj.skipped) side.problem = obj.skipped;
    else Object.assign(side, obj);
  }
  if (proc.signal) {
    side.problem ??= `${TORCH_SCRIPT} stopped by ${proc.signal} after the ${o.timeoutS} s limit (--torch-timeout); ${side.scenarios.length} batch sizes finished`;
  } else if (proc.status !== 0 && !side.refused) {
    const errors = (proc.stderr ?? "").split("\n").filter((l) => /Error|error:/.test(l));
    side.problem ??= `${TORCH_SCRIPT} failed (exit ${proc.status}): ${errors.at(-1) ?? (proc.stderr ?? "").trim().split("\n").at(-1)}`;
  }
  return side;
}
