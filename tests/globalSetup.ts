// One shared stack (1 runner + the Worker) for the cross-part tests that don't kill
// processes; fault tests start stacks of their own.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { type Stack, startStack } from "../scripts/stack.ts";

let stack: Stack | undefined;
let stateDir: string | undefined;

export async function setup(project: TestProject) {
  stateDir = mkdtempSync(join(tmpdir(), "unclip-e2e-"));
  stack = await startStack({ runners: 1, bundle: "models/tiny-test", stateDir });
  project.provide("edgeUrl", stack.edgeUrl);
  project.provide("runnerUrl", stack.runners[0].url);
  project.provide("stateDir", stateDir);
}

export async function teardown() {
  await stack?.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
}

declare module "vitest" {
  export interface ProvidedContext {
    edgeUrl: string;
    runnerUrl: string;
    stateDir: string;
  }
}
