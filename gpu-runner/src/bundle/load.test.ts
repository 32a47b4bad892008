import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type GoldenTensor,
  goldenArray,
  maxAbsDiff,
  readGolden,
  TINY_BUNDLE_DIR,
} from "../testing/tinyBundle.ts";
import { type LoadedBundle, loadBundle } from "./load.ts";

const options = { providers: ["cpu" as const], intraOpThreads: 1 };

// biome-ignore lint/suspicious/noExplicitAny: tests edit raw manifest JSON freely
type ManifestJson = any;

interface Parity {
  graphs: Record<
    string,
    {
      file: string;
      inputs: Record<string, GoldenTensor>;
      outputs: Record<string, GoldenTensor>;
      tolerance: number;
    }
  >;
}

describe("the tiny test bundle", () => {
  let bundle: LoadedBundle;
  beforeAll(async () => {
    bundle = await loadBundle(TINY_BUNDLE_DIR, options);
  });
  afterAll(() => bundle?.release());

  it("loads with its sha256s and tensor specs checked", () => {
    expect(bundle.id).toBe(`${bundle.manifest.name}@${bundle.manifest.version}`);
    expect(bundle.sessions.upsamplers).toHaveLength(bundle.manifest.stages.upsamplers.length);
  });

  it("reproduces the PyTorch outputs of every graph (parity.json)", async () => {
    const parity = readGolden<Parity>("parity.json");
    const byFile = new Map(
      [
        bundle.sessions.textEncoder,
        bundle.sessions.imageEncoder,
        bundle.sessions.prior,
        bundle.sessions.decoder,
        ...bundle.sessions.upsamplers,
      ].map((s, i) => {
        const { stages } = bundle.manifest;
        const files = [
          stages.text_encoder,
          stages.image_encoder,
          stages.prior,
          stages.decoder,
          ...stages.upsamplers,
        ].map((st) => st.file);
        return [files[i], s];
      }),
    );
    for (const [name, graph] of Object.entries(parity.graphs)) {
      const session = byFile.get(graph.file);
      expect(session, `${name}: ${graph.file} is in the bundle`).toBeDefined();
      const feeds = Object.fromEntries(
        Object.entries(graph.inputs).map(([k, t]) => [k, { data: goldenArray(t), dims: t.shape }]),
      );
      const out = await session!.run(feeds);
      for (const [k, t] of Object.entries(graph.outputs)) {
        expect(maxAbsDiff(out[k], t.data), `${name}.${k}`).toBeLessThanOrEqual(graph.tolerance);
      }
    }
  });

  it("tokenizes the golden prompts to the golden ids", () => {
    const { cases } = readGolden<{ cases: { text: string; ids: number[] }[] }>("tokens.json");
    for (const c of cases) expect(bundle.tokenizer.inputIds(c.text), c.text).toEqual(c.ids);
  });
});

describe("bundle refusal", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "unclip-bundle-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** A copy of the tiny bundle with `edit` applied to its manifest (and files). */
  async function tamperedCopy(name: string, edit: (m: ManifestJson) => void) {
    const copy = join(dir, name);
    await cp(TINY_BUNDLE_DIR, copy, { recursive: true });
    const manifest = JSON.parse(await readFile(join(copy, "manifest.json"), "utf8"));
    await edit(manifest);
    await writeFile(join(copy, "manifest.json"), JSON.stringify(manifest));
    return copy;
  }

  it("refuses a file whose sha256 differs, naming the file and both hashes", async () => {
    const copy = await tamperedCopy("sha", () => {});
    const file = join(copy, "prior.onnx");
    const bytes = await readFile(file);
    bytes[bytes.length - 1] ^= 0xff;
    await writeFile(file, bytes);
    await expect(loadBundle(copy, options)).rejects.toThrow(
      /prior\.onnx: sha256 expected [0-9a-f]{64}, found [0-9a-f]{64}/,
    );
  });

  it("refuses a missing file", async () => {
    const copy = await tamperedCopy("missing", (m) => {
      m.stages.decoder.file = "nope.onnx";
    });
    await expect(loadBundle(copy, options)).rejects.toThrow(/nope\.onnx: cannot read \(ENOENT\)/);
  });

  it("refuses a graph whose input name or shape differs from the manifest", async () => {
    const copy = await tamperedCopy("io", (m) => {
      m.stages.decoder.inputs[0].name = "x_noisy";
      m.stages.prior.inputs[0].shape = ["batch", 99];
    });
    const error = await loadBundle(copy, options).catch((e: Error) => e);
    expect(String(error)).toMatch(/decoder\.onnx: input "x_noisy" expected by the manifest, found/);
    expect(String(error)).toMatch(
      /prior\.onnx: input "x_t" shape: expected \["batch", 99\], found \[/,
    );
  });

  it("refuses a manifest that breaks the schema, naming the field", async () => {
    const copy = await tamperedCopy("schema", (m) => {
      m.stages.decoder.prediction = "score";
    });
    await expect(loadBundle(copy, options)).rejects.toThrow(
      /manifest\.json: stages\.decoder\.prediction/,
    );
  });

  it("refuses a file path that leaves the bundle directory", async () => {
    const copy = await tamperedCopy("escape", (m) => {
      m.stages.prior.file = "../tiny-test/prior.onnx";
    });
    await expect(loadBundle(copy, options)).rejects.toThrow(/leaves the bundle directory/);
  });
});
