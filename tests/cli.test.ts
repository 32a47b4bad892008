// `npm run generate` (gpu-runner/src/cli.ts), the command a user runs: a real process on the tiny
// bundle, writing PNG files, and refusing bad flags with the field and the reason instead of
// running a job that cannot end (a NaN step count spun until the hour-long job timeout).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../scripts/stack.ts";
import { isPng } from "./support.ts";

/**
 * The command `npm run generate` runs (package.json), started directly: a timeout then kills the
 * CLI itself, where through npm it would kill npm and leave a spinning CLI behind.
 */
function generate(...args: string[]) {
  const out = mkdtempSync(join(tmpdir(), "unclip-cli-"));
  const run = spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      "gpu-runner/src/cli.ts",
      ...args,
      "--model",
      "models/tiny-test",
      "--out",
      out,
    ],
    { cwd: REPO_ROOT, encoding: "utf8", timeout: 60_000 },
  );
  return {
    status: run.status,
    stdout: run.stdout,
    stderr: run.stderr,
    files: readdirSync(out),
    out,
  };
}

describe("npm run generate", () => {
  it("writes one PNG per image, named by prompt, seed and index", () => {
    const run = generate("a red circle", "--n", "2", "--seed", "7", "--steps", "2");
    expect(run.status).toBe(0);
    expect(run.files.sort()).toEqual(["a-red-circle-7-0.png", "a-red-circle-7-1.png"]);
    for (const file of run.files) expect(isPng(readFileSync(join(run.out, file)))).toBe(true);
    expect(run.stdout).toContain("2 image(s) from tiny-test");
  });

  it.each([
    [["--steps", "abc"], "Invalid 'decoder_steps'"],
    [["--steps", "0"], "Invalid 'decoder_steps'"],
    [["--n", "0"], "Invalid 'n'"],
    [["--prior-guidance=-1"], "Invalid 'prior_guidance_scale'"],
  ])("refuses %j with the field's error, at once and without files", (flags, error) => {
    const run = generate("a red circle", ...flags);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(error);
    expect(run.files).toEqual([]);
  });
});
