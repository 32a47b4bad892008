// The runner's configuration: environment variables parsed once at start by one zod schema;
// the process refuses to start with a message naming every invalid variable.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { RunnerError } from "./errors.ts";

/**
 * The bundle used when UNCLIP_BUNDLE is unset: the shipped emoji bundle (largest preset first)
 * once training has produced one, else the tiny test bundle. Paths are relative to the repo root.
 */
export function defaultBundleDir(modelsDir = "models"): string {
  const names = existsSync(modelsDir) ? readdirSync(modelsDir) : [];
  const emoji = names
    .filter((n) => n.startsWith("emoji-") && existsSync(join(modelsDir, n, "manifest.json")))
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  return join(modelsDir, emoji[0] ?? "tiny-test");
}

const rank = (name: string) => {
  const i = ["emoji-gpu", "emoji-cpu", "emoji-tiny"].indexOf(name);
  return i === -1 ? 99 : i;
};

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const PROVIDERS = ["cuda", "webgpu", "cpu"] as const;
export type ExecutionProvider = (typeof PROVIDERS)[number];

/**
 * A provider list without `cpu` says the GPU is required: no graph may fall back to the CPU
 * (a provider that fails to load is an error, and every session's placement is checked).
 * `cuda,cpu` keeps the old lenient behaviour: drop a provider that fails, run on what loads.
 */
export const gpuRequired = (providers: readonly ExecutionProvider[]): boolean =>
  !providers.includes("cpu");

const envSchema = z
  .object({
    NODE_ENV: z.string().optional(),
    UNCLIP_PORT: int(1, 65_535).default(8790),
    UNCLIP_HOST: z.string().min(1).default("0.0.0.0"),
    /** Bundle directory; default: `defaultBundleDir()`. */
    UNCLIP_BUNDLE: z.string().min(1).optional(),
    /** Execution providers in priority order, e.g. "cuda,cpu"; without cpu the GPU is required. */
    UNCLIP_PROVIDERS: z
      .string()
      .default("cpu")
      .transform((s) => s.split(",").map((p) => p.trim().toLowerCase()))
      .pipe(z.array(z.enum(PROVIDERS)).min(1)),
    /** onnxruntime intra-op threads; 0 lets onnxruntime pick (all cores). */
    UNCLIP_INTRA_OP_THREADS: int(0, 1024).default(0),
    UNCLIP_SMALL_GRAPH_THREADS: int(0, 1024).default(1),
    /** Rows per network call (a guided sample counts twice: conditional + unconditional). */
    UNCLIP_MAX_BATCH: int(1, 4096).default(16),
    /** Images held at once (waiting + running); a job that does not fit gets 503. */
    UNCLIP_MAX_QUEUE: int(1, 100_000).default(64),
    UNCLIP_POOL_SECRET: z.string().min(8, "must be at least 8 characters").optional(),
    /** During a rotation: the secret being replaced, still accepted (infra/DEPLOY.md). */
    UNCLIP_POOL_SECRET_PREVIOUS: z.string().min(8, "must be at least 8 characters").optional(),
    /** Longest a job may take from arrival; the edge's `deadline` can only shorten it. */
    UNCLIP_JOB_TIMEOUT_MS: int(100, 3_600_000).default(120_000),
    /** On SIGTERM, how long to finish held work before exiting anyway. */
    UNCLIP_DRAIN_TIMEOUT_MS: int(0, 3_600_000).default(60_000),
    /** DDIM η for all stages: 0 deterministic DDIM, 1 ancestral. */
    UNCLIP_DDIM_ETA: z.coerce.number().min(0).max(1).default(0),
  })
  .superRefine((env, ctx) => {
    if (env.UNCLIP_POOL_SECRET === undefined && env.NODE_ENV === "production") {
      ctx.addIssue({
        code: "custom",
        path: ["UNCLIP_POOL_SECRET"],
        message: "is required when NODE_ENV=production",
      });
    }
    if (env.UNCLIP_POOL_SECRET_PREVIOUS !== undefined && env.UNCLIP_POOL_SECRET === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["UNCLIP_POOL_SECRET_PREVIOUS"],
        message: "needs UNCLIP_POOL_SECRET (the secret that replaces it)",
      });
    }
  });

export interface RunnerConfig {
  port: number;
  host: string;
  bundleDir: string;
  providers: ExecutionProvider[];
  intraOpThreads: number;
  smallGraphThreads: number;
  maxBatch: number;
  maxQueue: number;
  /** HMAC secrets accepted on requests: the current one, then the previous one if rotating. */
  poolSecrets: string[];
  jobTimeoutMs: number;
  drainTimeoutMs: number;
  ddimEta: number;
}

/** Local runs only: production refuses to start without UNCLIP_POOL_SECRET. */
export const DEV_POOL_SECRET = "dev-pool-secret";

export function parseConfig(env: Record<string, string | undefined>): RunnerConfig {
  // Empty strings count as unset, so `UNCLIP_PORT= npm start` keeps the default.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ""));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new RunnerError("bad_config", `invalid configuration:\n${lines.join("\n")}`);
  }
  const e = parsed.data;
  return {
    port: e.UNCLIP_PORT,
    host: e.UNCLIP_HOST,
    bundleDir: e.UNCLIP_BUNDLE ?? defaultBundleDir(),
    providers: e.UNCLIP_PROVIDERS,
    intraOpThreads: e.UNCLIP_INTRA_OP_THREADS,
    smallGraphThreads: e.UNCLIP_SMALL_GRAPH_THREADS,
    maxBatch: e.UNCLIP_MAX_BATCH,
    maxQueue: e.UNCLIP_MAX_QUEUE,
    poolSecrets: [
      e.UNCLIP_POOL_SECRET ?? DEV_POOL_SECRET,
      ...(e.UNCLIP_POOL_SECRET_PREVIOUS === undefined ? [] : [e.UNCLIP_POOL_SECRET_PREVIOUS]),
    ],
    jobTimeoutMs: e.UNCLIP_JOB_TIMEOUT_MS,
    drainTimeoutMs: e.UNCLIP_DRAIN_TIMEOUT_MS,
    ddimEta: e.UNCLIP_DDIM_ETA,
  };
}
