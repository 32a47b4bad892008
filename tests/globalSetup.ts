// One shared stack (1 runner + the edge) for the cross-part tests that don't kill processes;
// fault tests start stacks of their own inside the same run folder.
//
// Everything a run creates lives below .state/e2e/run-* (state folders, TMPDIR for every
// process: Chromium's profile, mkdtemp) and goes with it at teardown.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import type { TestProject } from "vitest/node";
import { REPO_ROOT, type Stack, startStack } from "../scripts/stack.ts";

let stack: Stack | undefined;
let runDir: string | undefined;

export async function setup(project: TestProject) {
  for (const dir of ["test-artifacts", ".state/e2e"]) {
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
    logDir: resolve(runDir, "logs"),
  });
  project.provide("edgeUrl", stack.edgeUrl);
  project.provide("runnerUrl", stack.runners[0].url);
  project.provide("stateDir", runDir);
  project.provide("logDir", resolve(runDir, "logs"));
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
    /** The shared stack's output, one file per process (edge.log, runner-1.log). */
    logDir: string;
  }
}
