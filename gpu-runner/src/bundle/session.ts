// One ONNX graph of the bundle behind a small interface: feeds of flat typed arrays in, float32
// outputs out. The batcher and pipeline only see this, so tests can swap in fakes.
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TensorSpec } from "@unclip/shared";
import * as ort from "onnxruntime-node";
import { type ExecutionProvider, gpuRequired } from "../config.ts";
import { RunnerError } from "../errors.ts";
import type { DeclaredTensor } from "./check.ts";
import { ORT_PROVIDER_NAME, type Placement, placementOf, placementProblems } from "./placement.ts";

export interface Feed {
  data: Float32Array | BigInt64Array;
  dims: number[];
}

export interface StageSession {
  /** Manifest tensors this graph takes and returns. */
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  run(feeds: Record<string, Feed>): Promise<Record<string, Float32Array>>;
  release(): Promise<void>;
}

export interface SessionOptions {
  providers: ExecutionProvider[];
  /** Intra-op threads of the UNets (decoder, upsamplers); 0: onnxruntime's default. */
  intraOpThreads: number;
  /**
   * Intra-op threads of the small graphs (text and image encoder, prior); default 1. A prior
   * call is ~2 ms of work: splitting it costs more in thread hand-offs than it saves, and on a
   * busy 2-core machine it measured 47 ms with onnxruntime's default vs 2 ms with one thread
   * (bench/session_options.ts).
   */
  smallGraphThreads?: number;
}

/** Zeros for every input of a graph, `batch` rows (warm-up and placement probes). */
export function zeroFeeds(inputs: readonly TensorSpec[], batch: number): Record<string, Feed> {
  return Object.fromEntries(
    inputs.map((spec) => {
      const dims = [batch, ...(spec.shape.slice(1) as number[])];
      const size = dims.reduce((a, b) => a * b, 1);
      const data = spec.dtype === "int64" ? new BigInt64Array(size) : new Float32Array(size);
      return [spec.name, { data, dims }];
    }),
  );
}

function toTensors(feeds: Record<string, Feed>): Record<string, ort.Tensor> {
  const tensors: Record<string, ort.Tensor> = {};
  for (const [name, feed] of Object.entries(feeds)) {
    tensors[name] =
      feed.data instanceof BigInt64Array
        ? new ort.Tensor("int64", feed.data, feed.dims)
        : new ort.Tensor("float32", feed.data, feed.dims);
  }
  return tensors;
}

const sessionOptions = (
  providers: ExecutionProvider[],
  intraOpThreads: number,
): ort.InferenceSession.SessionOptions => ({
  executionProviders: providers,
  graphOptimizationLevel: "all",
  ...(intraOpThreads > 0 ? { intraOpNumThreads: intraOpThreads } : {}),
});

/**
 * Which provider ran each node of the graph: a throw-away session with onnxruntime's profiler
 * on runs the graph once on zeros (2 rows, as a guided call), and its profile is read back.
 */
export async function probePlacement(
  path: string,
  inputs: readonly TensorSpec[],
  providers: ExecutionProvider[],
  intraOpThreads = 0,
): Promise<Placement> {
  const dir = await mkdtemp(join(tmpdir(), "unclip-placement-"));
  try {
    const session = await ort.InferenceSession.create(path, {
      ...sessionOptions(providers, intraOpThreads),
      enableProfiling: true,
      profileFilePrefix: join(dir, "profile"),
    });
    try {
      await session.run(toTensors(zeroFeeds(inputs, 2)));
      session.endProfiling();
    } finally {
      await session.release();
    }
    const [file] = (await readdir(dir)).filter((f) => f.endsWith(".json"));
    if (!file) throw new Error(`onnxruntime wrote no profile in ${dir}`);
    return placementOf(JSON.parse(await readFile(join(dir, file), "utf8")));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Creates the session with the first suffix of the provider list that loads (the CUDA provider
 * library may be absent), and says which list that was so later graphs skip the failed ones.
 */
async function createSession(
  path: string,
  options: SessionOptions,
): Promise<{ session: ort.InferenceSession; providers: ExecutionProvider[] }> {
  let lastError: unknown;
  for (let i = 0; i < options.providers.length; i++) {
    const providers = options.providers.slice(i);
    try {
      const session = await ort.InferenceSession.create(
        path,
        sessionOptions(providers, options.intraOpThreads),
      );
      return { session, providers };
    } catch (error) {
      lastError = error;
      if (i + 1 < options.providers.length) {
        console.warn(
          `${path}: execution providers [${providers}] failed (${(error as Error).message}); trying [${options.providers.slice(i + 1)}]`,
        );
      }
    }
  }
  throw new RunnerError(
    "bad_bundle",
    `${path}: onnxruntime could not load the graph: ${(lastError as Error)?.message}`,
  );
}

export class OrtStageSession implements StageSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly inputs: readonly TensorSpec[],
    readonly outputs: readonly TensorSpec[],
    /** The provider list the session was created with. */
    readonly providers: ExecutionProvider[],
    /** Where its nodes ran, when a GPU was required and so checked (see `gpuRequired`). */
    readonly placement?: Placement,
  ) {}

  static async create(
    path: string,
    inputs: readonly TensorSpec[],
    outputs: readonly TensorSpec[],
    options: SessionOptions,
  ): Promise<OrtStageSession> {
    const { session, providers } = await createSession(path, options);
    if (!gpuRequired(providers)) return new OrtStageSession(session, inputs, outputs, providers);
    // The list names no cpu, so the GPU is required: onnxruntime must not have moved real
    // work to the CPU, which it does silently for nodes its GPU provider has no kernel for.
    try {
      const placement = await probePlacement(path, inputs, providers, options.intraOpThreads);
      const problems = placementProblems(path, placement, ORT_PROVIDER_NAME[providers[0]]);
      if (problems.length > 0) {
        throw new RunnerError(
          "bad_config",
          `UNCLIP_PROVIDERS=${providers.join(",")} requires the GPU, but:\n  - ${problems.join("\n  - ")}\n(add cpu to UNCLIP_PROVIDERS to allow it)`,
        );
      }
      return new OrtStageSession(session, inputs, outputs, providers, placement);
    } catch (error) {
      await session.release();
      throw error;
    }
  }

  /** What the graph itself declares, for the manifest check. */
  declared(): { inputs: DeclaredTensor[]; outputs: DeclaredTensor[] } {
    const describe = (m: ort.InferenceSession.ValueMetadata): DeclaredTensor =>
      m.isTensor
        ? { name: m.name, type: m.type, shape: m.shape }
        : { name: m.name, type: "non-tensor" };
    return {
      inputs: this.session.inputMetadata.map(describe),
      outputs: this.session.outputMetadata.map(describe),
    };
  }

  async run(feeds: Record<string, Feed>): Promise<Record<string, Float32Array>> {
    const results = await this.session.run(toTensors(feeds));
    const out: Record<string, Float32Array> = {};
    for (const spec of this.outputs) out[spec.name] = results[spec.name].data as Float32Array;
    return out;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
