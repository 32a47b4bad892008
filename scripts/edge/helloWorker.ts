// A trivial Worker under Miniflare, with workerd's inspector on `inspectorPort`: for tests of
// workerd itself (its V8 flags, the inspector client) where our Worker would only add noise.
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from "miniflare";

/** The isolate name workerd gives this Worker (`core:user:<name>`). */
export const HELLO_ISOLATE = "core:user:hello";

export function helloWorker(inspectorPort: number): Miniflare {
  return new Miniflare(
    convertV4MiniflareOptions({
      name: "hello",
      modules: true,
      script: `export default { fetch() { return new Response("ok"); } }`,
      compatibilityDate: "2026-08-01",
      cf: false,
      port: 0,
      inspectorPort,
      log: new Log(LogLevel.WARN),
    }),
  );
}
