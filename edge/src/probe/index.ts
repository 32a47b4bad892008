// The synthetic probe (the Worker's cron trigger, wrangler.toml `[triggers]`): one fixed prompt
// and seed sent straight to the pool, past the cache and the flight, so every run exercises a
// runner; the PNG's sha256 is compared with PROBE_EXPECTED_SHA256 (the same request always
// renders the same bytes). Its outcome is a request record like any other (route "probe"):
// one log line and one Analytics Engine point, which the EdgeProbeFailing alert reads.
import {
  bytesFromBase64,
  type GenerationRequest,
  generationRequestSchema,
  newRequestId,
  sha256Hex,
} from "@unclip/shared";
import { servedBundle } from "../bundle/index.ts";
import { ApiError } from "../errors.ts";
import { poolOutcomeOfError } from "../observability/middleware.ts";
import { dataPointOf, type RequestRecord } from "../observability/requestRecord.ts";
import { callPool } from "../pool/client.ts";
import { renderJobFor } from "../render/job.ts";

/** What the probe asks for: the bundle's first example prompt, a fixed seed, the smallest size. */
export function probeRequest(): GenerationRequest {
  return generationRequestSchema.parse({
    prompt: servedBundle.manifest.example_prompts?.[0] ?? "a red circle",
    n: 1,
    seed: 2026,
    size: servedBundle.sizes[0],
  });
}

export interface ProbeResult {
  record: RequestRecord;
  /** The image's sha256, to record as PROBE_EXPECTED_SHA256 after a bundle change. */
  imageSha256: string | null;
}

export async function runProbe(env: Env, expectedSha256?: string): Promise<ProbeResult> {
  const requestId = newRequestId();
  const startedAt = Date.now();
  const record: RequestRecord = {
    requestId,
    method: "CRON",
    route: "probe",
    status: 200,
    keyId: null,
    cache: null,
    job: requestId,
    runner: null,
    pool: "ok",
    latencyMs: 0,
    units: 0,
    images: 0,
    colo: "cron",
    error: null,
  };
  let imageSha256: string | null = null;
  try {
    const job = await renderJobFor(
      { operation: "generation", fields: probeRequest() },
      servedBundle,
    );
    const answer = await callPool(job.operation, { ...job.payload, request_id: requestId }, env, {
      onAnswer: (runner) => {
        record.runner = runner;
      },
    });
    imageSha256 = await sha256Hex(bytesFromBase64(answer.images[0].png_b64));
    record.images = answer.images.length;
    if (expectedSha256 && imageSha256 !== expectedSha256.toLowerCase()) {
      record.error = "hash_mismatch";
    }
  } catch (error) {
    const known = error instanceof ApiError ? error : undefined;
    record.status = known?.status ?? 500;
    record.error = known?.body.error.code ?? "internal_error";
    record.pool = poolOutcomeOfError(record.error) ?? "failed";
  }
  record.latencyMs = Date.now() - startedAt;
  console.log(
    JSON.stringify({
      time: new Date().toISOString(),
      level: record.error ? "error" : "info",
      msg: "probe",
      request_id: requestId,
      route: "probe",
      status: record.status,
      runner: record.runner,
      pool: record.pool,
      error: record.error,
      latency_ms: record.latencyMs,
      image_sha256: imageSha256,
      expected_sha256: expectedSha256 ?? null,
    }),
  );
  env.REQUEST_METRICS?.writeDataPoint(dataPointOf(record));
  return { record, imageSha256 };
}
