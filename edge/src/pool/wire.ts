// The edge side of the edge ↔ pool wire (Contract 3, docs/ARCHITECTURE.md) in one place: the request body an
// operation takes. Paths are versioned (shared/src/protocol.ts `poolPathOf`): the pool client
// picks the version per runner, so only it builds paths.
import { type Operation, poolRequestSchemas } from "@unclip/shared";

/** A pool request body, checked against the operation's schema, minus the call's deadline. */
export type PoolPayload = Record<string, unknown>;

/** The body the pool takes for `operation`; throws (a bug, never the client's) if it doesn't fit. */
export function poolPayloadFor(operation: Operation, fields: Record<string, unknown>): PoolPayload {
  return poolRequestSchemas[operation].parse(fields);
}
