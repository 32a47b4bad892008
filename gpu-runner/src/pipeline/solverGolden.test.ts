// The runner's DPM-Solver++(2M) loop (DiffusionSample through the batcher and
// onnxruntime) against PyTorch's `dpmpp_2m_sample` (training/unclip/diffusion.py) on a small
// fixed network, for each prediction type, guided and unguided, clipped and not. Regenerate
// with `/usr/bin/python3 training/solver_goldens.py`.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Batcher } from "../batching/batcher.ts";
import { OrtStageSession } from "../bundle/session.ts";
import { alphasCumprodFor, timestepsFor } from "../scheduler/schedule.ts";
import { type GoldenTensor, goldenRow, maxAbsDiff } from "../testing/tinyBundle.ts";
import { DiffusionSample } from "./diffusion.ts";

const TESTDATA = fileURLToPath(new URL("./testdata/", import.meta.url));

interface SolverLoop {
  name: string;
  prediction: "eps" | "x0" | "v";
  steps: number;
  guidance: number;
  clip_x0: boolean;
  timesteps: number[];
  cond: GoldenTensor;
  x_T: GoldenTensor;
  output: GoldenTensor;
}

interface SolverGoldens {
  schedule: { name: "cosine" | "linear"; timesteps: number };
  x_dim: number;
  cond_dim: number;
  loops: SolverLoop[];
}

const golden: SolverGoldens = JSON.parse(readFileSync(`${TESTDATA}dpmpp_goldens.json`, "utf8"));
// onnxruntime and PyTorch differ by ~1e-7 per call on this network; a few steps amplify it.
const LOOP_TOLERANCE = 1e-4;

describe("DPM-Solver++(2M) loop against the PyTorch golden run", () => {
  let session: OrtStageSession;
  beforeAll(async () => {
    session = await OrtStageSession.create(
      `${TESTDATA}solver_test_net.onnx`,
      [
        { name: "x_t", dtype: "float32", shape: ["batch", golden.x_dim] },
        { name: "timestep", dtype: "float32", shape: ["batch"] },
        { name: "cond", dtype: "float32", shape: ["batch", golden.cond_dim] },
      ],
      [{ name: "pred", dtype: "float32", shape: ["batch", golden.x_dim] }],
      { providers: ["cpu"], intraOpThreads: 1 },
    );
  });
  afterAll(() => session?.release());

  for (const loop of golden.loops) {
    it(`matches PyTorch for ${loop.name} in ${loop.steps} steps`, async () => {
      const alphasCumprod = alphasCumprodFor(golden.schedule);
      expect(timestepsFor("dpmpp_2m", golden.schedule.timesteps, loop.steps)).toEqual(
        loop.timesteps,
      );
      const batcher = new Batcher(new Map([["net", session]]), 16);
      const job = { id: "golden", deadline: Number.POSITIVE_INFINITY };
      const samples = Array.from({ length: loop.x_T.shape[0] }, (_, r) => {
        const cond = goldenRow(loop.cond, r);
        return new DiffusionSample({
          process: {
            stage: "net",
            prediction: loop.prediction,
            alphasCumprod,
            clipX0: loop.clip_x0,
            noiseStage: 1,
            output: "pred",
          },
          job,
          x: goldenRow(loop.x_T, r),
          sampler: "dpmpp_2m",
          steps: loop.steps,
          guidance: loop.guidance,
          eta: 0,
          conditional: { cond },
          unconditional: { cond: new Float32Array(cond.length) },
          seed: 0,
          index: r,
        });
      });
      await Promise.all(samples.map((s) => batcher.submit(s)));
      samples.forEach((s, r) => {
        expect(maxAbsDiff(s.sample, goldenRow(loop.output, r))).toBeLessThan(LOOP_TOLERANCE);
      });
    });
  }
});
