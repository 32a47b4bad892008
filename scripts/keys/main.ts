// `npm run keys -- create <name> [--rate-per-minute N] [--burst N] | list | revoke <name|prefix>`
// against the local state (`--state`, default .state: what `npm start` serves) or a deployed
// environment (`--env production`, through `wrangler kv --remote`). A new key is printed once,
// alone on stdout; only its sha256 is stored.
import { parseArgs } from "node:util";
import { sha256Hex } from "@unclip/shared";
import { describeKey, keysMatching, newApiKey } from "./keys.ts";
import { openLocalKeyStore } from "./localKv.ts";
import type { KeyStore } from "./store.ts";
import { wranglerKeyStore } from "./wranglerKv.ts";

const USAGE = `usage: npm run keys -- <command> [--state DIR | --env NAME]
  create <name> [--rate-per-minute N] [--burst N]   make a key; it is printed once
  list                                              names, key prefixes, hashes, limits
  revoke <name | key prefix | hash prefix | key>    delete one key
--state DIR  local state of \`npm start\` (default .state); --env NAME  a deployed environment`;

class UsageError extends Error {}

function positiveNumber(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new UsageError(`${flag} must be a positive number (got '${value}')`);
  return n;
}

async function run(
  store: KeyStore,
  command: string,
  args: string[],
  values: Record<string, string | undefined>,
) {
  if (command === "create") {
    const name = args[0];
    if (!name || args.length > 1) throw new UsageError("create takes one <name>");
    const keys = await store.list();
    if (keys.some((key) => key.record?.name === name)) {
      throw new UsageError(
        `a key named '${name}' already exists in ${store.description}; revoke it first or pick another name`,
      );
    }
    const key = newApiKey();
    const hash = await sha256Hex(key);
    const record = {
      name,
      rate_per_minute: positiveNumber("--rate-per-minute", values["rate-per-minute"]),
      burst: positiveNumber("--burst", values.burst),
      created: new Date().toISOString(),
      prefix: key.slice(0, 9),
    };
    await store.put(hash, JSON.parse(JSON.stringify(record)));
    console.error(
      `Created '${name}' in ${store.description} (sha256 ${hash.slice(0, 12)}…). The key, shown only now:`,
    );
    console.log(key);
    return;
  }
  if (command === "list") {
    if (args.length > 0) throw new UsageError("list takes no arguments");
    const keys = await store.list();
    if (keys.length === 0) console.error(`No keys in ${store.description}.`);
    for (const key of keys) console.log(describeKey(key));
    return;
  }
  if (command === "revoke") {
    const target = args[0];
    if (!target || args.length > 1) throw new UsageError("revoke takes one <name|prefix>");
    const matches = await keysMatching(await store.list(), target);
    if (matches.length === 0)
      throw new UsageError(`no key in ${store.description} matches '${target}'`);
    if (matches.length > 1) {
      throw new UsageError(
        `'${target}' matches ${matches.length} keys; give more of the hash:\n${matches.map(describeKey).join("\n")}`,
      );
    }
    await store.delete(matches[0].hash);
    console.error(`Revoked ${describeKey(matches[0])} in ${store.description}.`);
    return;
  }
  throw new UsageError(`unknown command '${command}'`);
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      state: { type: "string" },
      env: { type: "string" },
      "rate-per-minute": { type: "string" },
      burst: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const [command, ...args] = positionals;
  if (values.help || !command) {
    console.error(USAGE);
    return values.help ? 0 : 2;
  }
  if (values.state && values.env) {
    console.error("--state (local) and --env (deployed) exclude each other");
    return 2;
  }
  const store = values.env
    ? wranglerKeyStore(["--env", values.env, "--remote"], `environment ${values.env}`)
    : await openLocalKeyStore(values.state ?? ".state");
  try {
    await run(store, command, args, values as Record<string, string | undefined>);
    return 0;
  } catch (error) {
    console.error(error instanceof UsageError ? `keys: ${error.message}\n\n${USAGE}` : error);
    return error instanceof UsageError ? 2 : 1;
  } finally {
    await store.close();
  }
}

process.exitCode = await main();
