import { defineProject } from "vitest/config";

// Python produces the goldens (training/export_bundle.py --goldens); this project replays them with onnxruntime-node.
export default defineProject({
  root: import.meta.dirname,
  test: {
    name: "training",
    environment: "node",
    include: ["*.test.ts", "eval/*.test.ts"],
    testTimeout: 60_000,
  },
});
