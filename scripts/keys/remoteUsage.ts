// Usage per key from a deployed Worker, through its admin-only route (GET /v1/admin/usage,
// edge/src/routes/admin.ts): the RateLimiter's exact counts, not Analytics Engine's sampled ones.
import { keyUsageResponseSchema } from "@unclip/shared";
import type { UsageReader } from "./usage.ts";

export function remoteUsage(workerUrl: string, adminToken: string): UsageReader {
  return {
    async usage(keyHash, days) {
      const url = new URL("/v1/admin/usage", workerUrl);
      url.search = new URLSearchParams({ key: keyHash, days: String(days) }).toString();
      const res = await fetch(url, { headers: { authorization: `Bearer ${adminToken}` } });
      if (!res.ok) {
        throw new Error(
          `GET ${url.pathname} answered ${res.status}: ${(await res.text()).slice(0, 300)}`,
        );
      }
      return keyUsageResponseSchema.parse(await res.json()).data;
    },
    async close() {},
  };
}
