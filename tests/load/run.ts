// `npm run load`: N concurrent clients for T seconds on the cache-hit path and on the miss
// path of a local stack (started here unless --url names a running one).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startStack } from "../../scripts/stack.ts";
import { formatLoad, type LoadPath, runLoad } from "./load.ts";

const { values } = parseArgs({
  options: {
    url: { type: "string" },
    clients: { type: "string", default: "8" },
    seconds: { type: "string", default: "15" },
    path: { type: "string", default: "both" },
    bundle: { type: "string", default: "models/tiny-test" },
    runners: { type: "string", default: "1" },
    steps: { type: "string" },
  },
});

const paths: LoadPath[] = values.path === "both" ? ["hit", "miss"] : [values.path as LoadPath];
let edgeUrl = values.url;
let stop = async () => {};
if (!edgeUrl) {
  const dir = mkdtempSync(join(tmpdir(), "unclip-load-"));
  // Generous limits: this measures the service, not the per-key token bucket.
  const stack = await startStack({
    bundle: values.bundle,
    runners: Number(values.runners),
    stateDir: dir,
    edgeVars: {
      RATE_LIMIT_BURST_UNITS: "1000000",
      RATE_LIMIT_UNITS_PER_MINUTE: "1000000",
      EDGE_RATE_LIMIT_ENABLED: "false",
    },
  });
  edgeUrl = stack.edgeUrl;
  stop = async () => {
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  };
}
try {
  console.log(`load against ${edgeUrl} (${values.bundle}, ${values.runners} runner(s))`);
  for (const path of paths) {
    const result = await runLoad({
      edgeUrl,
      path,
      clients: Number(values.clients),
      seconds: Number(values.seconds),
      steps: values.steps ? Number(values.steps) : undefined,
    });
    console.log(formatLoad(result));
  }
} finally {
  await stop();
}
