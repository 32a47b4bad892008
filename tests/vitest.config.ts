// Cross-part tests: the built Worker in Miniflare (local R2/KV/Durable Objects, scripts/edge)
// talking to real gpu-runner processes on the tiny bundle. Files run one at a time: each starts
// processes, and this machine has two cores.
import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "e2e",
    include: ["*.test.ts"],
    globalSetup: ["./globalSetup.ts"],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
