// `npm run keys` against the running local stack: a created key works at once, a revoked key
// stops working; and the `wrangler kv` store (what `--env` uses, here on the same local
// files) sees the same keys as the Miniflare one.
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { sha256Hex } from "@unclip/shared";
import { describe, expect, inject, it } from "vitest";
import { keysMatching, newApiKey } from "../scripts/keys/keys.ts";
import { LOCAL_API_KEYS_NAMESPACE_ID, openLocalKeyStore } from "../scripts/keys/localKv.ts";
import { LOCAL_WORKER_NAME } from "../scripts/keys/localUsage.ts";
import { wranglerKeyStore } from "../scripts/keys/wranglerKv.ts";
import { REPO_ROOT } from "../scripts/stack.ts";
import { authHeaders } from "./support.ts";

const edgeUrl = inject("edgeUrl");
/** The shared stack's state folder (tests/globalSetup.ts). */
const stackState = resolve(inject("stateDir"), "shared");

function keys(...args: string[]) {
  const run = spawnSync("npm", ["run", "-s", "keys", "--", ...args, "--state", stackState], {
    cwd: REPO_ROOT,
    encoding: "utf8",
  });
  return { status: run.status, stdout: run.stdout.trim(), stderr: run.stderr };
}

const models = (key: string) => fetch(`${edgeUrl}/v1/models`, { headers: authHeaders(key) });

describe("npm run keys", () => {
  it("opens the API_KEYS namespace wrangler.toml declares for the local environment", async () => {
    const { unstable_readConfig } = await import("wrangler");
    const config = unstable_readConfig({ config: resolve(REPO_ROOT, "wrangler.toml") });
    const apiKeys = config.kv_namespaces.find(
      (kv: { binding: string }) => kv.binding === "API_KEYS",
    );
    expect(apiKeys?.id).toBe(LOCAL_API_KEYS_NAMESPACE_ID);
    // Durable Object storage is keyed by the Worker's name: `keys usage` must open the same.
    expect(config.name).toBe(LOCAL_WORKER_NAME);
  });

  it("shows the units and requests a key used today, and its daily quota", async () => {
    const name = `usage-${Date.now().toString(36)}`;
    const created = keys("create", name, "--daily-quota", "3");
    expect(created.status, created.stderr).toBe(0);
    const key = created.stdout;
    const generate = (size: string) =>
      fetch(`${edgeUrl}/v1/images/generations`, {
        method: "POST",
        headers: { ...authHeaders(key), "content-type": "application/json" },
        body: JSON.stringify({ prompt: "a red circle", size, seed: Date.now() % 1_000_000 }),
      });
    expect((await generate("256x256")).status).toBe(200);
    const over = await generate("512x512"); // 4 units: over the quota of 3
    expect(over.status).toBe(429);
    expect(((await over.json()) as { error: { code: string } }).error.code).toBe(
      "insufficient_quota",
    );

    const usage = keys("usage", name, "--days", "2");
    expect(usage.status, usage.stderr).toBe(0);
    const today = new Date().toISOString().slice(0, 10);
    const [header, ...rows] = usage.stdout.split("\n");
    expect(header).toMatch(/^key\s+day \(UTC\)\s+units\s+requests\s+daily quota$/);
    expect(rows).toHaveLength(2);
    expect(rows[0].split(/\s{2,}/)).toEqual([name, today, "1", "1", "3"]);
    expect(rows[1].split(/\s{2,}/).slice(2)).toEqual(["0", "0", "3"]);

    const unknown = keys("usage", "no-such-key");
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain("matches 'no-such-key'");
    keys("revoke", name);
  });

  it("creates a key that works against the running stack, lists it, and revokes it", async () => {
    const name = `e2e-${Date.now().toString(36)}`;
    const created = keys("create", name, "--rate-per-minute", "30", "--burst", "40");
    expect(created.status, created.stderr).toBe(0);
    const key = created.stdout;
    expect(key).toMatch(/^sk-[A-Za-z0-9_-]{43}$/);

    const allowed = await models(key);
    expect(allowed.status).toBe(200);
    // The key's own bucket: its burst is the limit the edge reports.
    expect(allowed.headers.get("x-ratelimit-limit-requests")).toBe("40");

    const listed = keys("list");
    expect(listed.status, listed.stderr).toBe(0);
    const line = listed.stdout.split("\n").find((l) => l.startsWith(`${name} `));
    expect(line).toContain(`${key.slice(0, 9)}…`);
    expect(listed.stdout).not.toContain(key); // the key itself is never shown again

    const again = keys("create", name);
    expect(again.status).toBe(2);
    expect(again.stderr).toContain("already exists");

    const revoked = keys("revoke", name);
    expect(revoked.status, revoked.stderr).toBe(0);
    const refused = await models(key);
    expect(refused.status).toBe(401);
  });

  it("stores the same record through wrangler kv (--env's path) as through Miniflare", async () => {
    const state = resolve(inject("stateDir"), "keys-wrangler");
    const viaWrangler = wranglerKeyStore(
      ["--local", "--persist-to", resolve(state, "wrangler")],
      "wrangler local",
    );
    const hash = "ab".repeat(32);
    await viaWrangler.put(hash, { name: "through-wrangler", burst: 7, prefix: "sk-abcdef" });
    const viaMiniflare = await openLocalKeyStore(state);
    try {
      expect(await viaMiniflare.list()).toEqual([
        { hash, record: { name: "through-wrangler", burst: 7, prefix: "sk-abcdef" } },
      ]);
      await viaMiniflare.delete(hash);
    } finally {
      await viaMiniflare.close();
    }
    expect(await viaWrangler.list()).toEqual([]);
  });

  it("finds the key a revoke names: its name, a key prefix, a hash prefix (≥ 8) or the whole key", async () => {
    const alice = newApiKey();
    const bob = newApiKey();
    expect(alice).not.toBe(bob);
    const stored = await Promise.all(
      [
        ["alice", alice],
        ["bob", bob],
      ].map(async ([name, key]) => ({
        hash: await sha256Hex(key),
        record: { name, prefix: key.slice(0, 9) },
      })),
    );
    const names = async (target: string) =>
      (await keysMatching(stored, target)).map((key) => key.record?.name);
    expect(await names("alice")).toEqual(["alice"]);
    expect(await names(alice)).toEqual(["alice"]);
    expect(await names(alice.slice(0, 7))).toEqual(
      alice.slice(0, 7) === bob.slice(0, 7) ? ["alice", "bob"] : ["alice"],
    );
    expect(await names(alice.slice(0, 20))).toEqual(["alice"]);
    expect(await names(stored[1].hash.slice(0, 8))).toEqual(["bob"]);
    expect(await names(stored[1].hash.slice(0, 7))).toEqual([]); // too short to be a hash prefix
    expect(await names("sk-")).toEqual([]);
    expect(await names("carol")).toEqual([]);
  });
});
