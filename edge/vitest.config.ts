// Edge tests run inside workerd (Miniflare) with the real local R2, KV, Durable Objects and
// rate-limit binding from the root wrangler.toml. The served bundle is aliased here.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineProject } from "vitest/config";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));
// The training engineer's tiny test bundle once it exists; until then the edge's fixture
// bundle (same tokenizer format, no ONNX files: the edge reads only manifest + tokenizer).
const tinyTest = `${repoRoot}models/tiny-test`;
const bundleDir = existsSync(`${tinyTest}/manifest.json`)
  ? tinyTest
  : fileURLToPath(new URL("./test/fixtures/bundle", import.meta.url));

export default defineProject({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "../wrangler.toml" },
      miniflare: {
        bindings: {
          // The pool boundary is mocked in tests (test/pool.ts), never reached over the network.
          POOL_URL: "http://pool-a.test,http://pool-b.test",
          POOL_SECRET: "test-pool-secret",
          POOL_TIMEOUT_MS: "1500",
          POOL_MAX_ATTEMPTS: "3",
          BLOCKED_TERMS: "bomb, gore",
          TEST_BUNDLE_DIR: bundleDir,
        },
      },
    }),
  ],
  resolve: {
    alias: {
      "unclip-bundle/manifest.json": `${bundleDir}/manifest.json`,
      "unclip-bundle/tokenizer.json": `${bundleDir}/tokenizer.json`,
    },
  },
  test: {
    name: "edge",
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 20_000,
  },
});
