import { defineConfig } from "vitest/config";

// One runner for the whole repo; each part is a project with its own environment.
export default defineConfig({
  test: {
    projects: [
      "shared/vitest.config.ts",
      "gpu-runner/vitest.config.ts",
      "edge/vitest.config.ts",
      "infra/vitest.config.ts",
      "tests/vitest.config.ts",
      "tests/vitest.slow.config.ts",
    ],
  },
});
