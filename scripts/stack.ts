// The local stack as code: N gpu-runner processes and the edge process (scripts/edge: the
// built Worker in Miniflare with local R2/KV/Durable Objects persisted to a state folder).
// Used by `npm start` and by the cross-part tests in tests/, so both exercise exactly the same
// processes.
import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { resolve } from "node:path";

export const REPO_ROOT = resolve(import.meta.dirname, "..");
/**
 * Node 22 from npm, with tsx's loader in the same process (not the tsx CLI wrapping a child),
 * so a signal reaches the runner or edge itself and its exit code is its own.
 */
const NODE = resolve(REPO_ROOT, "node_modules/.bin/node");
export const LOCAL_API_KEY = "sk-local-dev";
export const LOCAL_POOL_SECRET = "dev-pool-secret";
/** What `npm start` serves: the best emoji bundle we trained (tests use models/tiny-test). */
export const DEFAULT_BUNDLE = "models/emoji-gpu";

export interface StackOptions {
  runners?: number;
  /** Bundle directory, relative to the repo root or absolute. */
  bundle?: string;
  edgePort?: number;
  runnerPorts?: number[];
  stateDir?: string;
  /** Extra env for every runner (e.g. UNCLIP_MAX_QUEUE for a fault test). */
  runnerEnv?: Record<string, string>;
  /** Overrides of wrangler.toml's vars for the Worker. */
  edgeVars?: Record<string, string>;
  /** Opens the edge's workerd V8 inspector on this loopback port (scripts/edge/inspector.ts). */
  edgeInspectorPort?: number;
  /** Forward child output to this process's stdout/stderr. */
  verbose?: boolean;
  /** Also append each process's output to `<logDir>/<name>.log` (tests read the JSON lines). */
  logDir?: string;
  readyTimeoutMs?: number;
}

export interface ManagedProcess {
  name: string;
  url: string;
  port: number;
  child: ChildProcess;
  /** Output kept for error messages when a process dies during start. */
  log: string[];
}

export interface Stack {
  edgeUrl: string;
  runners: ManagedProcess[];
  edge: ManagedProcess;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

function launch(
  name: string,
  command: string,
  args: string[],
  env: Record<string, string>,
  port: number,
  verbose: boolean,
  logDir?: string,
): ManagedProcess {
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    // Own process group, so stopping the stack also stops the edge's workerd child.
    detached: true,
  });
  const log: string[] = [];
  const keep = (chunk: Buffer) => {
    const text = chunk.toString();
    log.push(text);
    if (log.length > 200) log.shift();
    if (verbose) process.stdout.write(text.replace(/^/gm, `[${name}] `));
    if (logDir) appendFileSync(resolve(logDir, `${name}.log`), text);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  return { name, url: `http://127.0.0.1:${port}`, port, child, log };
}

export async function waitReady(
  proc: ManagedProcess,
  path: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) {
      throw new Error(
        `${proc.name} exited with ${proc.child.exitCode} during start:\n${proc.log.join("")}`,
      );
    }
    try {
      const res = await fetch(`${proc.url}${path}`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(
    `${proc.name} not ready at ${proc.url}${path} after ${timeoutMs} ms:\n${proc.log.join("")}`,
  );
}

/**
 * Sends a signal. SIGKILL goes to the whole process group (the edge's workerd child must die
 * with it); other signals go to the process itself, which shuts its children down.
 */
export function signal(proc: ManagedProcess, sig: NodeJS.Signals): void {
  if (proc.child.pid === undefined || proc.child.exitCode !== null) return;
  try {
    process.kill(sig === "SIGKILL" ? -proc.child.pid : proc.child.pid, sig);
  } catch {
    // already gone
  }
}

export async function stopProcess(proc: ManagedProcess, timeoutMs = 15_000): Promise<void> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  const exited = new Promise<void>((r) => proc.child.once("exit", () => r()));
  signal(proc, "SIGTERM");
  const timer = setTimeout(() => signal(proc, "SIGKILL"), timeoutMs);
  await exited;
  clearTimeout(timer);
  // Whatever the process left behind in its group (the edge's workerd) goes with it.
  try {
    if (proc.child.pid !== undefined) process.kill(-proc.child.pid, "SIGKILL");
  } catch {
    // nothing left
  }
}

export function startRunner(
  port: number,
  bundle: string,
  env: Record<string, string> = {},
  verbose = false,
  name = "runner",
  logDir?: string,
): ManagedProcess {
  return launch(
    name,
    NODE,
    ["--import", "tsx", "gpu-runner/src/main.ts"],
    {
      UNCLIP_PORT: String(port),
      UNCLIP_BUNDLE: bundle,
      UNCLIP_POOL_SECRET: LOCAL_POOL_SECRET,
      // As in the runner's image (gpu-runner/Dockerfile): flat RSS instead of a malloc arena
      // per onnxruntime thread that only ever grows.
      MALLOC_ARENA_MAX: "2",
      ...env,
    },
    port,
    verbose,
    logDir,
  );
}

/**
 * The edge process (scripts/edge/main.ts): builds the Worker for `bundle` once and serves it
 * with Miniflare. Edge and runners must serve the same bundle.
 */
export function startEdge(
  port: number,
  bundle: string,
  stateDir: string,
  vars: Record<string, string>,
  verbose = false,
  logDir?: string,
  inspectorPort?: number,
): ManagedProcess {
  return launch(
    "edge",
    NODE,
    [
      "--import",
      "tsx",
      "scripts/edge/main.ts",
      "--bundle",
      bundle,
      "--state",
      stateDir,
      "--port",
      String(port),
      ...Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}=${value}`]),
      ...(verbose ? ["--verbose"] : []),
      ...(inspectorPort === undefined ? [] : ["--inspector-port", String(inspectorPort)]),
    ],
    {},
    port,
    verbose,
    logDir,
  );
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const runnerCount = options.runners ?? 1;
  const bundle = resolve(REPO_ROOT, options.bundle ?? "models/tiny-test");
  const stateDir = resolve(REPO_ROOT, options.stateDir ?? ".state");
  const verbose = options.verbose ?? process.env.UNCLIP_STACK_VERBOSE === "1";
  const readyTimeoutMs = options.readyTimeoutMs ?? 120_000;
  mkdirSync(stateDir, { recursive: true });
  if (options.logDir) mkdirSync(options.logDir, { recursive: true });

  const runnerPorts = options.runnerPorts ?? [];
  while (runnerPorts.length < runnerCount) runnerPorts.push(await freePort());
  const runners = runnerPorts
    .slice(0, runnerCount)
    .map((port, i) =>
      startRunner(port, bundle, options.runnerEnv, verbose, `runner-${i + 1}`, options.logDir),
    );

  const edgePort = options.edgePort ?? (await freePort());
  const vars: Record<string, string> = {
    POOL_URL: runners.map((r) => r.url).join(","),
    ...options.edgeVars,
  };
  const edge = startEdge(
    edgePort,
    bundle,
    stateDir,
    vars,
    verbose,
    options.logDir,
    options.edgeInspectorPort,
  );

  const all = [...runners, edge];
  const stop = async () => {
    await Promise.all(all.map((p) => stopProcess(p)));
  };
  try {
    await Promise.all([
      ...runners.map((r) => waitReady(r, "/readyz", readyTimeoutMs)),
      waitReady(edge, "/healthz", readyTimeoutMs),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { edgeUrl: edge.url, runners, edge, stop };
}
