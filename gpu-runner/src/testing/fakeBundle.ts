// A bundle of fake graphs (plain arithmetic, optional delay) behind the real manifest schema
// and tokenizer, so scheduling, guidance, queueing and HTTP tests run fast without onnxruntime.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { bundleIdOf, bundleManifestSchema, loadTokenizer, type TensorSpec } from "@unclip/shared";
import type { Feed, StageSession } from "../bundle/session.ts";
import type { RunnerBundle } from "../runner.ts";

const L = 8;
const W = 4;
const D = 6;
const R = 4;
const R2 = 8;
const sha = "0".repeat(64);
const io = (name: string, shape: (number | "batch")[], dtype = "float32"): TensorSpec =>
  ({ name, dtype, shape }) as TensorSpec;
const diffusion = {
  schedule: { name: "cosine", timesteps: 1000 },
  default_steps: 3,
  default_guidance: 3,
};

export const fakeManifest = bundleManifestSchema.parse({
  schema_version: 1,
  name: "fake",
  version: "1",
  tokenizer: { file: "tokenizer.json", sha256: sha, context_length: L },
  embedding_dim: D,
  stages: {
    text_encoder: {
      file: "t.onnx",
      sha256: sha,
      inputs: [io("input_ids", ["batch", L], "int64")],
      outputs: [io("text_embed", ["batch", D]), io("text_tokens", ["batch", L, W])],
    },
    image_encoder: {
      file: "i.onnx",
      sha256: sha,
      inputs: [io("image", ["batch", 3, R, R])],
      outputs: [io("image_embed", ["batch", D])],
      resolution: R,
    },
    prior: {
      file: "p.onnx",
      sha256: sha,
      inputs: [
        io("x_t", ["batch", D]),
        io("timestep", ["batch"]),
        io("text_embed", ["batch", D]),
        io("text_tokens", ["batch", L, W]),
        io("text_mask", ["batch", L]),
      ],
      outputs: [io("pred", ["batch", D])],
      prediction: "x0",
      embedding_scale: Math.sqrt(D),
      ...diffusion,
    },
    decoder: {
      file: "d.onnx",
      sha256: sha,
      inputs: [
        io("x_t", ["batch", 3, R, R]),
        io("timestep", ["batch"]),
        io("image_embed", ["batch", D]),
        io("text_tokens", ["batch", L, W]),
        io("text_mask", ["batch", L]),
      ],
      outputs: [io("pred", ["batch", 3, R, R])],
      prediction: "v",
      resolution: R,
      ...diffusion,
    },
    upsamplers: [
      {
        file: "u.onnx",
        sha256: sha,
        inputs: [
          io("x_t", ["batch", 3, R2, R2]),
          io("timestep", ["batch"]),
          io("low_res", ["batch", 3, R, R]),
        ],
        outputs: [io("pred", ["batch", 3, R2, R2])],
        prediction: "v",
        input_resolution: R,
        resolution: R2,
        ...diffusion,
        default_guidance: 1,
      },
    ],
  },
});

export interface FakeCall {
  rows: number;
  timesteps: number[];
}

/** A graph whose output row r is `compute(inputs of row r)`; records every call. */
class FakeSession implements StageSession {
  readonly calls: FakeCall[] = [];
  constructor(
    readonly inputs: TensorSpec[],
    readonly outputs: TensorSpec[],
    private readonly compute: (row: Record<string, Float32Array>) => Record<string, Float32Array>,
    private readonly delayMs: number,
  ) {}
  async run(feeds: Record<string, Feed>): Promise<Record<string, Float32Array>> {
    const rows = feeds[this.inputs[0].name].dims[0];
    this.calls.push({
      rows,
      timesteps: feeds.timestep ? Array.from(feeds.timestep.data as Float32Array) : [],
    });
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    const outs = this.outputs.map((o) => {
      const size = (o.shape.slice(1) as number[]).reduce((a, b) => a * b, 1);
      return new Float32Array(rows * size);
    });
    for (let r = 0; r < rows; r++) {
      const row: Record<string, Float32Array> = {};
      for (const [name, feed] of Object.entries(feeds)) {
        const size = feed.data.length / rows;
        row[name] = Float32Array.from(
          feed.data.slice(r * size, (r + 1) * size) as ArrayLike<number>,
          Number,
        );
      }
      const result = this.compute(row);
      for (const [k, o] of this.outputs.entries())
        outs[k].set(result[o.name], r * result[o.name].length);
    }
    return Object.fromEntries(this.outputs.map((o, k) => [o.name, outs[k]]));
  }
  async release(): Promise<void> {}
}

const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;

export function fakeBundle(options: { delayMs?: number } = {}): RunnerBundle & {
  fakes: Record<"textEncoder" | "imageEncoder" | "prior" | "decoder" | "upsampler", FakeSession>;
} {
  const delay = options.delayMs ?? 0;
  const { stages } = fakeManifest;
  const tokenizerJson = JSON.parse(
    readFileSync(
      fileURLToPath(
        new URL("../../../shared/src/fixtures/word-level.tokenizer.json", import.meta.url),
      ),
      "utf8",
    ),
  );
  const textEncoder = new FakeSession(
    stages.text_encoder.inputs,
    stages.text_encoder.outputs,
    (row) => {
      const ids = row.input_ids;
      const key = ids.reduce((s, id, p) => s + id * (p + 1), 0);
      const embed = Float32Array.from({ length: D }, (_, i) => Math.sin(key * (i + 1)) + 0.1);
      const tokens = Float32Array.from({ length: L * W }, (_, i) => Math.cos(ids[i % L] + i));
      return { text_embed: embed, text_tokens: tokens };
    },
    delay,
  );
  const imageEncoder = new FakeSession(
    stages.image_encoder.inputs,
    stages.image_encoder.outputs,
    (row) => ({
      image_embed: Float32Array.from({ length: D }, (_, i) => mean(row.image) + i * 0.1),
    }),
    delay,
  );
  // Prior (x0): pull towards the text embedding; zero text → zero.
  const prior = new FakeSession(
    stages.prior.inputs,
    stages.prior.outputs,
    (row) => ({
      pred: row.text_embed.map((v, i) => 3 * v + 0.01 * row.x_t[i] * mean(row.text_mask)),
    }),
    delay,
  );
  // Decoder (v): depends on x_t, the timestep, the image embedding and the text mask.
  const decoder = new FakeSession(
    stages.decoder.inputs,
    stages.decoder.outputs,
    (row) => ({
      pred: row.x_t.map(
        (v, i) =>
          0.5 * v -
          0.5 * row.image_embed[i % D] +
          1e-4 * row.timestep[0] -
          0.1 * mean(row.text_mask),
      ),
    }),
    delay,
  );
  const upsampler = new FakeSession(
    stages.upsamplers[0].inputs,
    stages.upsamplers[0].outputs,
    (row) => ({
      pred: row.x_t.map((v, i) => 0.5 * v - row.low_res[i % (3 * R * R)]),
    }),
    delay,
  );
  return {
    id: bundleIdOf(fakeManifest),
    manifest: fakeManifest,
    tokenizer: loadTokenizer(tokenizerJson, { contextLength: L, padId: 0 }),
    sessions: { textEncoder, imageEncoder, prior, decoder, upsamplers: [upsampler] },
    fakes: { textEncoder, imageEncoder, prior, decoder, upsampler },
  };
}
