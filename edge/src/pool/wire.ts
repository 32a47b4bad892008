// The edge side of the edge ↔ pool wire (Contract 3) in one place: which pool path serves an
// operation and the request body it takes. The edge's words (`Operation`) stop here; the
// protocol's own path names and fields are built only by these two functions.
import {
  type Operation,
  POOL_PATHS,
  poolEditRequestSchema,
  poolGenerateRequestSchema,
  poolInterpolateRequestSchema,
  poolVariationRequestSchema,
} from "@unclip/shared";

const wireOf = {
  generation: { path: POOL_PATHS.generate, schema: poolGenerateRequestSchema },
  variation: { path: POOL_PATHS.variations, schema: poolVariationRequestSchema },
  edit: { path: POOL_PATHS.edits, schema: poolEditRequestSchema },
  interpolation: { path: POOL_PATHS.interpolate, schema: poolInterpolateRequestSchema },
} as const satisfies Record<Operation, { path: string; schema: unknown }>;

/** A pool request body, checked against the operation's schema, minus the call's deadline. */
export type PoolPayload = Record<string, unknown>;

export function poolPathOf(operation: Operation): string {
  return wireOf[operation].path;
}

/** The body the pool takes for `operation`; throws (a bug, never the client's) if it doesn't fit. */
export function poolPayloadFor(operation: Operation, fields: Record<string, unknown>): PoolPayload {
  return wireOf[operation].schema.parse(fields);
}
