import { defineConfig } from "vitest/config";

// One runner for the whole repo; each part is a project with its own environment.
// `npm test` runs the unit projects first and the cross-part `e2e` project after them, on
// its own: its real processes and the unit projects' workerd would otherwise share the cores.
export default defineConfig({
  test: {
    projects: [
      "shared/vitest.config.ts",
      "gpu-runner/vitest.config.ts",
      "edge/vitest.config.ts",
      "infra/vitest.config.ts",
      "training/vitest.config.ts",
      "scripts/vitest.config.ts",
      "tests/vitest.config.ts",
      "tests/vitest.slow.config.ts",
    ],
  },
});
