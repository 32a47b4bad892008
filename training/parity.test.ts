// ONNX parity of the tiny test bundle: every graph run with onnxruntime-node matches the PyTorch
// outputs saved by training/export.py, a seeded DDIM loop over the ONNX prior and decoder
// reproduces the PyTorch loop, and tokenizer.json gives the Python tokenizer's ids.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleManifestSchema } from "../shared/src/manifest.ts";

const BUNDLE = process.env.PARITY_BUNDLE || join(import.meta.dirname, "..", "models", "tiny-test");
const readJson = (p: string) => JSON.parse(readFileSync(join(BUNDLE, p), "utf8"));

interface SavedArray {
  shape: number[];
  dtype: "float32" | "int64";
  data: number[];
}
interface IOEntry {
  name: string;
  dtype: string;
  shape: (string | number)[];
}
interface StageEntry {
  file: string;
  sha256: string;
  inputs: IOEntry[];
  outputs: IOEntry[];
}

const toTensor = (a: SavedArray) =>
  a.dtype === "int64"
    ? new ort.Tensor("int64", BigInt64Array.from(a.data.map((v) => BigInt(v))), a.shape)
    : new ort.Tensor("float32", Float32Array.from(a.data), a.shape);

const maxAbsDiff = (got: ArrayLike<number>, want: ArrayLike<number>) => {
  expect(got.length).toBe(want.length);
  let m = 0;
  for (let i = 0; i < got.length; i++) m = Math.max(m, Math.abs(got[i] - want[i]));
  return m;
};

const manifest = readJson("manifest.json");
const parity = readJson("golden/parity.json").graphs as Record<
  string,
  { file: string; inputs: Record<string, SavedArray>; outputs: Record<string, SavedArray> }
>;
const stageEntries: StageEntry[] = [
  manifest.stages.text_encoder,
  manifest.stages.image_encoder,
  manifest.stages.prior,
  manifest.stages.decoder,
  ...manifest.stages.upsamplers,
];
const sessions = new Map<string, ort.InferenceSession>();

beforeAll(async () => {
  for (const s of stageEntries)
    sessions.set(s.file, await ort.InferenceSession.create(join(BUNDLE, s.file)));
});
afterAll(async () => {
  for (const s of sessions.values()) await s.release();
});

describe("tiny-test bundle ONNX graphs", () => {
  it.each(stageEntries.map((s) => [s.file, s] as const))(
    "%s has the input and output names the manifest declares",
    (_f, s) => {
      const session = sessions.get(s.file)!;
      expect(session.inputNames).toEqual(s.inputs.map((i) => i.name));
      expect(session.outputNames).toEqual(s.outputs.map((o) => o.name));
    },
  );

  it.each(Object.entries(parity))(
    "%s matches PyTorch within 1e-4 on the saved inputs",
    async (_name, g) => {
      const session = sessions.get(g.file)!;
      const feeds = Object.fromEntries(Object.entries(g.inputs).map(([k, v]) => [k, toTensor(v)]));
      const out = await session.run(feeds);
      for (const [k, want] of Object.entries(g.outputs)) {
        expect(out[k].dims).toEqual(want.shape);
        expect(maxAbsDiff(out[k].data as Float32Array, want.data)).toBeLessThanOrEqual(1e-4);
      }
    },
  );

  it("the decoder takes a batch size it was not exported with", async () => {
    const g = parity.decoder;
    const session = sessions.get(g.file)!;
    const feeds: Record<string, ort.Tensor> = {};
    for (const [k, v] of Object.entries(g.inputs)) {
      const per = v.data.length / v.shape[0];
      const data = [...v.data, ...v.data.slice(0, per)]; // batch 3: sample 0 repeated last
      feeds[k] = toTensor({ ...v, shape: [3, ...v.shape.slice(1)], data });
    }
    const out = (await session.run(feeds)).pred;
    expect(out.dims[0]).toBe(3);
    const per = out.data.length / 3;
    const first = (out.data as Float32Array).slice(0, per);
    const last = (out.data as Float32Array).slice(2 * per);
    expect(maxAbsDiff(last, first)).toBeLessThanOrEqual(1e-5);
  });
});

