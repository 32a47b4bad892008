// ONNX parity of the tiny test bundle: every graph run with onnxruntime-node matches the PyTorch
// outputs saved by training/export_bundle.py, and tokenizer.json gives the Python tokenizer's ids.
// The seeded DDIM loops of golden/sampler.json are replayed by the shipped sampler itself in
// gpu-runner/src/pipeline/golden.test.ts, not by a second DDIM written for this test.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleManifestSchema } from "../shared/src/manifest.ts";
import { loadTokenizer } from "../shared/src/tokenizer.ts";

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

describe("the BPE tokenizer (model v2) as shared/ loads it", () => {
  // training/golden_tokens.py wrote the file and the Python ids
  const golden = JSON.parse(
    readFileSync(join(import.meta.dirname, "golden", "bpe_tokens.json"), "utf8"),
  ) as { context_length: number; tokenizer: unknown; cases: { text: string; ids: number[] }[] };
  const tok = loadTokenizer(golden.tokenizer, { contextLength: golden.context_length });

  it.each(golden.cases.map((c) => ({ label: JSON.stringify(c.text), c })))(
    "$label gets the Python tokenizer's ids",
    ({ c }) => {
      expect(tok.inputIds(c.text)).toEqual(c.ids);
    },
  );

  it("emoji mean what they show and different unknown words get different ids", () => {
    expect(tok.ids("🐱")).toEqual(tok.ids("cat face"));
    expect(tok.ids("🐶🍕")).toEqual(tok.ids("dog face pizza"));
    expect(tok.ids("猫猫猫")).not.toEqual(tok.ids("犬犬犬"));
    expect(tok.ids("quokka")).not.toContain(1); // [UNK]: bytes cover every text
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
