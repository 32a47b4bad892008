// WebAssembly imports: Wrangler (and the Workers test pool) hand them over as modules compiled
// at upload. The png codec ships a wasm-bindgen `.wasm.d.ts` describing its exports instead;
// the named declaration wins over it.
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
declare module "@jsquash/png/codec/pkg/squoosh_png_bg.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
