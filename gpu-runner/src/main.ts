// The pool process: parse config, load and check the bundle, warm it, serve HTTP; on SIGTERM
// report not-ready, refuse new jobs, finish held work (up to the drain timeout), exit 0.
// Everything it logs is one JSON line (log.ts), each job included.
import { serve } from "@hono/node-server";
import { parseConfig } from "./config.ts";
import { RunnerError } from "./errors.ts";
import { loadRunner } from "./inProcess.ts";
import { log } from "./log.ts";
import { createApp } from "./server.ts";

async function main(): Promise<void> {
  const config = parseConfig(process.env);
  const { bundle, runner } = await loadRunner(config);
  runner.metrics.setProviders(config.providers, bundle.providers);
  const app = createApp(runner, {
    secrets: config.poolSecrets,
    logJob: (entry) => log({ ...entry, msg: "job", level: entry.error ? "warn" : "info" }),
  });
  const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, (info) => {
    log({ msg: "warming up", bundle: bundle.id, url: `http://${config.host}:${info.port}` });
  });
  await runner.warm();
  log({ msg: "ready", bundle: bundle.id, providers: bundle.providers });
  if (config.poolSecrets.length > 1) {
    log({ msg: "accepting the previous pool secret too (rotation in progress)" });
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log({ msg: "draining", signal, held_images: runner.depth });
    const finished = await runner.drain(config.drainTimeoutMs);
    if (!finished) log({ msg: "drain timeout; exiting with work unfinished", level: "warn" });
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await runner.release();
    log({ msg: "drained, exiting" });
    process.exit(finished ? 0 : 1);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

main().catch((error) => {
  log({
    msg: error instanceof RunnerError ? error.message : String(error?.stack ?? error),
    level: "error",
  });
  process.exit(1);
});
