// `npm start`: the whole service on this machine — gpu-runner(s) on the CPU with the default
// bundle and the edge (the built Worker in Miniflare, scripts/edge) — until Ctrl-C.
import { parseArgs } from "node:util";
import { DEFAULT_BUNDLE, LOCAL_API_KEY, startStack } from "./stack.ts";

const { values } = parseArgs({
  options: {
    runners: { type: "string", default: "1" },
    port: { type: "string", default: process.env.PORT ?? "8787" },
    "runner-port": { type: "string", default: "8790" },
    bundle: { type: "string", default: process.env.UNCLIP_BUNDLE ?? DEFAULT_BUNDLE },
    state: { type: "string", default: ".state" },
    verbose: { type: "boolean", default: false },
  },
});

const runners = Number(values.runners);
if (!Number.isInteger(runners) || runners < 1 || runners > 8) {
  console.error(`--runners must be an integer from 1 to 8 (got ${values.runners})`);
  process.exit(2);
}
const firstRunnerPort = Number(values["runner-port"]);
console.log(`Starting ${runners} runner(s) and the edge Worker…`);
const stack = await startStack({
  runners,
  bundle: values.bundle,
  edgePort: Number(values.port),
  runnerPorts: Array.from({ length: runners }, (_, i) => firstRunnerPort + i),
  stateDir: values.state,
  verbose: values.verbose,
  readyTimeoutMs: 300_000,
});

console.log(`
unclip-edge is up.
  playground  ${stack.edgeUrl}/
  API         ${stack.edgeUrl}/v1/images/generations   (OpenAPI: ${stack.edgeUrl}/openapi.json)
  runners     ${stack.runners.map((r) => r.url).join(", ")}
  API key     ${LOCAL_API_KEY}   (local development only; more: npm run keys -- create <name>${values.state === ".state" ? "" : ` --state ${values.state}`})

  curl -s ${stack.edgeUrl}/v1/images/generations \\
    -H "Authorization: Bearer ${LOCAL_API_KEY}" -H "Content-Type: application/json" \\
    -d '{"prompt":"a red apple","n":2,"size":"256x256"}'

Ctrl-C stops everything.`);

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  console.log("\nStopping…");
  await stack.stop();
  process.exit(0);
};
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
for (const proc of [...stack.runners, stack.edge]) {
  proc.child.once("exit", (code) => {
    if (!stopping) {
      console.error(`${proc.name} exited unexpectedly (${code}):\n${proc.log.slice(-20).join("")}`);
      void shutdown();
    }
  });
}
