// The edge's memory under `npm start`'s stack (issue 20): many requests through the Worker —
// mostly cache hits and image GETs, which never reach a runner, plus a miss every 20th — while
// the resident memory of the Worker's workerd process is sampled, and, through workerd's
// inspector, every isolate's V8 heap before and after a forced full GC. Run by hand:
//   npx tsx scripts/edge-soak.ts [generations, default 10000] [miss every N, default 20; 0: never]
//     [--no-gc]  (sample without forcing GCs: the memory as `npm start` leaves it)
// The edge's V8 flags come from scripts/edge/v8Flags.ts; MINIFLARE_WORKERD_V8_FLAGS="" turns
// them off to compare.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { attachWorkerdInspector, type IsolateHeap } from "./edge/inspector.ts";
import { localWorkerdV8Flags } from "./edge/v8Flags.ts";
import { freePort, LOCAL_API_KEY, REPO_ROOT, startStack } from "./stack.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { "no-gc": { type: "boolean", default: false } },
});
const GENERATIONS = Number(positionals[0] ?? 10_000);
const MISS_EVERY = Number(positionals[1] ?? 20);
const FORCE_GC = !values["no-gc"];
const CLIENTS = 4;
const SAMPLE_EVERY = Math.max(100, Math.floor(GENERATIONS / 10));
// A fresh state folder: images persisted by an earlier run would turn its misses into hits.
const STATE_DIR = resolve(REPO_ROOT, ".state/edge-soak");

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

/**
 * Durable Objects' SQLite databases workerd holds open: locally each object's database stays
 * open, with its page cache, until workerd drops the object 70-140 s after its last use (one
 * per cache key missed in that time: the GenerationFlight of single flight).
 */
function openObjectDatabases(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      return /\/do\/.*\.sqlite$/.test(readlinkSync(`/proc/${pid}/fd/${fd}`));
    } catch {
      return false; // closed since the listing
    }
  }).length;
}

const versionOf = (pkg: string) =>
  (
    JSON.parse(readFileSync(resolve(REPO_ROOT, "node_modules", pkg, "package.json"), "utf8")) as {
      version: string;
    }
  ).version;

const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const sum = (heaps: IsolateHeap[], field: "used" | "embedder") =>
  heaps.reduce((total, heap) => total + heap[field], 0);
const workerHeap = (heaps: IsolateHeap[]) =>
  heaps.filter((heap) => heap.isolate.startsWith("core:user:"));

console.log(
  `# workerd ${versionOf("workerd")}, miniflare ${versionOf("miniflare")}, edge V8 flags: ` +
    `${JSON.stringify(localWorkerdV8Flags())}; ${cpus().length} cores, load ${loadavg()[0].toFixed(1)}`,
);
console.log(
  `# ${GENERATIONS} generations of one 256x256 image (` +
    (MISS_EVERY ? `every ${MISS_EVERY}th a fresh seed, a miss; the others ` : "") +
    "one of 50 seeds, cached after their first time) + an image GET after every other one, " +
    `${CLIENTS} clients; ` +
    (FORCE_GC ? "a full GC forced in every isolate at each sample" : "no forced GC"),
);

