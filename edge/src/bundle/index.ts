// The served model bundle: its manifest is validated and its tokenizer loaded once per isolate,
// so a wrong bundle fails at startup with the manifest field that is wrong.
import {
  type BundleManifest,
  type BundleTokenizer,
  bundleIdOf,
  bundleManifestSchema,
  loadTokenizer,
  nativeResolutionOf,
  openAiErrorFromZod,
  sizesFor,
} from "@unclip/shared";
import rawManifest from "unclip-bundle/manifest.json";
import rawTokenizer from "unclip-bundle/tokenizer.json";

export interface ServedBundle {
  manifest: BundleManifest;
  /** `name@version`, as it goes into cache keys and pool requests. */
  id: string;
  tokenizer: BundleTokenizer;
  /** The bundle's tokenizer.json as parsed JSON (the content policy derives its own view). */
  tokenizerJson: unknown;
  /** Sizes this bundle answers ("WxH"). */
  sizes: string[];
}

export function loadServedBundle(manifestJson: unknown, tokenizerJson: unknown): ServedBundle {
  const parsed = bundleManifestSchema.safeParse(manifestJson);
  if (!parsed.success) {
    const { message } = openAiErrorFromZod(parsed.error).error;
    throw new Error(`unclip-bundle/manifest.json is not a valid bundle manifest: ${message}`);
  }
  const manifest = parsed.data;
  if (manifest.tokenizer.file !== "tokenizer.json") {
    throw new Error(
      `unclip-bundle: the edge imports tokenizer.json, but the manifest names ${manifest.tokenizer.file}`,
    );
  }
  return {
    manifest,
    id: bundleIdOf(manifest),
    tokenizer: loadTokenizer(tokenizerJson, {
      contextLength: manifest.tokenizer.context_length,
      padId: manifest.tokenizer.pad_id,
    }),
    tokenizerJson,
    sizes: sizesFor(nativeResolutionOf(manifest)),
  };
}

export const servedBundle: ServedBundle = loadServedBundle(rawManifest, rawTokenizer);
