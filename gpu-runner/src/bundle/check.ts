// Compares what an ONNX graph declares with what the manifest promises, naming the file, the
// tensor, what was expected and what was found. Pure: the loader passes the session metadata.
import type { TensorSpec } from "@unclip/shared";

/** An input or output as onnxruntime reports it (shape entries: number or symbolic name). */
export interface DeclaredTensor {
  name: string;
  type?: string;
  shape?: ReadonlyArray<number | string>;
}

const fmtShape = (shape: ReadonlyArray<number | string>) =>
  `[${shape.map((d) => (typeof d === "string" ? `"${d}"` : d)).join(", ")}]`;

/** Every mismatch between the manifest's tensors and the graph's, as readable lines. */
export function tensorMismatches(
  file: string,
  direction: "input" | "output",
  expected: readonly TensorSpec[],
  found: readonly DeclaredTensor[],
): string[] {
  const problems: string[] = [];
  const byName = new Map(found.map((t) => [t.name, t]));
  for (const spec of expected) {
    const t = byName.get(spec.name);
    if (!t) {
      const names = found.map((f) => f.name).join(", ") || "none";
      problems.push(
        `${file}: ${direction} "${spec.name}" expected by the manifest, found ${names}`,
      );
      continue;
    }
    if (t.type !== undefined && t.type !== spec.dtype) {
      problems.push(
        `${file}: ${direction} "${spec.name}" dtype: expected ${spec.dtype}, found ${t.type}`,
      );
    }
    const shape = t.shape;
    if (shape === undefined || shape.length === 0) continue; // the graph does not say
    const ok =
      shape.length === spec.shape.length &&
      spec.shape.every((dim, i) => {
        const got = shape[i];
        // "batch" must be dynamic so samples can share a call; a fixed manifest size may be
        // declared symbolic in the graph (it then accepts any size, including ours).
        if (dim === "batch") return typeof got === "string" || got === -1;
        return typeof got === "string" || got === -1 || got === dim;
      });
    if (!ok) {
      problems.push(
        `${file}: ${direction} "${spec.name}" shape: expected ${fmtShape(spec.shape)}, found ${fmtShape(shape)}`,
      );
    }
  }
  // An input the manifest does not know would never be fed: the graph can't run.
  if (direction === "input") {
    const known = new Set(expected.map((s) => s.name));
    for (const t of found) {
      if (!known.has(t.name)) {
        problems.push(`${file}: input "${t.name}" is in the graph but not in the manifest`);
      }
    }
  }
  return problems;
}