// The DDIM loop as described in sampler.json's "algorithm" (float64 arithmetic, float32 state).
interface LoopGolden {
  steps: number;
  timesteps: number[];
  guidance: number;
  eta: number;
  clip_x0: boolean;
  prediction: "v" | "x0" | "eps";
  inputs: Record<string, SavedArray>;
  x_T: SavedArray;
  noises: SavedArray[];
  output: SavedArray;
}

async function ddimLoop(
  predict: (x: Float32Array, t: number, cond: boolean) => Promise<Float32Array>,
  g: LoopGolden,
  alphasCumprod: number[],
): Promise<Float32Array> {
  let x = Float32Array.from(g.x_T.data);
  let noiseIndex = 0;
  for (let i = 0; i < g.timesteps.length; i++) {
    const t = g.timesteps[i];
    const c = await predict(x, t, true);
    const u = g.guidance === 1 ? c : await predict(x, t, false);
    const ab = alphasCumprod[t];
    const abNext = i + 1 < g.timesteps.length ? alphasCumprod[g.timesteps[i + 1]] : 1;
    const sigma =
      g.eta > 0 ? g.eta * Math.sqrt((1 - abNext) / (1 - ab)) * Math.sqrt(1 - ab / abNext) : 0;
    const z = sigma > 0 ? g.noises[noiseIndex++].data : null;
    const next = new Float32Array(x.length);
    for (let j = 0; j < x.length; j++) {
      const pred = u[j] + g.guidance * (c[j] - u[j]);
      let x0: number;
      let eps: number;
      if (g.prediction === "v") {
        x0 = Math.sqrt(ab) * x[j] - Math.sqrt(1 - ab) * pred;
        eps = Math.sqrt(1 - ab) * x[j] + Math.sqrt(ab) * pred;
      } else {
        x0 = pred;
        eps = (x[j] - Math.sqrt(ab) * x0) / Math.sqrt(1 - ab);
      }
      if (g.clip_x0) {
        x0 = Math.min(1, Math.max(-1, x0));
        eps = (x[j] - Math.sqrt(ab) * x0) / Math.sqrt(1 - ab);
      }
      let v = Math.sqrt(abNext) * x0 + Math.sqrt(Math.max(1 - abNext - sigma * sigma, 0)) * eps;
      if (z) v += sigma * z[j];
      next[j] = v;
    }
    x = next;
  }
  return x;
}

