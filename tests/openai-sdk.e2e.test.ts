// End-to-end layer (edge/test/openai-sdk.worker.test.ts checks the Worker alone).
// The official `openai` npm package, unchanged, pointed at the local stack (real Worker, real
// runner): what an existing OpenAI client sees.
import OpenAI, { toFile } from "openai";
import { describe, expect, inject, it } from "vitest";
import { LOCAL_API_KEY } from "../scripts/stack.ts";
import { isPng } from "./support.ts";

const edgeUrl = inject("edgeUrl");
const client = new OpenAI({ apiKey: LOCAL_API_KEY, baseURL: `${edgeUrl}/v1`, maxRetries: 0 });

describe("the official openai SDK against the local stack", () => {
  it("images.generate returns URLs and base64 PNGs", async () => {
    const byUrl = await client.images.generate({
      prompt: "a purple circle",
      n: 2,
      size: "256x256",
    });
    expect(byUrl.data).toHaveLength(2);
    const png = new Uint8Array(await (await fetch(byUrl.data![0].url!)).arrayBuffer());
    expect(isPng(png)).toBe(true);

    const inline = await client.images.generate({
      prompt: "a purple circle",
      response_format: "b64_json",
    });
    expect(isPng(Buffer.from(inline.data![0].b64_json!, "base64"))).toBe(true);
  });

  it("images.createVariation takes an uploaded PNG", async () => {
    const gen = await client.images.generate({
      prompt: "a gray square",
      response_format: "b64_json",
    });
    const png = Buffer.from(gen.data![0].b64_json!, "base64");
    const result = await client.images.createVariation({
      image: await toFile(png, "input.png", { type: "image/png" }),
      n: 2,
      size: "256x256",
    });
    expect(result.data).toHaveLength(2);
  });

  it("lists the served bundle and dall-e-2 with models.list, and refuses other models", async () => {
    const models = await client.models.list();
    const ids = models.data.map((model) => model.id);
    expect(ids).toHaveLength(2);
    expect(ids[0]).toMatch(/^tiny-test@/);
    expect(ids[1]).toBe("dall-e-2");
    const dallE2 = await client.images.generate({ prompt: "a red circle", model: "dall-e-2" });
    expect(dallE2.data).toHaveLength(1);
    const byId = await client.images.generate({ prompt: "a red circle", model: ids[0] });
    expect(byId.data).toHaveLength(1);
    const unknown = await client.images
      .generate({ prompt: "a red circle", model: "dall-e-3" })
      .catch((e) => e);
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    expect(unknown.code).toBe("model_not_found");
  });

  it("raises the SDK's own error classes", async () => {
    await expect(client.images.generate({ prompt: "a", n: 11 })).rejects.toBeInstanceOf(
      OpenAI.BadRequestError,
    );
    const bad = await client.images
      .generate({ prompt: "a", size: "300x300" as "256x256" })
      .catch((e) => e);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect(bad.param).toBe("size");
    const stranger = new OpenAI({ apiKey: "sk-unknown", baseURL: `${edgeUrl}/v1`, maxRetries: 0 });
    await expect(stranger.images.generate({ prompt: "a red circle" })).rejects.toBeInstanceOf(
      OpenAI.AuthenticationError,
    );
    const notPng = await client.images
      .createVariation({
        image: await toFile(Buffer.from("GIF89a"), "x.gif", { type: "image/gif" }),
      })
      .catch((e) => e);
    expect(notPng).toBeInstanceOf(OpenAI.BadRequestError);
    expect(notPng.code).toBe("invalid_image_format");
  });
});
