// Which execution provider ran each node of a graph, read from an onnxruntime profile, and
// whether a graph that must run on a GPU silently fell back to the CPU. Pure: the profile is
// parsed JSON, so the rule is tested without a GPU.
//
// Why a profile and not `session.disable_cpu_ep_fallback`: onnxruntime's CUDA provider itself
// places shape arithmetic (Shape → Gather → Concat feeding a Reshape) on the CPU on purpose,
// and that option refuses a session with ANY node on the CPU. Our graphs have a dynamic batch,
// so they keep such chains (emoji-gpu's decoder has 106 Shape nodes): the option would refuse
// every stage. The profile says what actually ran where, node by node.

/** Provider name → nodes it ran, for one graph. */
export interface Placement {
  nodes: Record<string, number>;
  /** Nodes the CPU ran that are not shape arithmetic (op, name, outputs). */
  cpuCompute: { op: string; name: string; outputs: string }[];
}

interface ProfileEvent {
  cat?: string;
  name?: string;
  args?: {
    op_name?: string;
    provider?: string;
    output_type_shape?: Record<string, number[]>[];
  };
}

export const CPU_PROVIDER = "CPUExecutionProvider";

/** onnxruntime's provider name for each of our configured providers. */
export const ORT_PROVIDER_NAME = {
  cpu: CPU_PROVIDER,
  cuda: "CUDAExecutionProvider",
  webgpu: "WebGpuExecutionProvider",
} as const;

/** Shape tensors are a handful of integers (one per dimension); a real activation is not. */
const SHAPE_LIKE_MAX_ELEMENTS = 16;
const INTEGER_TYPES = new Set(["int64", "int32", "bool"]);

function isShapeArithmetic(outputs: Record<string, number[]>[]): boolean {
  return outputs.every((o) =>
    Object.entries(o).every(
      ([type, dims]) =>
        INTEGER_TYPES.has(type) && dims.reduce((a, b) => a * b, 1) <= SHAPE_LIKE_MAX_ELEMENTS,
    ),
  );
}

/** Reads the node events (one `<node>_kernel_time` per node run) of one profile. */
export function placementOf(events: readonly ProfileEvent[]): Placement {
  const nodes: Record<string, number> = {};
  const cpuCompute: Placement["cpuCompute"] = [];
  for (const e of events) {
    if (e.cat !== "Node" || !e.name?.endsWith("_kernel_time") || !e.args?.provider) continue;
    const { provider, op_name: op = "?", output_type_shape: outputs = [] } = e.args;
    nodes[provider] = (nodes[provider] ?? 0) + 1;
    if (provider === CPU_PROVIDER && !isShapeArithmetic(outputs)) {
      cpuCompute.push({
        op,
        name: e.name.slice(0, -"_kernel_time".length),
        outputs: JSON.stringify(outputs),
      });
    }
  }
  return { nodes, cpuCompute };
}

/**
 * What is wrong with a graph's placement when it must run on `required` (an onnxruntime
 * provider name): nothing ran there, or the CPU ran real tensors. Empty when fine.
 */
export function placementProblems(graph: string, placement: Placement, required: string): string[] {
  const problems: string[] = [];
  if (required === CPU_PROVIDER) return problems;
  const total = Object.values(placement.nodes).reduce((a, b) => a + b, 0);
  if (total === 0) problems.push(`${graph}: the profile recorded no node (nothing ran)`);
  else if (!placement.nodes[required]) {
    problems.push(`${graph}: no node ran on ${required} (${JSON.stringify(placement.nodes)})`);
  }
  const shown = placement.cpuCompute.slice(0, 5).map((n) => `${n.op} ${n.name} → ${n.outputs}`);
  if (placement.cpuCompute.length > 0) {
    problems.push(
      `${graph}: ${placement.cpuCompute.length} compute node(s) fell back to the CPU: ${shown.join("; ")}${placement.cpuCompute.length > shown.length ? "; …" : ""}`,
    );
  }
  return problems;
}