describe("tiny-test sampler goldens", () => {
  const golden = readJson("golden/sampler.json");
  const zerosLike = (a: SavedArray) =>
    new ort.Tensor("float32", new Float32Array(a.data.length), a.shape);

  it("the schedule's alphas_cumprod is the cosine schedule of Nichol & Dhariwal", () => {
    const T = golden.schedule.timesteps;
    const f = (t: number) => Math.cos(((t / T + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
    let prod = 1;
    for (let t = 0; t < T; t++) {
      prod *= 1 - Math.min(1 - f(t + 1) / f(t), 0.999);
      expect(Math.abs(prod - golden.alphas_cumprod[t])).toBeLessThan(1e-12);
    }
  });

  it.each(["decoder", "decoder_eta1"])(
    "a seeded %s loop over ONNX reproduces the PyTorch loop",
    async (key) => {
      const g: LoopGolden = golden[key];
      const session = sessions.get(manifest.stages.decoder.file)!;
      const B = g.x_T.shape[0];
      const predict = async (x: Float32Array, t: number, cond: boolean) => {
        const feeds = {
          x_t: new ort.Tensor("float32", x, g.x_T.shape),
          timestep: new ort.Tensor("float32", new Float32Array(B).fill(t), [B]),
          image_embed: cond ? toTensor(g.inputs.image_embed) : zerosLike(g.inputs.image_embed),
          text_tokens: cond ? toTensor(g.inputs.text_tokens) : zerosLike(g.inputs.text_tokens),
          text_mask: cond ? toTensor(g.inputs.text_mask) : zerosLike(g.inputs.text_mask),
        };
        return (await session.run(feeds)).pred.data as Float32Array;
      };
      const out = await ddimLoop(predict, g, golden.alphas_cumprod);
      expect(maxAbsDiff(out, g.output.data)).toBeLessThanOrEqual(1e-3);
    },
  );

  it("a seeded prior loop over ONNX reproduces the PyTorch loop", async () => {
    const g: LoopGolden = golden.prior;
    const session = sessions.get(manifest.stages.prior.file)!;
    const B = g.x_T.shape[0];
    const predict = async (x: Float32Array, t: number, cond: boolean) => {
      const feeds = {
        x_t: new ort.Tensor("float32", x, g.x_T.shape),
        timestep: new ort.Tensor("float32", new Float32Array(B).fill(t), [B]),
        text_embed: cond ? toTensor(g.inputs.text_embed) : zerosLike(g.inputs.text_embed),
        text_tokens: cond ? toTensor(g.inputs.text_tokens) : zerosLike(g.inputs.text_tokens),
        text_mask: cond ? toTensor(g.inputs.text_mask) : zerosLike(g.inputs.text_mask),
      };
      return (await session.run(feeds)).pred.data as Float32Array;
    };
    const out = await ddimLoop(predict, g, golden.alphas_cumprod);
    expect(maxAbsDiff(out, g.output.data)).toBeLessThanOrEqual(1e-3);
  });
});

describe("tiny-test tokenizer", () => {
  const tokens = readJson("golden/tokens.json");
  const tokenizer = new Tokenizer(readJson("tokenizer.json"), {});
  const L: number = manifest.tokenizer.context_length;
  const ids = (text: string) => {
    let out = tokenizer.encode(text, { add_special_tokens: true }).ids;
    if (out.length > L) out = [...out.slice(0, L - 1), out[out.length - 1]];
    while (out.length < L) out.push(0);
    return out;
  };

  it("the context length in the manifest is the golden one", () => {
    expect(tokens.context_length).toBe(L);
  });

  it.each(
    (tokens.cases as Array<{ text: string; ids: number[] }>).map((c) => ({
      label: JSON.stringify(c.text),
      c,
    })),
  )("$label gets the Python tokenizer's ids", ({ c }) => {
    expect(ids(c.text)).toEqual(c.ids);
  });
});

describe("every bundle in models/", () => {
  const MODELS = join(import.meta.dirname, "..", "models");
  const bundles = readdirSync(MODELS).filter((d) => existsSync(join(MODELS, d, "manifest.json")));

  it.each(bundles)(
    "%s has a manifest the shared schema accepts, files matching their sha256, and the ONNX IO it declares",
    async (d) => {
      const dir = join(MODELS, d);
      const m = bundleManifestSchema.parse(
        JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")),
      );
      const sha = (f: string) =>
        createHash("sha256")
          .update(readFileSync(join(dir, f)))
          .digest("hex");
      expect(sha(m.tokenizer.file)).toBe(m.tokenizer.sha256);
      const stages: StageEntry[] = [
        m.stages.text_encoder,
        m.stages.image_encoder,
        m.stages.prior,
        m.stages.decoder,
        ...m.stages.upsamplers,
      ];
      for (const s of stages) {
        const bytes = readFileSync(join(dir, s.file));
        expect(createHash("sha256").update(bytes).digest("hex")).toBe(s.sha256);
        const session = await ort.InferenceSession.create(bytes);
        expect(session.inputNames).toEqual(s.inputs.map((i) => i.name));
        expect(session.outputNames).toEqual(s.outputs.map((o) => o.name));
        await session.release();
      }
      for (const f of ["eval.json", "samples.png", "MODEL_CARD.md"])
        expect(existsSync(join(dir, f))).toBe(true);
    },
  );
});
