// One shared stack (1 runner + the Worker) for the cross-part tests that don't kill
// processes; fault tests start stacks of their own inside the same state folder.
//
// `wrangler dev` bundles with esbuild in watch mode, and esbuild watches the listing of every
// directory it resolved through (the repo root and its parents, /tmp in a clone under /tmp).
// A folder appearing there mid-run triggered a rebuild that deadlocked esbuild and took the
// Worker down. So everything the run creates goes below .state/e2e (made before any stack
// starts): state folders, TMPDIR for every process (Chromium's profile, mkdtemp), artifacts.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import type { TestProject } from "vitest/node";
import { REPO_ROOT, type Stack, startStack } from "../scripts/stack.ts";

let stack: Stack | undefined;
let runDir: string | undefined;

export async function setup(project: TestProject) {
  for (const dir of [".wrangler/tmp", "test-artifacts", ".state/e2e"]) {
    mkdirSync(resolve(REPO_ROOT, dir), { recursive: true });
  }
  runDir = mkdtempSync(resolve(REPO_ROOT, ".state/e2e/run-"));
  const tmp = resolve(runDir, "tmp");
  mkdirSync(tmp);
  process.env.TMPDIR = tmp;
  stack = await startStack({
    runners: 1,
    bundle: "models/tiny-test",
    stateDir: resolve(runDir, "shared"),
  });
  project.provide("edgeUrl", stack.edgeUrl);
  project.provide("runnerUrl", stack.runners[0].url);
  project.provide("stateDir", runDir);
}

export async function teardown() {
  await stack?.stop();
  if (runDir) rmSync(runDir, { recursive: true, force: true });
}

declare module "vitest" {
  export interface ProvidedContext {
    edgeUrl: string;
    runnerUrl: string;
    /** Where a test may create state folders (see above). */
    stateDir: string;
  }
}
