import type { TensorSpec } from "@unclip/shared";
import { describe, expect, it } from "vitest";
import { tensorMismatches } from "./check.ts";

const spec: TensorSpec[] = [
  { name: "x_t", dtype: "float32", shape: ["batch", 3, 16, 16] },
  { name: "timestep", dtype: "float32", shape: ["batch"] },
];

describe("tensorMismatches", () => {
  it("accepts a graph that declares what the manifest says", () => {
    const found = [
      { name: "x_t", type: "float32", shape: ["batch", 3, 16, 16] },
      { name: "timestep", type: "float32", shape: ["b"] },
    ];
    expect(tensorMismatches("decoder.onnx", "input", spec, found)).toEqual([]);
  });

  it("names a missing input with the names the graph has", () => {
    const found = [
      { name: "x", type: "float32", shape: ["batch", 3, 16, 16] },
      { name: "timestep", type: "float32", shape: ["batch"] },
    ];
    expect(tensorMismatches("decoder.onnx", "input", spec, found)).toEqual([
      'decoder.onnx: input "x_t" expected by the manifest, found x, timestep',
      'decoder.onnx: input "x" is in the graph but not in the manifest',
    ]);
  });

  it("names a dtype and a shape mismatch with expected and found", () => {
    const found = [
      { name: "x_t", type: "float32", shape: ["batch", 3, 32, 32] },
      { name: "timestep", type: "int64", shape: [1] },
    ];
    expect(tensorMismatches("decoder.onnx", "input", spec, found)).toEqual([
      'decoder.onnx: input "x_t" shape: expected ["batch", 3, 16, 16], found ["batch", 3, 32, 32]',
      'decoder.onnx: input "timestep" dtype: expected float32, found int64',
      'decoder.onnx: input "timestep" shape: expected ["batch"], found [1]',
    ]);
  });

  it("lets a graph have extra outputs but not miss one", () => {
    const outputs: TensorSpec[] = [{ name: "pred", dtype: "float32", shape: ["batch", 3] }];
    expect(
      tensorMismatches("p.onnx", "output", outputs, [
        { name: "pred", type: "float32", shape: ["batch", 3] },
        { name: "debug", type: "float32", shape: [] },
      ]),
    ).toEqual([]);
    expect(tensorMismatches("p.onnx", "output", outputs, [])).toEqual([
      'p.onnx: output "pred" expected by the manifest, found none',
    ]);
  });
});
