// Edge tests run inside workerd (Miniflare) with the real local R2, KV, Durable Objects and
// rate-limit binding from the root wrangler.toml. The served bundle is aliased here.
import { fileURLToPath } from "node:url";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineProject } from "vitest/config";

// The bundle the tests serve: the training engineer's tiny test bundle (edge/tsconfig.json
// maps the same specifiers for wrangler; Vite takes them from here).
const bundleDir = fileURLToPath(new URL("../models/tiny-test", import.meta.url));

// Offline: never try to download Request.cf data (Miniflare would otherwise try on startup).
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";

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
