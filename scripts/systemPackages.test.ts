// The first step of `npm test` (scripts/system-packages.sh) against the real dpkg database, and
// the promise that CI runs the README's own commands.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const script = join(root, "scripts/system-packages.sh");
const hasDpkg = spawnSync("dpkg-query", ["--version"]).status === 0;

/** Runs the script on a list as an ordinary user: root's answer (installing) is not testable here. */
function runAsUser(list: string) {
  const dir = mkdtempSync(join(tmpdir(), "system-packages-"));
  const file = join(dir, "list.txt");
  writeFileSync(file, list);
  chmodSync(dir, 0o755);
  const asRoot = process.getuid?.() === 0;
  const [cmd, args] = asRoot
    ? ["setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "bash", script, file]]
    : ["bash", [script, file]];
  return spawnSync(cmd, args as string[], { encoding: "utf8" });
}

/** The shell commands of the first ```sh block after a README heading, comments dropped. */
function readmeCommands(heading: string): string[] {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf(`## ${heading}\n`));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? "";
  return block
    .split("\n")
    .map((line) => line.replace(/#.*/, "").trim())
    .filter(Boolean);
}

describe.runIf(hasDpkg)("scripts/system-packages.sh", () => {
  it("fails when it cannot read its list, rather than passing with no packages", () => {
    const run = spawnSync("bash", [script, "/nonexistent/list.txt"], { encoding: "utf8" });
    expect(run.status).not.toBe(0);
  });

  it("says nothing and succeeds when every listed package is installed", () => {
    const run = runAsUser("# essential packages\nbash\ncoreutils   # comment\n\n");
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
  });

  it("as an ordinary user, prints one sudo apt-get line naming only what is missing, and stops", () => {
    const run = runAsUser("bash\nunclip-no-such-package-a\ncoreutils\nunclip-no-such-package-b\n");
    expect(run.status).toBe(1);
    const lines = run.stderr.split("\n").filter((line) => line.includes("apt-get"));
    expect(lines).toEqual([
      "  sudo apt-get install -y --no-install-recommends unclip-no-such-package-a unclip-no-such-package-b",
    ]);
  });
});

describe("the one list of Debian packages", () => {
  const list = readFileSync(join(root, "scripts/system-packages.txt"), "utf8")
    .split("\n")
    .map((line) => line.replace(/#.*/, "").trim())
    .filter(Boolean);

  it("names Debian packages, each once, including the BLAS, the browser and promtool", () => {
    for (const name of list) expect(name).toMatch(/^[a-z0-9][a-z0-9+.-]+$/);
    expect(new Set(list).size).toBe(list.length);
    expect(list).toEqual(
      expect.arrayContaining(["python3-torch", "libopenblas0-pthread", "chromium", "prometheus"]),
    );
  });

  it("is what `npm test` installs first", () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    expect(pkg.scripts.test).toMatch(/^npm run system-packages && /);
    expect(pkg.scripts["system-packages"]).toBe("bash scripts/system-packages.sh");
  });
});

describe("CI", () => {
  it("runs exactly the README's set-up and test commands, in the README's order", () => {
    const readme = readmeCommands("Set-up");
    const ci = readFileSync(join(root, ".ci/run"), "utf8")
      .split("\n")
      .map((line) => line.replace(/#.*/, "").trim())
      .filter((line) => line && !/^(set |cd |export )/.test(line));
    expect(ci).toEqual(["npm install", "npm test"]);
    expect(readme.filter((command) => ci.includes(command))).toEqual(ci);
  });
});
