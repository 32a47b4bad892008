// Where the local stack keeps R2, KV and Durable Objects. Its own module, free of wrangler
// (whose import takes seconds), so that `npm run keys` opens the same files quickly.
import { resolve } from "node:path";

/**
 * `<stateDir>/wrangler/v3` is where `wrangler dev --persist-to <stateDir>/wrangler` keeps its
 * data (wrangler adds the `v3`), and the Worker keeps wrangler.toml's name, which keys the
 * Durable Object storage: `npm start`, `npm run dev` and `wrangler kv … --local
 * --persist-to .state/wrangler` all see the same keys, images and objects.
 */
export function persistencePathOf(stateDir: string): string {
  return resolve(stateDir, "wrangler", "v3");
}
