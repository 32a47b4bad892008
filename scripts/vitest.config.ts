import { defineProject } from "vitest/config";

// The repository's own tooling: the system-package step of `npm test`, CI's commands.
export default defineProject({
  test: { name: "tooling", environment: "node", include: ["**/*.test.ts"] },
});
