// A Miniflare instance on the local state `npm start` persists (persistence.ts's layout), for
// the tools that open its storage beside the running stack: `npm run keys` (KV, and Durable
// Object storage for usage) and tests that delete R2 objects. No Worker is built here: the
// caller brings the one small Worker it needs.
import { resolve } from "node:path";
import {
  convertV4MiniflareOptions,
  Log,
  LogLevel,
  Miniflare,
  type V4WorkerOptions,
} from "miniflare";
import { REPO_ROOT } from "../stack.ts";
import { persistencePathOf } from "./persistence.ts";

/** A Worker that answers nothing: for bindings read from Node only. */
export const NO_FETCH_SCRIPT =
  "export default { fetch: () => new Response(null, { status: 404 }) };";

export function openLocalState(stateDir: string, worker: V4WorkerOptions): Miniflare {
  const state = resolve(REPO_ROOT, stateDir);
  return new Miniflare(
    convertV4MiniflareOptions({
      log: new Log(LogLevel.WARN),
      cf: false,
      telemetry: { enabled: false },
      resourcePersistencePath: persistencePathOf(state),
      resourceTmpPath: resolve(state, "miniflare-tmp"),
      workers: [worker],
    }),
  );
}
