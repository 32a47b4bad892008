// The contracts between the edge and the pool, as code. Nothing Node-only or Workers-only.
export * from "./api.ts";
export * from "./apiKeys.ts";
export * from "./bytes.ts";
export * from "./cacheKey.ts";
export * from "./errors.ts";
export * from "./manifest.ts";
export * from "./operation.ts";
export * from "./protocol.ts";
export * from "./requestId.ts";
export * from "./signing.ts";
export * from "./tokenizer.ts";
export * from "./usage.ts";
