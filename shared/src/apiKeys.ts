// The API_KEYS record: what the edge reads for a bearer key's sha256 and what `npm run keys`
// writes. Keys themselves are never stored.
import { z } from "zod";

export const apiKeyRecordSchema = z.object({
  name: z.string().min(1),
  /** Token bucket refill for this key, in 256×256-image units per minute. */
  rate_per_minute: z.number().positive().optional(),
  /** Token bucket capacity for this key, in units. */
  burst: z.number().positive().optional(),
  /** Units this key may use per UTC day (its 429 says so); absent: no daily quota. */
  daily_quota: z.number().positive().optional(),
  /** ISO time of `keys create` (informational). */
  created: z.string().optional(),
  /** The key's first characters ("sk-AbCdEf"): enough to recognise it, far too few to use it. */
  prefix: z.string().optional(),
});
export type ApiKeyRecord = z.infer<typeof apiKeyRecordSchema>;
