// The GPU image, read statically (no container engine here): it ships what the GPU check runs.
// Providers `cuda` alone, the onnxruntime and CUDA versions of gpu-versions.env (named nowhere
// else), compiled JavaScript, one bundle.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const root = fileURLToPath(new URL("../..", import.meta.url));
const read = (path: string) => readFileSync(join(root, path), "utf8");

/** KEY=VALUE lines of a shell env file. */
function parseEnvFile(text: string): Record<string, string> {
  const entries = text
    .split("\n")
    .filter((line) => /^[A-Z_]+=/.test(line))
    .map((line) => line.split("=", 2) as [string, string]);
  return Object.fromEntries(entries);
}

interface Instruction {
  op: string;
  args: string;
}

/** Dockerfile instructions per stage (continuation lines joined, comments dropped). */
function parseStages(text: string): Instruction[][] {
  const logical = text
    .split("\n")
    .filter((line) => !/^\s*#/.test(line))
    .join("\n")
    .replace(/\\\n/g, " ")
    .split("\n")
    .filter((line) => line.trim());
  const stages: Instruction[][] = [];
  for (const line of logical) {
    const [, op, args] = /^\s*(\w+)\s+(.*)$/.exec(line) ?? [];
    if (!op) continue;
    if (op.toUpperCase() === "FROM") stages.push([]);
    stages.at(-1)?.push({ op: op.toUpperCase(), args: args.trim() });
  }
  return stages;
}

const versions = parseEnvFile(read("gpu-runner/gpu-versions.env"));
const dockerfile = read("gpu-runner/Dockerfile");
const stages = parseStages(dockerfile);
const final = stages.at(-1) ?? [];
const finalEnv = Object.fromEntries(
  final
    .filter((i) => i.op === "ENV")
    .flatMap((i) => [...i.args.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]])),
);

describe("gpu-runner/gpu-versions.env", () => {
  it("names onnxruntime, its CUDA provider and the CUDA major version", () => {
    expect(versions.ORT_VERSION).toMatch(/^\d+\.\d+\.\d+$/);
    expect(versions.CUDA_PROVIDER_PACKAGE).toMatch(/^[\w.-]+$/);
    expect(versions.CUDA_PROVIDER_VERSION).toMatch(/^\d+\.\d+\.\d+$/);
    expect(versions.CUDA_MAJOR).toMatch(/^\d+$/);
  });

  it("is the onnxruntime-node the CPU path installs (package.json and lockfile)", () => {
    const pkg = JSON.parse(read("gpu-runner/package.json"));
    expect(pkg.dependencies["onnxruntime-node"]).toBe(versions.ORT_VERSION);
    const lock = JSON.parse(read("package-lock.json"));
    expect(lock.packages["node_modules/onnxruntime-node"].version).toBe(versions.ORT_VERSION);
  });

  it("is the one place both the image and the GPU check take the versions from", () => {
    const pack = read("gpu-runner/scripts/gpu-pack.sh");
    for (const text of [dockerfile, pack]) {
      expect(text).toContain("gpu-versions.env");
      expect(text).not.toContain(versions.ORT_VERSION);
      expect(text).not.toContain(`${versions.CUDA_PROVIDER_PACKAGE}@`);
      expect(text).not.toMatch(/onnxruntime-node-install|cuda12/);
    }
  });
});

describe("gpu-runner/Dockerfile", () => {
  it("requires the GPU: UNCLIP_PROVIDERS is cuda alone, with no cpu fallback anywhere", () => {
    expect(finalEnv.UNCLIP_PROVIDERS).toBe("cuda");
    expect(dockerfile).not.toMatch(/UNCLIP_PROVIDERS=\S*cpu/);
  });

  it("runs on the CUDA major version the provider was built for, with cuDNN, and checks it", () => {
    const from = final[0]?.args ?? "";
    const [, major] = /^nvidia\/cuda:(\d+)\.\d+\.\d+-cudnn-runtime-/.exec(from) ?? [];
    expect(major, from).toBe(versions.CUDA_MAJOR);
    const checks = final.filter((i) => i.op === "RUN").map((i) => i.args);
    expect(checks.join("\n")).toMatch(/CUDA_VERSION%%\.\*.*CUDA_MAJOR/);
  });

  it("installs the CUDA provider named in gpu-versions.env beside the checked onnxruntime-node", () => {
    const build = stages[0].filter((i) => i.op === "RUN").map((i) => i.args);
    const provider = build.find((run) => run.includes("npm pack"));
    expect(provider).toContain(". gpu-runner/gpu-versions.env");
    expect(provider).toContain('"$CUDA_PROVIDER_PACKAGE@$CUDA_PROVIDER_VERSION"');
    expect(provider).toMatch(/"\$installed" = "\$ORT_VERSION"/);
    expect(provider).toContain("libonnxruntime_providers_cuda.so");
  });

  it("runs compiled JavaScript, built as the GPU check builds it, with no tsx", () => {
    const cmd = final.find((i) => i.op === "CMD")?.args;
    expect(cmd && JSON.parse(cmd)).toEqual(["node", "runner.mjs"]);
    expect(dockerfile).not.toContain("tsx");
    expect(dockerfile).toContain(
      "gpu-runner/scripts/bundle-js.sh dist gpu-runner/src/main.ts:runner",
    );
    expect(read("gpu-runner/scripts/gpu-pack.sh")).toContain("gpu-runner/scripts/bundle-js.sh");
  });

  it("copies only the served bundle into the image, never models/ whole", () => {
    const copies = final.filter((i) => i.op === "COPY").map((i) => i.args);
    expect(copies.some((args) => /\bmodels\b/.test(args))).toBe(false);
    expect(copies).toContain("--from=build /src/bundle bundle");
    expect(finalEnv.UNCLIP_BUNDLE).toBe("/app/bundle");
    const buildCopies = stages[0].filter((i) => i.op === "COPY").map((i) => i.args);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the Dockerfile's own ${BUNDLE}
    expect(buildCopies).toContain("${BUNDLE} bundle-src/");
  });
});

describe("gpu-runner/scripts/gpu-check.sh", () => {
  it("checks the CUDA provider alone by default, as the image runs it", () => {
    expect(read("gpu-runner/scripts/gpu-check.sh")).toContain(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell default, not a template
      "PROVIDERS=${GPU_CHECK_PROVIDERS:-cuda}",
    );
  });
});

describe("infra/k8s/deployment.yaml", () => {
  it("keeps the image's CUDA-only providers and its one bundle", () => {
    const deployment = parse(read("infra/k8s/deployment.yaml"));
    const [container] = deployment.spec.template.spec.containers;
    const env = Object.fromEntries(
      (container.env as { name: string; value?: string }[]).map((e) => [e.name, e.value]),
    );
    expect(env.UNCLIP_PROVIDERS ?? finalEnv.UNCLIP_PROVIDERS).toBe("cuda");
    expect(env.UNCLIP_BUNDLE ?? finalEnv.UNCLIP_BUNDLE).toBe(finalEnv.UNCLIP_BUNDLE);
  });
});
