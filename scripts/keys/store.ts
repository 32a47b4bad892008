// What `npm run keys` needs from a KV namespace of API keys (shared/'s ApiKeyRecord, the
// record the edge reads), for the local state and for deployed environments alike.
import { type ApiKeyRecord, apiKeyRecordSchema } from "@unclip/shared";

export interface StoredKey {
  /** sha256 of the key, hex: the KV key name. */
  hash: string;
  /** undefined when the stored value is not a valid record (listed so it can be revoked). */
  record: ApiKeyRecord | undefined;
}

/** The API_KEYS namespace of one environment (local state or a deployed one). */
export interface KeyStore {
  /** Where this store writes, for messages ("local state .state", "environment production"). */
  readonly description: string;
  put(hash: string, record: ApiKeyRecord): Promise<void>;
  list(): Promise<StoredKey[]>;
  delete(hash: string): Promise<void>;
  close(): Promise<void>;
}

/** A stored value (or metadata) as a record, or undefined when it is not one. */
export function recordOf(value: unknown): ApiKeyRecord | undefined {
  let parsed = value;
  if (typeof value === "string") {
    try {
      parsed = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  const result = apiKeyRecordSchema.safeParse(parsed);
  return result.success ? result.data : undefined;
}
