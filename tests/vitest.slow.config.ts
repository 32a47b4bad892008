// The long cross-part runs (`npm run test:slow`): soak and the full 10,000-request fuzz.
import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "slow",
    include: ["slow/*.test.ts", "fuzz.test.ts"],
    // The same fuzz file as in `npm test`, at its full size.
    env: { UNCLIP_FUZZ_COUNT: "10000" },
    globalSetup: ["./globalSetup.ts"],
    fileParallelism: false,
    testTimeout: 1_800_000,
    hookTimeout: 180_000,
  },
});
