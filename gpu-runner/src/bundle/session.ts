// One ONNX graph of the bundle behind a small interface: feeds of flat typed arrays in, float32
// outputs out. The scheduler and pipeline only see this, so tests can swap in fakes.
import type { TensorSpec } from "@unclip/shared";
import * as ort from "onnxruntime-node";
import type { ExecutionProvider } from "../config.ts";
import { RunnerError } from "../errors.ts";
import type { DeclaredTensor } from "./check.ts";

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
      const session = await ort.InferenceSession.create(path, {
        executionProviders: providers,
        graphOptimizationLevel: "all",
        ...(options.intraOpThreads > 0 ? { intraOpNumThreads: options.intraOpThreads } : {}),
      });
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
  ) {}

  static async create(
    path: string,
    inputs: readonly TensorSpec[],
    outputs: readonly TensorSpec[],
    options: SessionOptions,
  ): Promise<OrtStageSession> {
    const { session, providers } = await createSession(path, options);
    return new OrtStageSession(session, inputs, outputs, providers);
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
    const tensors: Record<string, ort.Tensor> = {};
    for (const [name, feed] of Object.entries(feeds)) {
      tensors[name] =
        feed.data instanceof BigInt64Array
          ? new ort.Tensor("int64", feed.data, feed.dims)
          : new ort.Tensor("float32", feed.data, feed.dims);
    }
    const results = await this.session.run(tensors);
    const out: Record<string, Float32Array> = {};
    for (const spec of this.outputs) out[spec.name] = results[spec.name].data as Float32Array;
    return out;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
