import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RunnerError } from "../errors.ts";
import { TINY_BUNDLE_DIR } from "../testing/tinyBundle.ts";
import { loadBundle, readManifest } from "./load.ts";
import { CPU_PROVIDER, placementOf, placementProblems } from "./placement.ts";
import { probePlacement } from "./session.ts";

const CUDA = "CUDAExecutionProvider";

/** One node event as onnxruntime's profiler writes it. */
const node = (op: string, provider: string, outputs: Record<string, number[]>[]) => ({
  cat: "Node",
  name: `/net/${op}_kernel_time`,
  args: { op_name: op, provider, output_type_shape: outputs },
});

describe("placementOf / placementProblems", () => {
  it("tolerates shape arithmetic on the CPU and flags real tensors there", () => {
    const placement = placementOf([
      { cat: "Session", name: "model_run" },
      { cat: "Node", name: "/net/Conv_fence_before", args: {} },
      node("Conv", CUDA, [{ float: [2, 48, 32, 32] }]),
      node("Shape", CPU_PROVIDER, [{ int64: [4] }]),
      node("Concat", CPU_PROVIDER, [{ int64: [3] }]),
      node("Gather", CPU_PROVIDER, [{ int64: [] }]),
    ]);
    expect(placement.nodes).toEqual({ [CUDA]: 1, [CPU_PROVIDER]: 3 });
    expect(placement.cpuCompute).toEqual([]);
    expect(placementProblems("decoder.onnx", placement, CUDA)).toEqual([]);

    const fellBack = placementOf([
      node("Conv", CUDA, [{ float: [2, 48, 32, 32] }]),
      node("ArgMax", CPU_PROVIDER, [{ int64: [64, 16] }]),
      node("Resize", CPU_PROVIDER, [{ float: [2, 3, 64, 64] }]),
    ]);
    expect(fellBack.cpuCompute.map((n) => n.op)).toEqual(["ArgMax", "Resize"]);
    const problems = placementProblems("upsampler.onnx", fellBack, CUDA);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/upsampler\.onnx: 2 compute node\(s\) fell back.*ArgMax.*Resize/);
  });

  it("flags a graph that ran nothing, or nothing on the required provider", () => {
    expect(placementProblems("a.onnx", placementOf([]), CUDA)).toEqual([
      "a.onnx: the profile recorded no node (nothing ran)",
    ]);
    const shapesOnly = placementOf([node("Shape", CPU_PROVIDER, [{ int64: [2] }])]);
    expect(placementProblems("b.onnx", shapesOnly, CUDA)[0]).toMatch(
      /b\.onnx: no node ran on CUDAExecutionProvider/,
    );
  });
});

describe("placement of the real tiny graphs", () => {
  it("reads every node of a CPU run from onnxruntime's profile, and a GPU requirement refuses it", async () => {
    const manifest = await readManifest(TINY_BUNDLE_DIR);
    for (const stage of [manifest.stages.text_encoder, manifest.stages.decoder]) {
      const placement = await probePlacement(
        join(TINY_BUNDLE_DIR, stage.file),
        stage.inputs,
        ["cpu"],
        1,
      );
      expect(Object.keys(placement.nodes)).toEqual([CPU_PROVIDER]);
      expect(placement.nodes[CPU_PROVIDER]).toBeGreaterThan(10);
      expect(placementProblems(stage.file, placement, CPU_PROVIDER)).toEqual([]);
      const asIfCuda = placementProblems(stage.file, placement, CUDA);
      expect(asIfCuda[0]).toMatch(/no node ran on CUDAExecutionProvider/);
      // Every float-producing node counts (MatMul, Conv, …); the shape chains do not.
      const fellBack = placement.cpuCompute.length;
      expect(fellBack).toBeGreaterThan(5);
      expect(fellBack).toBeLessThan(placement.nodes[CPU_PROVIDER]);
      expect(asIfCuda[1]).toContain(`${fellBack} compute node(s) fell back to the CPU`);
    }
  });

  it("UNCLIP_PROVIDERS without cpu refuses to start when the GPU provider does not load", async () => {
    // npm's onnxruntime-node here has no CUDA provider library: the required GPU is an error,
    // never a silent CPU run.
    const error = await loadBundle(TINY_BUNDLE_DIR, {
      providers: ["cuda"],
      intraOpThreads: 1,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunnerError);
    expect((error as RunnerError).message).toMatch(
      /text_encoder\.onnx: onnxruntime could not load/,
    );
    // With cpu in the list the runner keeps serving on what loads.
    const lenient = await loadBundle(TINY_BUNDLE_DIR, {
      providers: ["cuda", "cpu"],
      intraOpThreads: 1,
    });
    expect(lenient.providers).toEqual(["cpu"]);
    await lenient.release();
  });
});
