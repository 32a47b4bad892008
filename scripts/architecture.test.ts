// The design lives in the repository: docs/ARCHITECTURE.md holds the four contracts, and every
// file that cites one points there, never to a design file outside the clone.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const architecture = readFileSync(join(root, "docs/ARCHITECTURE.md"), "utf8");

/** Tracked text files (the lockfile and binaries left out). */
function trackedTextFiles(): string[] {
  return execFileSync("git", ["ls-files", "-z"], { cwd: root, encoding: "utf8" })
    .split("\0")
    .filter((file) => /\.(ts|js|mjs|py|sh|md|json|toml|yaml|txt)$/.test(file))
    .filter((file) => file !== "package-lock.json" && !file.startsWith("models/"));
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, "")
    .replace(/ /g, "-");
}

describe("docs/ARCHITECTURE.md", () => {
  const headings = [...architecture.matchAll(/^## (.+)$/gm)].map((m) => m[1]);

  it("states the four contracts, a request's path and the decisions", () => {
    expect(headings.filter((h) => /^Contract [1-4]: /.test(h))).toHaveLength(4);
    expect(headings).toEqual(
      expect.arrayContaining(["The parts", "How a request flows", "Decisions and why"]),
    );
  });

  it("is what every file citing a contract points to, and no file points outside the clone", () => {
    const files = trackedTextFiles().filter((file) => file !== "docs/ARCHITECTURE.md");
    for (const file of files) {
      const text = readFileSync(join(root, file), "utf8");
      expect(text, file).not.toMatch(/\.\.\/shared\/DESIGN|shared\/DESIGN\.md/);
      if (/Contract [1-4]\b/.test(text)) expect(text, file).toContain("ARCHITECTURE.md");
    }
  });

  it("has every heading that a link into it names", () => {
    const anchors = new Set(headings.map(anchorOf));
    for (const file of trackedTextFiles().filter((f) => f.endsWith(".md"))) {
      const text = readFileSync(join(root, file), "utf8");
      for (const [, anchor] of text.matchAll(/ARCHITECTURE\.md#([\w-]+)/g)) {
        expect(anchors, `${file} links #${anchor}`).toContain(anchor);
      }
    }
  });
});
