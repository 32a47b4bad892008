// The table of a sampling sweep (sweep_defaults.sh): every cell against the manifest's defaults,
// paired by prompt (every cell used the same prompts and seeds, so the per-prompt difference
// removes most of the prompt-to-prompt spread a plain comparison of two R@1 figures carries).
//   npx tsx training/eval/sweepTable.ts <sweep dir> <bundle dir>   -> <sweep dir>/table.md
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface Cell {
  prompts: number;
  images_per_prompt: number;
  steps: { prior: number; decoder: number };
  guidance: { prior: number; decoder: number };
  judge_ceiling: number;
  judge_r_precision_at_1: number;
  judge_diversity_cosine: number;
  r_precision_at_1: number;
  generation_seconds: number;
  per_prompt: { prompt: string; judge: number }[];
}

/** Mean per-prompt difference in judge hits of `cell` over `base`, and its 95 % half-width. */
export function pairedDifference(cell: Cell, base: Cell): { mean: number; halfWidth: number } {
  const d = cell.per_prompt.map((p, k) => {
    if (base.per_prompt[k]?.prompt !== p.prompt)
      throw new Error(`prompt ${k} differs between cells`);
    return p.judge - base.per_prompt[k].judge;
  });
  const mean = d.reduce((s, x) => s + x, 0) / d.length;
  const variance = d.reduce((s, x) => s + (x - mean) ** 2, 0) / (d.length - 1);
  return { mean, halfWidth: (1.96 * Math.sqrt(variance)) / Math.sqrt(d.length) };
}

function main() {
  const [dir, bundle] = process.argv.slice(2);
  if (!dir || !bundle) throw new Error("usage: sweepTable.ts <sweep dir> <bundle dir>");
  const { stages } = JSON.parse(readFileSync(join(bundle, "manifest.json"), "utf8"));
  const cells: Cell[] = readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")));
  const base = cells.find(
    (c) =>
      c.steps.prior === stages.prior.default_steps &&
      c.steps.decoder === stages.decoder.default_steps &&
      c.guidance.prior === stages.prior.default_guidance &&
      c.guidance.decoder === stages.decoder.default_guidance,
  );
  const versus = (c: Cell) => {
    if (!base || c === base) return "";
    const { mean, halfWidth } = pairedDifference(c, base);
    return `${mean >= 0 ? "+" : "−"}${Math.abs(mean).toFixed(3)} ± ${halfWidth.toFixed(3)}`;
  };
  cells.sort((a, b) => b.judge_r_precision_at_1 - a.judge_r_precision_at_1);
  const f3 = (x: number) => x.toFixed(3);
  const rows = cells.map(
    (c) =>
      `| ${c.steps.prior} | ${c.steps.decoder} | ${c.guidance.prior} | ${c.guidance.decoder} | ` +
      `${f3(c.judge_r_precision_at_1)}${c === base ? " (defaults)" : ""} | ${versus(c)} | ` +
      `${f3(c.judge_diversity_cosine)} | ${f3(c.r_precision_at_1)} | ${c.generation_seconds} |`,
  );
  const c0 = cells[0];
  const text = [
    `${c0.prompts} prompts × ${c0.images_per_prompt} images per cell, the same seeds in every cell; ` +
      `judge ceiling ${c0.judge_ceiling}; diversity: mean pairwise judge cosine within a prompt ` +
      "(lower: more varied); seconds: generation wall time (machine load varies between cells).",
    "",
    "| prior steps | decoder steps | prior guidance | decoder guidance | judge R@1 | vs defaults (paired by prompt, 95 %) | judge diversity | own-CLIP R@1 | seconds |",
    "|---|---|---|---|---|---|---|---|---|",
    ...rows,
    "",
  ].join("\n");
  writeFileSync(join(dir, "table.md"), text);
  console.log(text);
}

// Run as a script, not when a test imports pairedDifference.
if (process.argv[1]?.endsWith("sweepTable.ts")) main();
