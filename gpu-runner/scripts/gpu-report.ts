// Last step of the GPU check: merges the JSON each step wrote (a missing or broken one is
// reported as such, never guessed) into one results JSON and the Markdown file committed
// under bench/results/.
//
//   node gpu-report.mjs --parts DIR --json OUT.json --md OUT.md
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    parts: { type: "string" },
    json: { type: "string" },
    md: { type: "string" },
  },
});
if (!values.parts || !values.json || !values.md) {
  throw new Error("usage: gpu-report --parts DIR --json OUT.json --md OUT.md");
}

// biome-ignore lint/suspicious/noExplicitAny: the parts are the steps' own JSON, read as they are
type Json = any;
const parts: Record<string, Json> = {};
for (const file of (await readdir(values.parts)).filter((f) => f.endsWith(".json")).sort()) {
  const text = (await readFile(join(values.parts, file), "utf8")).trim();
  const last = text.split("\n").at(-1) ?? "";
  try {
    parts[file.replace(/\.json$/, "")] = JSON.parse(last);
  } catch {
    parts[file.replace(/\.json$/, "")] = { error: `not JSON: ${text.slice(-500)}` };
  }
}
await writeFile(values.json, `${JSON.stringify(parts, null, 2)}\n`);

const f = (x: unknown, digits = 2) => (typeof x === "number" ? x.toFixed(digits) : "—");
const lines: string[] = [];
const env = parts.env ?? {};
lines.push(
  `# GPU check — ${env.gpu ?? "unknown GPU"} — ${env.date ?? ""}`,
  "",
  "Written by `gpu-runner/scripts/gpu-check.sh` (see gpu-runner/README.md, GPU check).",
  "",
  "| what | value |",
  "|---|---|",
  ...Object.entries(env).map(([k, v]) => `| ${k} | ${String(v).replaceAll("|", "/")} |`),
  "",
);

const check = parts["provider-check"] ?? {};
lines.push("## Providers per stage and parity with the CPU provider", "");
if (parts["provider-check-strict"]) {
  lines.push(
    `**A graph fell back to the CPU under the GPU requirement:** ${parts["provider-check-strict"].error}`,
    "",
    "The figures below were measured with cpu allowed in UNCLIP_PROVIDERS.",
    "",
  );
}
if (check.error) lines.push(`**Failed:** ${check.error}`, "");
else {
  lines.push(
    `Providers: ${JSON.stringify(check.providers)} vs reference ${JSON.stringify(check.reference)}; tolerance ${check.tolerance?.rule} with atol ${check.tolerance?.atol}, rtol ${check.tolerance?.rtol}. Overall: **${check.ok ? "pass" : "FAIL"}**.`,
    "",
    "| stage | nodes per provider | compute nodes on CPU | output@rows: max abs diff / max abs ref |",
    "|---|---|---|---|",
  );
  for (const [stage, outputs] of Object.entries<Json>(check.stages ?? {})) {
    const p = check.placement?.[stage] ?? {};
    const diffs = Object.entries<Json>(outputs)
      .map(
        ([k, c]) =>
          `${k}: ${c.maxAbsDiff.toExponential(1)} / ${f(c.maxAbsRef)}${c.withinTolerance ? "" : " **OUT**"}`,
      )
      .join("; ");
    lines.push(
      `| ${stage} | ${p.nodes ? JSON.stringify(p.nodes) : (p.why ?? "—")} | ${p.cpuCompute?.length ?? "—"} | ${diffs} |`,
    );
  }
  const im = check.images ?? {};
  lines.push(
    "",
    `Whole images (${im.count} requests, ${im.native} px, default steps, same seeds): mean |Δ| ${f(im.meanAbsDiff255, 3)}, max |Δ| ${f(im.maxAbsDiff255, 1)} (0–255 levels).`,
    "",
  );
}

