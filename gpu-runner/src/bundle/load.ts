// Loads one model bundle (Contract 4, docs/ARCHITECTURE.md): validates the manifest, checks every
// file's sha256, creates one onnxruntime session per graph and checks its inputs/outputs against
// the manifest. Any mismatch refuses the bundle with one error that lists them all.
import { readFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import {
  type BundleManifest,
  type BundleTokenizer,
  bundleIdOf,
  bundleManifestSchema,
  loadTokenizer,
  sha256Hex,
} from "@unclip/shared";
import { RunnerError } from "../errors.ts";
import { tensorMismatches } from "./check.ts";
import { OrtStageSession, type SessionOptions, type StageSession } from "./session.ts";

export interface BundleSessions {
  textEncoder: StageSession;
  imageEncoder: StageSession;
  prior: StageSession;
  decoder: StageSession;
  upsamplers: StageSession[];
}

export interface LoadedBundle {
  dir: string;
  manifest: BundleManifest;
  /** `name@version`, what protocol requests name in `bundle`. */
  id: string;
  tokenizer: BundleTokenizer;
  sessions: BundleSessions;
  /** Execution providers the sessions actually use (a failed `cuda` is dropped). */
  providers: string[];
  release(): Promise<void>;
}

const refuse = (dir: string, problems: string[]) =>
  new RunnerError(
    "bad_bundle",
    `refusing model bundle ${dir}:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
  );

/** A file named by the manifest, which must stay inside the bundle directory. */
function bundlePath(dir: string, file: string): string {
  const path = resolve(dir, file);
  if (relative(resolve(dir), path).startsWith("..")) {
    throw refuse(dir, [`${file}: path leaves the bundle directory`]);
  }
  return path;
}

export async function readManifest(dir: string): Promise<BundleManifest> {
  const file = join(dir, "manifest.json");
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, "utf8"));
  } catch (error) {
    throw refuse(dir, [`manifest.json: ${(error as Error).message}`]);
  }
  const parsed = bundleManifestSchema.safeParse(raw);
  if (!parsed.success) {
    throw refuse(
      dir,
      parsed.error.issues.map(
        (i) => `manifest.json: ${i.path.join(".") || "(root)"}: ${i.message}`,
      ),
    );
  }
  return parsed.data;
}

export async function loadBundle(dir: string, options: SessionOptions): Promise<LoadedBundle> {
  const manifest = await readManifest(dir);
  const { stages } = manifest;
  const graphs = [
    { key: "text_encoder", stage: stages.text_encoder, small: true },
    { key: "image_encoder", stage: stages.image_encoder, small: true },
    { key: "prior", stage: stages.prior, small: true },
    { key: "decoder", stage: stages.decoder, small: false },
    ...stages.upsamplers.map((stage, k) => ({ key: `upsamplers[${k}]`, stage, small: false })),
  ];

  // 1. Every file exists and matches its sha256.
  const problems: string[] = [];
  const files = [
    { file: manifest.tokenizer.file, sha256: manifest.tokenizer.sha256 },
    ...graphs.map((g) => g.stage),
  ];
  const contents = new Map<string, Buffer>();
  for (const { file, sha256 } of files) {
    try {
      const bytes = await readFile(bundlePath(dir, file));
      const found = await sha256Hex(bytes);
      if (found !== sha256) problems.push(`${file}: sha256 expected ${sha256}, found ${found}`);
      contents.set(file, bytes);
    } catch (error) {
      if (error instanceof RunnerError) throw error;
      problems.push(`${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? error})`);
    }
  }
  if (problems.length > 0) throw refuse(dir, problems);

  const tokenizer = loadTokenizer(
    JSON.parse(contents.get(manifest.tokenizer.file)!.toString("utf8")),
    {
      contextLength: manifest.tokenizer.context_length,
      padId: manifest.tokenizer.pad_id,
    },
  );

  // 2. One session per graph, created once; inputs/outputs checked against the manifest.
  const created: OrtStageSession[] = [];
  let providers = options.providers;
  try {
    for (const g of graphs) {
      const session = await OrtStageSession.create(
        bundlePath(dir, g.stage.file),
        g.stage.inputs,
        g.stage.outputs,
        {
          ...options,
          providers,
          intraOpThreads: g.small ? (options.smallGraphThreads ?? 1) : options.intraOpThreads,
        },
      );
      providers = session.providers;
      created.push(session);
      const declared = session.declared();
      problems.push(
        ...tensorMismatches(g.stage.file, "input", g.stage.inputs, declared.inputs),
        ...tensorMismatches(g.stage.file, "output", g.stage.outputs, declared.outputs),
      );
    }
    if (problems.length > 0) throw refuse(dir, problems);
  } catch (error) {
    await Promise.all(created.map((s) => s.release()));
    throw error;
  }

  const [textEncoder, imageEncoder, prior, decoder, ...upsamplers] = created;
  return {
    dir,
    manifest,
    id: bundleIdOf(manifest),
    tokenizer,
    sessions: { textEncoder, imageEncoder, prior, decoder, upsamplers },
    providers,
    async release() {
      await Promise.all(created.map((s) => s.release()));
    },
  };
}
