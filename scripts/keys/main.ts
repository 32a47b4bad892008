// `npm run keys -- create <name> [--rate-per-minute N] [--burst N] [--daily-quota N] | list |
// revoke <name|prefix> | usage [name] [--days N]` against the local state (`--state`, default
// .state: what `npm start` serves) or a deployed environment (`--env production`, through
// `wrangler kv --remote`; usage through the Worker's admin route). A new key is printed once,
// alone on stdout; only its sha256 is stored.
import { parseArgs } from "node:util";
import { sha256Hex } from "@unclip/shared";
import { LOCAL_API_KEY } from "../stack.ts";
import { describeKey, keysMatching, newApiKey } from "./keys.ts";
import { openLocalKeyStore } from "./localKv.ts";
import { openLocalUsage, UsageUnavailable } from "./localUsage.ts";
import { remoteUsage } from "./remoteUsage.ts";
import type { KeyStore, StoredKey } from "./store.ts";
import { type UsageReader, usageTable } from "./usage.ts";
import { wranglerKeyStore } from "./wranglerKv.ts";

const USAGE = `usage: npm run keys -- <command> [--state DIR | --env NAME]
  create <name> [--rate-per-minute N] [--burst N] [--daily-quota N]
                                                    make a key; it is printed once
  list                                              names, key prefixes, hashes, limits
  revoke <name | key prefix | hash prefix | key>    delete one key
  usage [name] [--days N]                           units and requests per UTC day (default 1: today)
--state DIR  local state of \`npm start\` (default .state); --env NAME  a deployed environment
(usage with --env also needs --url https://your-worker and UNCLIP_ADMIN_TOKEN in the environment)`;

class UsageError extends Error {}

function positiveNumber(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new UsageError(`${flag} must be a positive number (got '${value}')`);
  return n;
}

function dayCount(value: string | undefined): number {
  if (value === undefined) return 1;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100)
    throw new UsageError(`--days must be a whole number from 1 to 100 (got '${value}')`);
  return n;
}

async function run(
  store: KeyStore,
  command: string,
  args: string[],
  values: Record<string, string | undefined>,
  openUsage: () => Promise<UsageReader>,
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
      daily_quota: positiveNumber("--daily-quota", values["daily-quota"]),
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
  if (command === "usage") {
    if (args.length > 1) throw new UsageError("usage takes at most one <name|prefix>");
    const days = dayCount(values.days);
    let keys: StoredKey[] = await store.list();
    if (values.env === undefined) {
      // The local stack also serves the documented development key, which is not in KV.
      keys.push({
        hash: await sha256Hex(LOCAL_API_KEY),
        record: { name: "local development key" },
      });
    }
    if (args[0] !== undefined) {
      keys = await keysMatching(keys, args[0]);
      if (keys.length === 0)
        throw new UsageError(`no key in ${store.description} matches '${args[0]}'`);
    }
    const reader = await openUsage();
    try {
      const rows = [];
      for (const key of keys) rows.push({ key, days: await reader.usage(key.hash, days) });
      console.log(usageTable(rows));
    } finally {
      await reader.close();
    }
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
      "daily-quota": { type: "string" },
      days: { type: "string" },
      url: { type: "string" },
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
  const openUsage = async (): Promise<UsageReader> => {
    if (!values.env) return openLocalUsage(values.state ?? ".state");
    const token = process.env.UNCLIP_ADMIN_TOKEN;
    if (!values.url || !token) {
      throw new UsageError(
        "usage with --env reads the Worker's admin route: give --url https://your-worker and set UNCLIP_ADMIN_TOKEN",
      );
    }
    return remoteUsage(values.url, token);
  };
  try {
    await run(store, command, args, values as Record<string, string | undefined>, openUsage);
    return 0;
  } catch (error) {
    if (error instanceof UsageUnavailable) {
      console.error(`keys: ${error.message}`);
      return 1;
    }
    console.error(error instanceof UsageError ? `keys: ${error.message}\n\n${USAGE}` : error);
    return error instanceof UsageError ? 2 : 1;
  } finally {
    await store.close();
  }
}

process.exitCode = await main();
