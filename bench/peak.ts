// The machine's fp32 peak as onnxruntime sees it: the probe graphs bench/torch_baseline.py
// writes (a 1024² MatMul and one 3x3 Conv of the decoder's widths, weights as initializers),
// run with the UNets' session settings; the fastest of repeated calls, as for torch.
import { join } from "node:path";
import * as ort from "onnxruntime-node";

export interface ProbeGraph {
  gflop: number;
  inputs: Record<string, number[]>;
}

/** GFLOP/s of each probe graph in `dir` (matmul.onnx, conv.onnx). */
export async function onnxruntimePeak(
  dir: string,
  graphs: Record<string, ProbeGraph>,
  intraOpThreads: number,
  minSeconds = 0.4,
): Promise<Record<string, number>> {
  const peak: Record<string, number> = {};
  for (const [name, graph] of Object.entries(graphs)) {
    const session = await ort.InferenceSession.create(join(dir, `${name}.onnx`), {
      executionProviders: ["cpu"],
      graphOptimizationLevel: "all",
      ...(intraOpThreads > 0 ? { intraOpNumThreads: intraOpThreads } : {}),
    });
    const feeds = Object.fromEntries(
      Object.entries(graph.inputs).map(([input, dims]) => {
        const data = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) =>
          Math.sin(i),
        );
        return [input, new ort.Tensor("float32", data, dims)];
      }),
    );
    await session.run(feeds); // warm-up
    let best = Number.POSITIVE_INFINITY;
    const start = performance.now();
    for (let reps = 0; reps < 3 || performance.now() - start < minSeconds * 1000; reps++) {
      const t0 = performance.now();
      await session.run(feeds);
      best = Math.min(best, (performance.now() - t0) / 1000);
    }
    await session.release();
    peak[name] = graph.gflop / best;
  }
  return peak;
}
