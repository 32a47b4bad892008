// The pure parts of `npm run keys`: making a key, finding the keys a revoke names, and one
// line per key for `list` (never the key itself: it is not stored).
import { base64FromBytes, sha256Hex } from "@unclip/shared";
import type { StoredKey } from "./store.ts";

/** A key as OpenAI's look: "sk-" and 43 base64url characters (256 random bits). */
export function newApiKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `sk-${base64FromBytes(bytes).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "")}`;
}

/** Whether the shorter of two strings starts the longer (a key prefix given longer or shorter). */
function sharesStart(a: string, b: string): boolean {
  const n = Math.min(a.length, b.length);
  return a.slice(0, n) === b.slice(0, n);
}

/** The keys `target` names: a name, the start of a key or of its hash, or a whole key. */
export async function keysMatching(keys: StoredKey[], target: string): Promise<StoredKey[]> {
  const byName = keys.filter((key) => key.record?.name === target);
  if (byName.length > 0) return byName;
  const wholeKeyHash = target.startsWith("sk-") ? await sha256Hex(target) : undefined;
  return keys.filter(
    (key) =>
      key.hash === wholeKeyHash ||
      (/^[0-9a-f]{8,64}$/.test(target) && key.hash.startsWith(target)) ||
      (target.length >= 7 &&
        key.record?.prefix !== undefined &&
        sharesStart(target, key.record.prefix)),
  );
}

export function describeKey({ hash, record }: StoredKey): string {
  if (!record) return `(unreadable record)  sha256 ${hash.slice(0, 12)}`;
  const limits = [
    record.rate_per_minute !== undefined ? `${record.rate_per_minute}/min` : "default rate",
    record.burst !== undefined ? `burst ${record.burst}` : "default burst",
    ...(record.daily_quota !== undefined ? [`${record.daily_quota} units/day`] : []),
  ].join(", ");
  return `${record.name}  ${record.prefix ?? "sk-?"}…  sha256 ${hash.slice(0, 12)}  ${limits}  ${record.created ?? ""}`.trim();
}
