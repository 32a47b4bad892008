// Rasterize every emoji vendor set pinned in training/package.json from its vector source (the
// Iconify JSON packages) at 256 px on white with resvg, into training/.cache/emoji256/ (ignored):
// <set>/<hexcode>.png and index.json [{ set, hexcode, name }]. The Iconify sets name icons by
// slug, not by code point, so each name is matched to an emojibase hexcode through its CLDR label,
// shortcodes and the sets' own skin-tone suffixes; unmatched icons (logos, extras) are skipped.
//   npx tsx training/rasterize_emoji.ts [--size 256] [--limit N] [--sets a,b]
// `--sets` draws only those sets; index.json still lists every set drawn so far in that folder.
import { spawnSync } from "node:child_process";
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { getIconData, iconToHTML, iconToSVG } from "@iconify/utils";
import { Resvg } from "@resvg/resvg-js";

export const SETS = [
  "noto",
  "noto-v1",
  "twemoji",
  "openmoji",
  "fluent-emoji-flat",
  "fxemoji",
  "emojione",
  "emojione-v1",
  "streamline-emojis",
  // judge only (training/unclip/data_emoji.py JUDGE_SETS says why each is kept from the generator)
  "fluent-emoji",
  "fluent-emoji-high-contrast",
  "emojione-monotone",
] as const;

const ROOT = join(import.meta.dirname, "..");
const NM = join(ROOT, "node_modules");
const readJson = (p: string) => JSON.parse(readFileSync(p, "utf8"));

const slug = (s: string) =>
  s
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[’'“”".!,:()]/g, "")
    .replace(/&/g, "and")
    .replace(/[^a-z0-9*#]+/g, "-")
    .replace(/^-|-$/g, "");

// skin-tone suffixes the sets use instead of CLDR's "-light-skin-tone" …
const TONES: [RegExp, string][] = [
  [/-(tone1|light)$/, "-light-skin-tone"],
  [/-(tone2|medium-light)$/, "-medium-light-skin-tone"],
  [/-(tone3|medium)$/, "-medium-skin-tone"],
  [/-(tone4|medium-dark)$/, "-medium-dark-skin-tone"],
  [/-(tone5|dark)$/, "-dark-skin-tone"],
];

interface EmojibaseEntry {
  label: string;
  hexcode: string;
  skins?: EmojibaseEntry[];
}

function nameIndex(): Map<string, string> {
  const data: EmojibaseEntry[] = readJson(join(NM, "emojibase-data/en/data.json"));
  const index = new Map<string, string>();
  const add = (key: string, hex: string) => {
    if (!index.has(key)) index.set(key, hex);
    const flat = key.replace(/-/g, "");
    if (!index.has(flat)) index.set(flat, hex);
  };
  for (const e of data) for (const v of [e, ...(e.skins ?? [])]) add(slug(v.label), v.hexcode);
  for (const f of ["emojibase", "github", "iamcal", "joypixels", "cldr", "emojibase-legacy"]) {
    const codes: Record<string, string | string[]> = readJson(
      join(NM, `emojibase-data/en/shortcodes/${f}.json`),
    );
    for (const [hex, names] of Object.entries(codes))
      for (const n of [names].flat()) add(slug(n.replace(/_/g, "-")), hex);
  }
  return index;
}

export function matchName(index: Map<string, string>, name: string): string | undefined {
  const tries = [name, name.replace(/-\d+$/, "")];
  for (const [re, to] of TONES) if (re.test(name)) tries.unshift(name.replace(re, to));
  for (const t of tries) {
    const hex = index.get(t) ?? index.get(t.replace(/-/g, ""));
    if (hex) return hex;
  }
  return undefined;
}

// resvg 2.6 aborts the whole process (a Rust panic) on a few icons, so each set is drawn in a
// child process that notes the icon it is drawing; after a crash the parent skips that icon and
// starts a new child, which continues where the last one stopped (finished files are kept).
function drawSet(set: string, size: number, limit: number, dir: string) {
  const icons = readJson(join(NM, `@iconify-json/${set}/icons.json`));
  const index = nameIndex();
  const skip = new Set(
    existsSync(join(dir, "skip.txt"))
      ? readFileSync(join(dir, "skip.txt"), "utf8").split("\n")
      : [],
  );
  const done = new Set<string>();
  const names = [...Object.keys(icons.icons), ...Object.keys(icons.aliases ?? {})];
  for (const name of names) {
    const hex = matchName(index, name);
    if (!hex || done.has(hex) || done.size >= limit || skip.has(name)) continue;
    done.add(hex);
    if (existsSync(join(dir, `${hex}.png`))) continue;
    const data = getIconData(icons, name);
    if (!data) continue;
    writeFileSync(join(dir, "current.txt"), name);
    const svg = iconToSVG(data, { height: size });
    const html = iconToHTML(svg.body, { ...svg.attributes, xmlns: "http://www.w3.org/2000/svg" });
    const png = new Resvg(html, { background: "white", fitTo: { mode: "height", value: size } })
      .render()
      .asPng();
    writeFileSync(join(dir, `${hex}.png`), png);
    appendFileSync(join(dir, "rows.jsonl"), `${JSON.stringify({ set, hexcode: hex, name })}\n`);
  }
  rmSync(join(dir, "current.txt"), { force: true });
}

/** The rows a set's earlier drawing left in its folder (none if it was never drawn). */
function drawnRows(dir: string): { set: string; hexcode: string; name: string }[] {
  if (!existsSync(join(dir, "rows.jsonl"))) return [];
  return readFileSync(join(dir, "rows.jsonl"), "utf8")
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

function main() {
  const args = process.argv.slice(2);
  const opt = (k: string, d: number) => (args.includes(k) ? Number(args[args.indexOf(k) + 1]) : d);
  const size = opt("--size", 256);
  const limit = opt("--limit", Infinity);
  const out = join(ROOT, "training", ".cache", `emoji${size}`);
  if (args.includes("--worker"))
    return drawSet(
      args[args.indexOf("--worker") + 1],
      size,
      limit,
      join(out, args[args.indexOf("--worker") + 1]),
    );
  const t0 = Date.now();
  const only: readonly string[] = args.includes("--sets")
    ? args[args.indexOf("--sets") + 1].split(",")
    : SETS;
  const unknown = only.filter((s) => !(SETS as readonly string[]).includes(s));
  if (unknown.length) throw new Error(`--sets: unknown set(s) ${unknown} (known: ${SETS})`);
  const rows: { set: string; hexcode: string; name: string }[] = [];
  for (const set of SETS) {
    const dir = join(out, set);
    if (!only.includes(set)) {
      rows.push(...drawnRows(dir));
      continue;
    }
    mkdirSync(dir, { recursive: true });
    for (let tries = 0; tries < 50; tries++) {
      const r = spawnSync(
        process.execPath,
        [...process.execArgv, import.meta.filename, ...args, "--worker", set],
        { stdio: ["ignore", "inherit", "pipe"] },
      );
      if (r.status === 0) break;
      const bad = readFileSync(join(dir, "current.txt"), "utf8");
      console.log(`${set}: resvg crashed on ${bad}; skipped`);
      appendFileSync(join(dir, "skip.txt"), `${bad}\n`);
    }
    const got = drawnRows(dir);
    rows.push(...got);
    console.log(`${set}: ${got.length} emoji (${(Date.now() - t0) / 1000}s)`);
  }
  writeFileSync(join(out, "index.json"), JSON.stringify(rows));
  console.log(`${rows.length} images -> ${out}`);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop() ?? "")) main();
