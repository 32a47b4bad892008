// The edge's memory under `npm start`'s stack (issue 20): many requests through the Worker —
// mostly cache hits and image GETs, which never reach a runner, plus a miss every 20th — while
// the resident memory of the Worker's workerd process is sampled. Run by hand:
//   node --import tsx scripts/edge-soak.ts [requests, default 20000] [miss every N, default 20; 0: never]
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { LOCAL_API_KEY, REPO_ROOT, startStack } from "./stack.ts";

const REQUESTS = Number(process.argv[2] ?? 20_000);
const MISS_EVERY = Number(process.argv[3] ?? 20);
const SAMPLE_EVERY = Math.max(1000, Math.floor(REQUESTS / 10));

/** The workerd process below the edge's process group (scripts/edge/main.ts spawns it). */
function workerdPid(edgePid: number): number {
  const out = execFileSync("ps", ["-eo", "pid=,pgid=,comm="], { encoding: "utf8" });
  for (const line of out.trim().split("\n")) {
    const [pid, pgid, comm] = line.trim().split(/\s+/);
    if (Number(pgid) === edgePid && comm.startsWith("workerd")) return Number(pid);
  }
  throw new Error(`no workerd in process group ${edgePid}`);
}

const rssMb = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) / 1024;

const stack = await startStack({
  runners: 1,
  stateDir: resolve(REPO_ROOT, ".state/edge-soak"),
  edgeVars: {
    EDGE_RATE_LIMIT_ENABLED: "false",
    RATE_LIMIT_UNITS_PER_MINUTE: "1000000",
    RATE_LIMIT_BURST_UNITS: "1000000",
  },
});
try {
  const pid = workerdPid(stack.edge.child.pid as number);
  const headers = { authorization: `Bearer ${LOCAL_API_KEY}`, "content-type": "application/json" };
  const generate = async (seed: number) => {
    const res = await fetch(`${stack.edgeUrl}/v1/images/generations`, {
      method: "POST",
      headers,
      body: JSON.stringify({ prompt: "a red circle", size: "256x256", seed }),
    });
    if (res.status !== 200) throw new Error(`edge answered ${res.status}: ${await res.text()}`);
    return ((await res.json()) as { data: { url: string }[] }).data[0].url;
  };
  let misses = 0;
  let done = 0;
  const t0 = performance.now();
  console.log("requests,workerd_rss_mb,seconds");
  const worker = async () => {
    while (done < REQUESTS) {
      const n = done++;
      // Every MISS_EVERY-th request a fresh seed (a miss through the runner), else one of 50.
      const miss = MISS_EVERY > 0 && n % MISS_EVERY === 0;
      const seed = miss ? 1_000_000 + n : n % 50;
      if (miss) misses++;
      const url = await generate(seed);
      if (n % 2 === 0) await (await fetch(url)).arrayBuffer();
      if ((n + 1) % SAMPLE_EVERY === 0) {
        console.log(
          `${n + 1},${rssMb(pid).toFixed(1)},${((performance.now() - t0) / 1000).toFixed(0)}`,
        );
      }
    }
  };
  console.log(`0,${rssMb(pid).toFixed(1)},0`);
  await Promise.all(Array.from({ length: 4 }, worker));
  console.log(`# ${REQUESTS} requests (${misses} misses), workerd pid ${pid}`);
} finally {
  await stack.stop();
}
