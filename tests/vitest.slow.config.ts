// The long cross-part runs (`npm run test:slow`): soak and the full 10,000-request fuzz.
import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "slow",
    include: ["slow/*.test.ts"],
    globalSetup: ["./globalSetup.ts"],
    fileParallelism: false,
    testTimeout: 1_800_000,
    hookTimeout: 180_000,
  },
});
