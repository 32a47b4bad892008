// The API_KEYS namespace of the local state that `npm start` persists under `<state>/wrangler/v3`
// (the layout of `wrangler dev --persist-to <state>/wrangler`), opened with Miniflare directly:
// no Worker is built, only the KV namespace that wrangler.toml's top level declares.
// The one place that knows where local keys live (scripts/stack.ts starts the stack on it).
import { resolve } from "node:path";
import type { ApiKeyRecord } from "@unclip/shared";
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from "miniflare";
import { unstable_readConfig } from "wrangler";
import { REPO_ROOT } from "../stack.ts";
import { type KeyStore, recordOf, type StoredKey } from "./store.ts";

const BINDING = "API_KEYS";

/** The part of a KV binding used here (Miniflare types it with workers-types, absent in Node). */
interface LocalKv {
  get(key: string): Promise<string | null>;
  put(key: string, value: string, options: { metadata: unknown }): Promise<void>;
  delete(key: string): Promise<void>;
  list(options: { cursor?: string }): Promise<{
    keys: Array<{ name: string; metadata?: unknown }>;
    list_complete: boolean;
    cursor?: string;
  }>;
}

/** The local namespace id of API_KEYS in wrangler.toml (its top-level environment). */
export function localApiKeysNamespaceId(): string {
  const config = unstable_readConfig({ config: resolve(REPO_ROOT, "wrangler.toml") });
  const namespace = config.kv_namespaces.find((kv: { binding: string }) => kv.binding === BINDING);
  if (!namespace?.id) throw new Error(`wrangler.toml declares no ${BINDING} KV namespace`);
  return namespace.id;
}

export async function openLocalKeyStore(stateDir: string): Promise<KeyStore> {
  const state = resolve(REPO_ROOT, stateDir);
  const miniflare = new Miniflare(
    convertV4MiniflareOptions({
      log: new Log(LogLevel.WARN),
      cf: false,
      telemetry: { enabled: false },
      resourcePersistencePath: resolve(state, "wrangler", "v3"),
      resourceTmpPath: resolve(state, "miniflare-tmp"),
      workers: [
        {
          name: "unclip-keys",
          modules: true,
          script: "export default { fetch: () => new Response(null, { status: 404 }) };",
          kvNamespaces: { [BINDING]: localApiKeysNamespaceId() },
        },
      ],
    }),
  );
  const kv = (await miniflare.getKVNamespace(BINDING)) as unknown as LocalKv;
  return {
    description: `local state ${stateDir}`,
    async put(hash: string, record: ApiKeyRecord) {
      await kv.put(hash, JSON.stringify(record), { metadata: record });
    },
    async list(): Promise<StoredKey[]> {
      const keys: StoredKey[] = [];
      let cursor: string | undefined;
      do {
        const page = await kv.list({ cursor });
        for (const { name, metadata } of page.keys) {
          keys.push({ hash: name, record: recordOf(metadata) ?? recordOf(await kv.get(name)) });
        }
        cursor = page.list_complete ? undefined : page.cursor;
      } while (cursor);
      return keys;
    },
    async delete(hash: string) {
      await kv.delete(hash);
    },
    close: () => miniflare.dispose(),
  };
}
