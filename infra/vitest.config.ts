import { defineProject } from "vitest/config";

// The production manifests, checked as data: no cluster, no network.
export default defineProject({
  test: { name: "infra", include: ["**/*.test.ts"], environment: "node" },
});
