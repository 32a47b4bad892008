// The local edge as one process: the Worker built once (build.ts), served by Miniflare with
// local R2, KV, Durable Objects and rate limits (miniflare.ts), behind an HTTP front that
// parses requests as Cloudflare's would (front.ts). Started by scripts/stack.ts.
//   node --import tsx scripts/edge/main.ts --bundle models/tiny-test --state .state --port 8787 \
//     [--var NAME=value …] [--inspector-port N]
import { parseArgs } from "node:util";
import { Miniflare } from "miniflare";
import { buildWorker } from "./build.ts";
import { startFront } from "./front.ts";
import { localEdgeOptions } from "./miniflare.ts";
import { localWorkerdV8Flags } from "./v8Flags.ts";

const { values } = parseArgs({
  options: {
    bundle: { type: "string" },
    state: { type: "string" },
    port: { type: "string" },
    var: { type: "string", multiple: true, default: [] },
    "inspector-port": { type: "string" },
    verbose: { type: "boolean", default: false },
  },
});
if (!values.bundle || !values.state || !values.port) {
  console.error(
    "usage: scripts/edge/main.ts --bundle DIR --state DIR --port N [--var NAME=value …]",
  );
  process.exit(2);
}
const vars: Record<string, string> = {};
for (const assignment of values.var) {
  const at = assignment.indexOf("=");
  if (at < 1) {
    console.error(`--var takes NAME=value (got '${assignment}')`);
    process.exit(2);
  }
  vars[assignment.slice(0, at)] = assignment.slice(at + 1);
}

const script = buildWorker(values.bundle, values.state);
// Miniflare reads workerd's V8 flags from this variable only (no option takes them).
process.env.MINIFLARE_WORKERD_V8_FLAGS = localWorkerdV8Flags().join(" ");
const miniflare = new Miniflare(
  localEdgeOptions({
    script,
    stateDir: values.state,
    vars,
    inspectorPort: values["inspector-port"] ? Number(values["inspector-port"]) : undefined,
    verbose: values.verbose,
  }),
);
const runtime = await miniflare.ready;
const front = await startFront("127.0.0.1", Number(values.port), runtime);
console.log(
  `edge: serving ${script} at http://127.0.0.1:${values.port} (workerd at ${runtime.host})`,
);

let stopping = false;
async function stop(signal: NodeJS.Signals) {
  if (stopping) return;
  stopping = true;
  console.log(`edge: ${signal}: stopping`);
  front.closeAllConnections();
  front.close();
  await miniflare.dispose();
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
