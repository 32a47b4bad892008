// Builds the Worker once, exactly as `wrangler deploy` would upload it, for the local stack.
// A one-shot build has no file watcher: `wrangler dev`'s esbuild watcher rebuilt whenever a
// folder appeared in the repository or /tmp and once deadlocked mid-test.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { REPO_ROOT } from "../stack.ts";

/** Environment for every wrangler command the stack runs: offline, quiet, no telemetry. */
export const WRANGLER_ENV = {
  WRANGLER_SEND_METRICS: "false",
  WRANGLER_DISABLE_UPDATE_CHECK: "true",
  NO_UPDATE_NOTIFIER: "1",
};

/** A tsconfig extending edge/tsconfig.json whose `paths` point the Worker at `bundle`. */
export function edgeTsconfigFor(bundle: string, stateDir: string): string {
  const file = resolve(stateDir, "edge-bundle.tsconfig.json");
  const tsconfig = {
    extends: resolve(REPO_ROOT, "edge/tsconfig.json"),
    compilerOptions: { paths: { "unclip-bundle/*": [`${resolve(bundle)}/*`] } },
  };
  writeFileSync(file, `${JSON.stringify(tsconfig, null, 2)}\n`);
  return file;
}

/**
 * Bundles the top-level (local) environment of wrangler.toml for `bundle` into
 * `<stateDir>/edge-build` and returns the path of the Worker's entry module. Edge and runners
 * must serve the same bundle: the Worker imports its manifest and tokenizer as
 * `unclip-bundle/*`, mapped by tsconfig paths (see wrangler.toml).
 */
export function buildWorker(bundle: string, stateDir: string): string {
  const outdir = resolve(stateDir, "edge-build");
  const build = spawnSync(
    resolve(REPO_ROOT, "node_modules/.bin/wrangler"),
    [
      "deploy",
      "--dry-run",
      "--config",
      "wrangler.toml",
      "--env",
      "",
      "--tsconfig",
      edgeTsconfigFor(bundle, stateDir),
      "--outdir",
      outdir,
    ],
    { cwd: REPO_ROOT, env: { ...process.env, ...WRANGLER_ENV }, encoding: "utf8" },
  );
  if (build.status !== 0) {
    throw new Error(`building the Worker failed:\n${build.stdout}\n${build.stderr}`);
  }
  return resolve(outdir, "index.js");
}
