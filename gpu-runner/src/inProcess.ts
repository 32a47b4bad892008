// Config → checked bundle → runner, in one place for the server (main.ts), the CLI and the
// benchmark, so they can't drift apart in how sessions and the batcher are set up.
import { type LoadedBundle, loadBundle } from "./bundle/load.ts";
import { parseConfig, type RunnerConfig } from "./config.ts";
import { RunnerMetrics } from "./metrics.ts";
import { Runner, type RunnerOptions } from "./runner.ts";

export interface LoadedRunner {
  config: RunnerConfig;
  bundle: LoadedBundle;
  runner: Runner;
}

/** Loads and checks the configured bundle; `overrides` replace the config's runner options. */
export async function loadRunner(
  config: RunnerConfig,
  overrides: Partial<RunnerOptions> = {},
): Promise<LoadedRunner> {
  const bundle = await loadBundle(config.bundleDir, {
    providers: config.providers,
    intraOpThreads: config.intraOpThreads,
    smallGraphThreads: config.smallGraphThreads,
  });
  const runner = new Runner(bundle, {
    maxBatch: config.maxBatch,
    maxQueue: config.maxQueue,
    jobTimeoutMs: config.jobTimeoutMs,
    ddimEta: config.ddimEta,
    ...overrides,
  });
  return { config, bundle, runner };
}

/**
 * A runner inside the calling process (the CLI, the benchmark): no HTTP, no Prometheus process
 * metrics, a queue as large as the caller needs and no job timeout worth the name.
 * `bundleDir` overrides UNCLIP_BUNDLE.
 */
export async function startInProcessRunner(
  options: { bundleDir?: string; maxQueue: number; ddimEta?: number },
  env: NodeJS.ProcessEnv = process.env,
): Promise<LoadedRunner> {
  const config = parseConfig({ ...env, UNCLIP_BUNDLE: options.bundleDir ?? env.UNCLIP_BUNDLE });
  return loadRunner(config, {
    maxQueue: options.maxQueue,
    jobTimeoutMs: 3_600_000,
    ...(options.ddimEta === undefined ? {} : { ddimEta: options.ddimEta }),
    metrics: new RunnerMetrics({ defaultMetrics: false }),
  });
}
