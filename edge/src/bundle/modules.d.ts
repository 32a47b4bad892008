// The served model bundle, chosen by the `unclip-bundle` module alias (wrangler.toml `[alias]`,
// `wrangler dev --alias`, or edge/vitest.config.ts for tests).
declare module "unclip-bundle/manifest.json" {
  const manifest: unknown;
  export default manifest;
}
declare module "unclip-bundle/tokenizer.json" {
  const tokenizer: unknown;
  export default tokenizer;
}
