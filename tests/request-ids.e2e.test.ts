// Request ids through the whole stack with the official `openai` package: the SDK reads the id
// of a success and of an error, and the same id is in the edge's JSON log line and in the
// runner's line for the job that made the image (tests/globalSetup.ts keeps both logs).
import OpenAI from "openai";
import { describe, expect, inject, it } from "vitest";
import { LOCAL_API_KEY } from "../scripts/stack.ts";
import { authHeaders, logLineWhere, postJson, uniqueSeed } from "./support.ts";

const edgeUrl = inject("edgeUrl");
const runnerUrl = inject("runnerUrl");
const logDir = inject("logDir");
const client = new OpenAI({ apiKey: LOCAL_API_KEY, baseURL: `${edgeUrl}/v1`, maxRetries: 0 });
const ID = /^req_[0-9a-f]{32}$/;

describe("request ids with the official SDK", () => {
  it("reads the id of a success, found in the edge's and the runner's logs", async () => {
    const { data, response, request_id } = await client.images
      .generate({ prompt: "a purple circle", size: "256x256", n: 2, seed: uniqueSeed() } as never)
      .withResponse();
    expect(data.data).toHaveLength(2);
    expect(request_id).toMatch(ID);
    expect(response.headers.get("x-request-id")).toBe(request_id);

    const edge = await logLineWhere(
      logDir,
      "edge",
      (line) => line.msg === "request" && line.request_id === request_id,
    );
    expect(edge).toMatchObject({
      level: "info",
      route: "/v1/images/generations",
      status: 200,
      cache: "miss",
      job: request_id,
      runner: runnerUrl,
      pool: "ok",
      units: 2,
      images: 2,
    });
    const runner = await logLineWhere(
      logDir,
      "runner-1",
      (line) => line.msg === "job" && line.request_id === request_id,
    );
    expect(runner).toMatchObject({ level: "info", status: 200, images: 2, error: null });
    const stages = runner.stages as Record<string, { calls: number; rows: number; ms: number }>;
    expect(stages.decoder.calls).toBeGreaterThan(0);
    expect(stages.decoder.rows).toBeGreaterThanOrEqual(2 * stages.decoder.calls);
  });

  it("reads the id of an error, found in the edge's log with the error's code", async () => {
    const error = await client.images
      .generate({ prompt: "a purple circle", size: "300x300" as "256x256" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    // openai 7.x names it `requestID` on errors (`request_id` on `.withResponse()`).
    const request_id = (error as InstanceType<typeof OpenAI.BadRequestError>).requestID;
    expect(request_id).toMatch(ID);
    const edge = await logLineWhere(
      logDir,
      "edge",
      (line) => line.msg === "request" && line.request_id === request_id,
    );
    expect(edge).toMatchObject({
      level: "warn",
      status: 400,
      error: "invalid_value",
      runner: null,
    });
  });

  it("follows a request that joined another's job to the runner line of that job", async () => {
    const seed = uniqueSeed();
    const answers = await Promise.all(
      Array.from({ length: 3 }, () =>
        postJson(edgeUrl, "/v1/images/generations", { prompt: "a blue square", seed }),
      ),
    );
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200]);
    const ids = answers.map((r) => r.headers.get("x-request-id") as string);
    const lines = await Promise.all(
      ids.map((id) =>
        logLineWhere(logDir, "edge", (line) => line.msg === "request" && line.request_id === id),
      ),
    );
    const leaders = lines.filter((line) => line.cache === "miss");
    expect(leaders).toHaveLength(1);
    for (const line of lines.filter((l) => l.cache === "joined")) {
      expect(line.job).toBe(leaders[0].request_id);
    }
    // Every request's images lead to one runner job line: its own or its leader's.
    for (const line of lines.filter((l) => l.cache !== "hit")) {
      const job = await logLineWhere(
        logDir,
        "runner-1",
        (runnerLine) => runnerLine.msg === "job" && runnerLine.request_id === line.job,
      );
      expect(job.status).toBe(200);
    }
  });

  it("answers image GETs and unknown routes with an id, and keeps a client's own id", async () => {
    const res = await postJson(edgeUrl, "/v1/images/generations", {
      prompt: "a red circle",
      seed: uniqueSeed(),
    });
    const { data } = (await res.json()) as { data: { url: string }[] };
    const image = await fetch(data[0].url);
    expect(image.status).toBe(200);
    expect(image.headers.get("x-request-id")).toMatch(ID);
    const missing = await fetch(`${edgeUrl}/v1/no-such-route`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get("x-request-id")).toMatch(ID);
    const mine = await fetch(`${edgeUrl}/v1/models`, {
      headers: { ...authHeaders(), "x-request-id": "my-trace-7" },
    });
    expect(mine.headers.get("x-request-id")).toBe("my-trace-7");
  });
});
