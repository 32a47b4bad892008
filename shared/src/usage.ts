// A key's usage on one UTC day, as the RateLimiter counts it and as the admin route and
// `npm run keys -- usage` carry it.
import { z } from "zod";

export const dailyUsageSchema = z.strictObject({
  /** "YYYY-MM-DD", UTC. */
  day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  /** Units (one 256×256 image each) of the requests let through, minus refunds. */
  units: z.number().min(0),
  /** Requests let through that cost something, minus refunded ones. */
  requests: z.number().int().min(0),
});

export type DailyUsage = z.infer<typeof dailyUsageSchema>;

/** The admin route's answer (GET /v1/admin/usage?key=<sha256>&days=N): today first. */
export const keyUsageResponseSchema = z.strictObject({
  object: z.literal("list"),
  key: z.string().regex(/^[0-9a-f]{64}$/),
  data: z.array(dailyUsageSchema),
});