rmSync(STATE_DIR, { recursive: true, force: true });
const inspectorPort = await freePort();
const stack = await startStack({
  runners: 1,
  stateDir: STATE_DIR,
  edgeInspectorPort: inspectorPort,
  edgeVars: {
    EDGE_RATE_LIMIT_ENABLED: "false",
    RATE_LIMIT_UNITS_PER_MINUTE: "1000000",
    RATE_LIMIT_BURST_UNITS: "1000000",
  },
});
const inspector = await attachWorkerdInspector(inspectorPort);
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
  // A cache hit and its image: reaches the entry Worker, the Worker, its Durable Objects and R2,
  // so that those isolates run the GC they were asked for (KV's and the rate limiter's are not
  // reached: the soak's local development key is checked by its hash without a KV read, and
  // rate limiting is off).
  const touchServingIsolates = async () => {
    await (await fetch(await generate(0))).arrayBuffer();
  };

  const t0 = performance.now();
  let notReached: string[] = [];
  /** Each sample's RSS, and after the forced GC its RSS and heap used (MB). */
  const samples: { done: number; rss: number; rssAfterGc?: number; heapAfterGc?: number }[] = [];
  const sample = async (done: number) => {
    const seconds = ((performance.now() - t0) / 1000).toFixed(0);
    const rss = rssMb(pid).toFixed(1);
    const before = await inspector.heaps();
    let after = "";
    if (FORCE_GC) {
      const { missed } = await inspector.collectGarbage(touchServingIsolates);
      const heaps = await inspector.heaps();
      // Read once: the row printed and the summary's figures are the same measurement.
      const rssAfterGc = rssMb(pid);
      after =
        `,${rssAfterGc.toFixed(1)},${mb(sum(heaps, "used"))},${mb(sum(workerHeap(heaps), "used"))}` +
        `,${mb(sum(heaps, "embedder"))},${heaps.length - missed.length}/${heaps.length}`;
      // Isolates that nothing in the mix reaches (e.g. KV, the rate limiter's) never run it.
      notReached = missed;
      samples.push({
        done,
        rss: Number(rss),
        rssAfterGc,
        heapAfterGc: sum(heaps, "used") / 2 ** 20,
      });
    } else {
      samples.push({ done, rss: Number(rss) });
    }
    console.log(
      `${done},${seconds},${rss},${openObjectDatabases(pid)},${mb(sum(before, "used"))},` +
        `${mb(sum(workerHeap(before), "used"))}${after}`,
    );
  };

  console.log(`# isolates: ${inspector.isolates.join(" ")}`);
  console.log(
    "generations,seconds,workerd_rss_mb,open_do_databases,heap_used_mb,worker_heap_used_mb" +
      (FORCE_GC
        ? ",rss_after_gc_mb,heap_used_after_gc_mb,worker_heap_after_gc_mb,cppgc_after_gc_mb,isolates_gced"
        : ""),
  );
  await sample(0);
  let misses = 0;
  // Batches of SAMPLE_EVERY generations by CLIENTS clients, sampled between batches: nothing is
  // in flight while the heaps are read, so what survives a forced GC is what the isolates keep.
  for (let first = 0; first < GENERATIONS; first += SAMPLE_EVERY) {
    const end = Math.min(first + SAMPLE_EVERY, GENERATIONS);
    let next = first;
    const client = async () => {
      while (next < end) {
        const n = next++;
        // Every MISS_EVERY-th generation a fresh seed (a miss through the runner), else one of 50.
        const miss = MISS_EVERY > 0 && n % MISS_EVERY === 0;
        if (miss) misses++;
        const url = await generate(miss ? 1_000_000 + n : n % 50);
        if (n % 2 === 0) await (await fetch(url)).arrayBuffer();
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, client));
    await sample(end);
  }
  console.log(`# ${GENERATIONS} generations (${misses} misses), workerd pid ${pid}`);
  // The first batch is the warm-up (V8 compiles, the isolates' caches fill): judged from its end.
  const [from, to] = [samples[1], samples[samples.length - 1]];
  const change = (a = 0, b = 0) =>
    `${a.toFixed(1)} → ${b.toFixed(1)} MB (${b >= a ? "+" : ""}${(((b - a) / a) * 100).toFixed(1)} %)`;
  console.log(
    `# from generation ${from.done} to ${to.done}: RSS ${change(from.rss, to.rss)}` +
      (FORCE_GC
        ? `; after a forced GC: RSS ${change(from.rssAfterGc, to.rssAfterGc)}, ` +
          `heap used ${change(from.heapAfterGc, to.heapAfterGc)}`
        : ""),
  );
  if (notReached.length) console.log(`# isolates the GC did not reach: ${notReached.join(" ")}`);
} finally {
  await inspector.close();
  await stack.stop();
}