function benchTable(title: string, bench: Json) {
  lines.push(`## ${title}`, "");
  if (!bench || bench.error || !bench.levels) {
    lines.push(`**Failed or skipped:** ${bench?.error ?? "no result"}`, "");
    return;
  }
  lines.push(
    `${bench.bundle}, ${bench.size}, steps prior/decoder/upsampler ${bench.steps.prior}/${bench.steps.decoder}/${bench.steps.upsampler}.`,
    "",
    "| concurrent | images | img/s | ×one | p50 ms | p99 ms | rows/call prior · decoder · upsampler | net ms/img decoder |",
    "|---:|---:|---:|---:|---:|---:|---|---:|",
  );
  for (const l of bench.levels) {
    const s = l.perStage ?? {};
    lines.push(
      `| ${l.concurrency} | ${l.images} | ${f(l.imagesPerS)} | ${f(bench.speedupOverOne?.[l.concurrency])} | ${f(l.p50Ms, 0)} | ${f(l.p99Ms, 0)} | ${f(s.prior?.rowsPerCall, 1)} · ${f(s.decoder?.rowsPerCall, 1)} · ${f(s.upsampler_0?.rowsPerCall, 1)} | ${f(s.decoder?.msPerImage, 1)} |`,
    );
  }
  lines.push("");
}

benchTable("Runner over HTTP (continuous batching, runner defaults)", parts["http-bench"]);
for (const key of Object.keys(parts).filter((k) => k.startsWith("sweep-"))) {
  benchTable(`Runner over HTTP, ${key.replace("sweep-", "")}`, parts[key]);
}

const torch = parts.torch ?? {};
lines.push("## PyTorch eager, same GPU, same sampler and steps", "");
if (!torch.scenarios) lines.push(`**Failed or skipped:** ${torch.error ?? "no result"}`, "");
else {
  lines.push(
    `torch ${torch.torch} on ${torch.device}; networks: ${torch.network} (parameters, bundle / PyTorch: ${torch.generation_parameters?.onnx} / ${torch.generation_parameters?.torch}); weights: ${torch.weights}.`,
    "",
    "| static batch | images | img/s | ms/img text+prior · decoder · upsampler |",
    "|---:|---:|---:|---|",
    ...torch.scenarios.map(
      (s: Json) =>
        `| ${s.batch} | ${s.images} | ${f(s.images_per_s)} | ${f(s.stage_ms_per_image["text_encoder+prior"], 1)} · ${f(s.stage_ms_per_image.decoder, 1)} · ${f(s.stage_ms_per_image.upsampler, 1)} |`,
    ),
    "",
  );
  const runner = parts["http-bench"]?.levels ?? [];
  const ratios = torch.scenarios
    .map((s: Json) => {
      const r = runner.find((l: Json) => l.concurrency === s.batch);
      return r ? `${s.batch}: ${f(r.imagesPerS / s.images_per_s)}×` : null;
    })
    .filter(Boolean);
  lines.push(`Runner (N concurrent) / PyTorch (static batch N): ${ratios.join(", ") || "—"}.`, "");
}

const mem = parts.memory ?? {};
lines.push(
  "## GPU memory",
  "",
  `Idle before: ${mem.idleMiB ?? "—"} MiB; runner ready: ${mem.readyMiB ?? "—"} MiB; peak during the benchmark: ${mem.peakMiB ?? "—"} MiB (nvidia-smi memory.used).`,
  "",
);

const webgpu = parts.webgpu ?? {};
lines.push(
  "## WebGPU provider",
  "",
  webgpu.ok !== undefined
    ? `Loaded; parity ${webgpu.ok ? "pass" : "FAIL"}; whole images mean |Δ| ${f(webgpu.images?.meanAbsDiff255, 3)}; placement ${JSON.stringify(Object.values(webgpu.placement ?? {}).map((p: Json) => p.nodes))}.`
    : `Did not run: ${String(webgpu.error ?? "no result").slice(0, 600)}`,
  "",
);
await writeFile(values.md, `${lines.join("\n")}\n`);
console.log(`wrote ${values.json} and ${values.md}`);
