// The V8 flags of the local edge's workerd (`npm start`, the e2e stack, the soak).
// Every request through local workerd leaves garbage in several isolates (Miniflare's entry
// Worker, the Worker, the local R2/KV/Durable Object services): Request/Response objects whose
// C++ side V8 cannot see, so their small JS heaps never ask for a full GC and the process grows
// by hundreds of MB before V8 collects (workerd issues 6824 and 6894). `--gc-global` makes each
// young-generation GC a full one; the isolates' live heaps are a few MB, so it costs little.
// Measured (scripts/edge-soak.ts, cache hits + image GETs): without it workerd's RSS went
// 221 → 471 MB from generation 1,000 to 6,000; with it 141 → 144 MB. A trivial Worker grows the
// same way without it, so this is local workerd, not our code; production Workers are bounded
// by their per-isolate limits and eviction instead. (With flags that differ from its build,
// workerd says at start that its compile cache failed a compatibility check: it compiles the
// runtime's own scripts from source, a startup cost only.)
export const LOCAL_WORKERD_V8_FLAGS = ["--gc-global"];

/**
 * The flags Miniflare passes to workerd: MINIFLARE_WORKERD_V8_FLAGS (space-separated) when it
 * is set, even empty (none, to compare), else LOCAL_WORKERD_V8_FLAGS.
 */
export function localWorkerdV8Flags(env: NodeJS.ProcessEnv = process.env): string[] {
  const given = env.MINIFLARE_WORKERD_V8_FLAGS;
  return given === undefined ? LOCAL_WORKERD_V8_FLAGS : given.split(" ").filter(Boolean);
}
