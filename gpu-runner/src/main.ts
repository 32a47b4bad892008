// The pool process: parse config, load and check the bundle, warm it, serve HTTP; on SIGTERM
// report not-ready, refuse new jobs, finish held work (up to the drain timeout), exit 0.
import { serve } from "@hono/node-server";
import { parseConfig } from "./config.ts";
import { RunnerError } from "./errors.ts";
import { loadRunner } from "./inProcess.ts";
import { createApp } from "./server.ts";

async function main(): Promise<void> {
  const config = parseConfig(process.env);
  const { bundle, runner } = await loadRunner(config);
  const app = createApp(runner, {
    secrets: config.poolSecrets,
    logJob: (entry) => console.log(JSON.stringify(entry)),
  });
  const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, (info) => {
    console.log(
      `unclip gpu-runner: bundle ${bundle.id} on http://${config.host}:${info.port} (warming up)`,
    );
  });
  await runner.warm();
  console.log(`unclip gpu-runner: ready (execution providers ${bundle.providers.join(",")})`);
  if (config.poolSecrets.length > 1) {
    console.log("unclip gpu-runner: accepting the previous pool secret too (rotation in progress)");
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`unclip gpu-runner: ${signal}: draining ${runner.depth} held image(s)`);
    const finished = await runner.drain(config.drainTimeoutMs);
    if (!finished) console.warn("unclip gpu-runner: drain timeout; exiting with work unfinished");
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await runner.release();
    console.log("unclip gpu-runner: drained, exiting");
    process.exit(finished ? 0 : 1);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

main().catch((error) => {
  console.error(error instanceof RunnerError ? error.message : error);
  process.exit(1);
});
