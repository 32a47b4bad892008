// The API_KEYS namespace of the local state that `npm start` persists (scripts/edge/persistence.ts:
// the layout of `wrangler dev --persist-to <state>/wrangler`), opened with Miniflare directly:
// no Worker is built, only the KV namespace that wrangler.toml's top level declares.
// The only module of `npm run keys` that touches local storage.
import type { ApiKeyRecord } from "@unclip/shared";
import { NO_FETCH_SCRIPT, openLocalState } from "../edge/localState.ts";
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

/**
 * wrangler.toml's local (top-level) id of API_KEYS. A constant, not read with wrangler's config
 * reader: importing wrangler takes seconds, every `npm run keys` would pay them, and
 * tests/keys.test.ts checks this against wrangler.toml with that reader.
 */
export const LOCAL_API_KEYS_NAMESPACE_ID = "local-api-keys";

export async function openLocalKeyStore(stateDir: string): Promise<KeyStore> {
  const miniflare = openLocalState(stateDir, {
    name: "unclip-keys",
    modules: true,
    script: NO_FETCH_SCRIPT,
    kvNamespaces: { [BINDING]: LOCAL_API_KEYS_NAMESPACE_ID },
  });
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
