// The API_KEYS namespace of a deployed environment, through `wrangler kv` (the user's own
// Cloudflare login; `--remote`). The record also goes into the key's metadata, so `list` is
// one call instead of one `get` per key.
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import type { ApiKeyRecord } from "@unclip/shared";
import { REPO_ROOT } from "../stack.ts";
import { type KeyStore, recordOf, type StoredKey } from "./store.ts";

function wranglerKv(args: string[]): string {
  const run = spawnSync(resolve(REPO_ROOT, "node_modules/.bin/wrangler"), ["kv", ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_UPDATE_NOTIFIER: "1" },
    encoding: "utf8",
  });
  if (run.status !== 0) {
    throw new Error(
      `wrangler kv ${args.slice(0, 2).join(" ")} failed:\n${run.stderr || run.stdout}`,
    );
  }
  return run.stdout;
}

/** `location` is `["--env", name, "--remote"]` for a deployed environment. */
export function wranglerKeyStore(location: string[], description: string): KeyStore {
  const namespace = ["--binding", "API_KEYS", "--config", "wrangler.toml", ...location];
  return {
    description,
    async put(hash: string, record: ApiKeyRecord) {
      const json = JSON.stringify(record);
      wranglerKv(["key", "put", hash, json, "--metadata", json, ...namespace]);
    },
    async list(): Promise<StoredKey[]> {
      const listed = JSON.parse(wranglerKv(["key", "list", ...namespace])) as Array<{
        name: string;
        metadata?: unknown;
      }>;
      return listed.map(({ name, metadata }) => ({
        hash: name,
        record:
          recordOf(metadata) ?? recordOf(wranglerKv(["key", "get", name, "--text", ...namespace])),
      }));
    },
    async delete(hash: string) {
      wranglerKv(["key", "delete", hash, ...namespace]);
    },
    async close() {},
  };
}
