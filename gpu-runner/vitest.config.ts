import { defineProject } from "vitest/config";

// The runner's tests: pure sampler/noise/batching units, plus tests against the tiny bundle
// in models/tiny-test (skipped until it exists) and one that spawns the real server.
export default defineProject({
  test: {
    name: "gpu-runner",
    environment: "node",
    include: ["src/**/*.test.ts", "scripts/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two shared cores: run test files one after another so onnxruntime calls do not fight.
    fileParallelism: false,
  },
});
