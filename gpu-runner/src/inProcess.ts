// A runner inside the calling process (the CLI, the benchmark): the same config parsing,
// bundle checks and scheduler as the server, without HTTP or Prometheus defaults.
import { type LoadedBundle, loadBundle } from "./bundle/load.ts";
import { parseConfig, type RunnerConfig } from "./config.ts";
import { RunnerMetrics } from "./metrics.ts";
import { Runner } from "./runner.ts";

export interface InProcessRunner {
  config: RunnerConfig;
  bundle: LoadedBundle;
  runner: Runner;
}

/** `bundleDir` overrides UNCLIP_BUNDLE; `maxQueue` is large because nothing else queues here. */
export async function startInProcessRunner(
  options: { bundleDir?: string; maxQueue: number; ddimEta?: number },
  env: NodeJS.ProcessEnv = process.env,
): Promise<InProcessRunner> {
  const config = parseConfig({ ...env, UNCLIP_BUNDLE: options.bundleDir ?? env.UNCLIP_BUNDLE });
  const bundle = await loadBundle(config.bundleDir, {
    providers: config.providers,
    intraOpThreads: config.intraOpThreads,
  });
  const runner = new Runner(bundle, {
    maxBatch: config.maxBatch,
    maxQueue: options.maxQueue,
    jobTimeoutMs: 3_600_000,
    ddimEta: options.ddimEta ?? config.ddimEta,
    metrics: new RunnerMetrics({ defaultMetrics: false }),
  });
  return { config, bundle, runner };
}
