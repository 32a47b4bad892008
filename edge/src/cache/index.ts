// The cache in front of the pool: a hit is answered from R2 and never reaches the pool; a miss
// goes through the key's GenerationFlight so identical misses are rendered once.
import { ApiError } from "../errors.ts";
import type { RenderJob } from "./render.ts";
import { isCached } from "./store.ts";

export interface RenderOutcome {
  /** False when every image was already in R2. */
  generated: boolean;
}

export async function renderThroughCache(
  job: RenderJob,
  env: Env,
  watcherJobId?: string,
): Promise<RenderOutcome> {
  if (await isCached(job.key, job.count, env)) return { generated: false };
  const flight = env.GENERATION_FLIGHT.get(env.GENERATION_FLIGHT.idFromName(job.key));
  const outcome = await flight.render(job, watcherJobId);
  if (!outcome.ok) throw ApiError.fromJSON(outcome.error);
  return { generated: outcome.generated };
}
