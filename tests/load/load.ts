// Closed-loop load against the local stack: N clients for T seconds, each sending its next
// request when the last one answered. Loopback only, bounded in time and count.
import { LOCAL_API_KEY } from "../../scripts/stack.ts";

export type LoadPath = "hit" | "miss";

export interface LoadOptions {
  edgeUrl: string;
  path: LoadPath;
  clients: number;
  seconds: number;
  /** Hard cap on requests, whatever the time. */
  maxRequests?: number;
  prompt?: string;
  steps?: number;
}

export interface LoadResult {
  path: LoadPath;
  clients: number;
  seconds: number;
  requests: number;
  throughputPerS: number;
  p50Ms: number;
  p99Ms: number;
  byStatus: Record<string, number>;
}

export function assertLoopback(url: string): void {
  const host = new URL(url).hostname;
  if (!(host === "localhost" || host === "[::1]" || /^127\./.test(host))) {
    throw new Error(`load tests only target this machine (loopback); refusing ${host}`);
  }
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

async function generate(edgeUrl: string, body: object): Promise<number> {
  const res = await fetch(`${edgeUrl}/v1/images/generations`, {
    method: "POST",
    headers: { authorization: `Bearer ${LOCAL_API_KEY}`, "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(120_000),
  });
  await res.arrayBuffer();
  return res.status;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  assertLoopback(options.edgeUrl);
  const prompt = options.prompt ?? "a red circle on a blue background";
  const steps = options.steps;
  const fixedSeed = 424242;
  if (options.path === "hit") {
    const status = await generate(options.edgeUrl, { prompt, seed: fixedSeed, steps }); // fill the cache
    if (status !== 200) throw new Error(`could not fill the cache: ${status}`);
  }
  const maxRequests = options.maxRequests ?? 100_000;
  const latencies: number[] = [];
  const byStatus: Record<string, number> = {};
  let sent = 0;
  let seedCounter = Math.floor(Math.random() * 1e9);
  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  const client = async () => {
    while (performance.now() < deadline && sent < maxRequests) {
      sent++;
      const seed = options.path === "hit" ? fixedSeed : seedCounter++;
      const t0 = performance.now();
      let status: number;
      try {
        status = await generate(options.edgeUrl, { prompt, seed, steps });
      } catch {
        status = 0;
      }
      latencies.push(performance.now() - t0);
      byStatus[status] = (byStatus[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: options.clients }, client));
  const elapsedS = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    path: options.path,
    clients: options.clients,
    seconds: elapsedS,
    requests: latencies.length,
    throughputPerS: latencies.length / elapsedS,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    byStatus,
  };
}

export function formatLoad(r: LoadResult): string {
  const statuses = Object.entries(r.byStatus)
    .map(([s, n]) => `${s}×${n}`)
    .join(" ");
  return `${r.path.padEnd(4)} clients=${r.clients} requests=${r.requests} in ${r.seconds.toFixed(1)} s  ${r.throughputPerS.toFixed(1)} req/s  p50 ${r.p50Ms.toFixed(1)} ms  p99 ${r.p99Ms.toFixed(1)} ms  status ${statuses}`;
}
