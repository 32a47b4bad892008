// Miniflare options for the built Worker: the bindings of wrangler.toml's top-level (local)
// environment, read by wrangler's own config reader so that wrangler.toml stays the one
// place that declares them, and local storage laid out exactly as `wrangler dev` lays it out.
import { readdirSync } from "node:fs";
import { resolve } from "node:path";
import {
  convertV4MiniflareOptions,
  type Json,
  Log,
  LogLevel,
  type MiniflareOptions,
} from "miniflare";
import { unstable_getMiniflareWorkerOptions, unstable_readConfig } from "wrangler";
import { REPO_ROOT } from "../stack.ts";
import { persistencePathOf } from "./persistence.ts";

export interface LocalEdgeOptions {
  /** The built entry module (see build.ts). */
  script: string;
  /** R2, KV and Durable Objects persist under `<stateDir>/wrangler`. */
  stateDir: string;
  /** Overrides of wrangler.toml's vars (as `wrangler dev --var` would). */
  vars?: Record<string, string>;
  /** Port workerd listens on (loopback only); 0 picks a free one. */
  port?: number;
  /** workerd's V8 inspector (loopback only); unset: none (see inspector.ts). */
  inspectorPort?: number;
  verbose?: boolean;
}

export function localEdgeOptions(options: LocalEdgeOptions): MiniflareOptions {
  const config = unstable_readConfig({ config: resolve(REPO_ROOT, "wrangler.toml") });
  // modulesRules only matter to unbundled sources; the build is one ES module (and its WASM).
  const { modulesRules: _unbundledOnly, ...workerOptions } =
    unstable_getMiniflareWorkerOptions(config).workerOptions;
  // wrangler types these options loosely (an index signature hides `bindings`' own type).
  const vars = workerOptions.bindings as Record<string, Json> | undefined;
  return convertV4MiniflareOptions({
    host: "127.0.0.1",
    port: options.port ?? 0,
    inspectorPort: options.inspectorPort,
    // Placeholder Request.cf values: fetching the real ones needs the network.
    cf: false,
    telemetry: { enabled: false },
    log: new Log(options.verbose ? LogLevel.INFO : LogLevel.WARN),
    resourcePersistencePath: persistencePathOf(options.stateDir),
    resourceTmpPath: resolve(options.stateDir, "miniflare-tmp"),
    workers: [
      {
        ...workerOptions,
        name: config.name,
        bindings: { ...vars, ...options.vars },
        modules: [{ type: "ESModule", path: options.script }, ...builtWasmModules(options.script)],
        modulesRoot: resolve(options.script, ".."),
      },
    ],
  });
}

/** The output formats' WASM codecs, which the build writes beside its entry module: every
 * Miniflare that loads the built Worker (the stack, the keys CLI's usage reader) needs them. */
export function builtWasmModules(script: string) {
  return readdirSync(resolve(script, ".."))
    .filter((file) => file.endsWith(".wasm"))
    .map((file) => ({ type: "CompiledWasm" as const, path: resolve(script, "..", file) }));
}
