// End-to-end layer (edge/test/edits.worker.test.ts checks the Worker alone).
// Inpainting through the whole stack: the official `openai` package's images.edit, unchanged,
// against the real Worker and a real runner on the tiny bundle. Outside the mask the answer
// must equal the input (stated error: 0 levels at the input's own size, ≤ 1 level after the
// PNG round trip in any case); inside it must have been redrawn.
import { decode, encode } from "fast-png";
import OpenAI, { toFile } from "openai";
import { describe, expect, inject, it } from "vitest";
import { LOCAL_API_KEY } from "../scripts/stack.ts";
import { uniqueSeed } from "./support.ts";

const edgeUrl = inject("edgeUrl");
const client = new OpenAI({ apiKey: LOCAL_API_KEY, baseURL: `${edgeUrl}/v1`, maxRetries: 0 });

/** Largest per-channel difference allowed outside the mask, in 8-bit levels. */
const KEPT_PIXEL_TOLERANCE = 0;

const SIDE = 256;
/** The redrawn square, [LO, HI)² in pixels. */
const LO = 64;
const HI = 192;
const inHole = (p: number) => {
  const x = p % SIDE;
  const y = Math.floor(p / SIDE);
  return x >= LO && x < HI && y >= LO && y < HI;
};

/** An opaque gradient scene; `holeInAlpha` makes the square fully transparent. */
function scene(holeInAlpha: boolean): Uint8Array {
  const data = new Uint8Array(SIDE * SIDE * 4);
  for (let p = 0; p < SIDE * SIDE; p++) {
    const x = p % SIDE;
    const y = Math.floor(p / SIDE);
    data.set([x, y, (x + y) >> 1, holeInAlpha && inHole(p) ? 0 : 255], p * 4);
  }
  return encode({ width: SIDE, height: SIDE, data, channels: 4, depth: 8 });
}

/** A mask PNG: transparent in the square, opaque black elsewhere. */
function maskPng(side = SIDE): Uint8Array {
  const data = new Uint8Array(side * side * 4);
  for (let p = 0; p < side * side; p++) data[p * 4 + 3] = side === SIDE && inHole(p) ? 0 : 255;
  return encode({ width: side, height: side, data, channels: 4, depth: 8 });
}

const upload = (bytes: Uint8Array, name = "image.png") =>
  toFile(Buffer.from(bytes), name, { type: "image/png" });

/** Max |output − input| outside the hole and mean |output − input| inside, in levels. */
function compare(input: Uint8Array, b64: string) {
  const source = decode(input);
  const out = decode(Buffer.from(b64, "base64"));
  expect([out.width, out.height]).toEqual([SIDE, SIDE]);
  let keptMax = 0;
  let holeSum = 0;
  let holeCount = 0;
  for (let p = 0; p < SIDE * SIDE; p++) {
    for (let c = 0; c < 3; c++) {
      const d = Math.abs(out.data[p * out.channels + c] - source.data[p * source.channels + c]);
      if (inHole(p)) {
        holeSum += d;
        holeCount += 1;
      } else keptMax = Math.max(keptMax, d);
    }
  }
  return { keptMax, holeMean: holeSum / holeCount };
}

describe("images.edit from the official openai SDK", () => {
  it("redraws the transparent square of a mask and keeps every other pixel", async () => {
    const image = scene(false);
    const result = await client.images.edit({
      image: await upload(image),
      mask: await upload(maskPng(), "mask.png"),
      prompt: "a large yellow circle in the center on a black background",
      n: 2,
      size: "256x256",
      response_format: "b64_json",
      // @ts-expect-error our extension, passed through by the SDK like any other field
      seed: uniqueSeed(),
    });
    expect(result.data).toHaveLength(2);
    for (const item of result.data!) {
      const { keptMax, holeMean } = compare(image, item.b64_json!);
      expect(keptMax).toBeLessThanOrEqual(KEPT_PIXEL_TOLERANCE);
      expect(holeMean).toBeGreaterThan(10);
    }
  });

  it("uses the image's own alpha as the mask when none is sent, and answers URLs", async () => {
    const image = scene(true);
    const result = await client.images.edit({
      image: await upload(image),
      prompt: "a small red square in the top left on a white background",
      size: "256x256",
    });
    const png = new Uint8Array(await (await fetch(result.data![0].url!)).arrayBuffer());
    const { keptMax } = compare(image, Buffer.from(png).toString("base64"));
    expect(keptMax).toBeLessThanOrEqual(KEPT_PIXEL_TOLERANCE);
  });

  it("refuses bad inputs with BadRequestError naming the field", async () => {
    const refusal = (params: Parameters<typeof client.images.edit>[0]) =>
      client.images.edit(params).catch((e: unknown) => e);
    const image = await upload(scene(false));
    const cases: Array<[Parameters<typeof client.images.edit>[0], string]> = [
      [{ image, mask: await upload(maskPng(128), "mask.png"), prompt: "a red circle" }, "mask"],
      [{ image, prompt: "" }, "prompt"],
      [
        {
          image: await toFile(Buffer.from("GIF89a-not-a-png"), "x.gif", { type: "image/gif" }),
          prompt: "a red circle",
        },
        "image",
      ],
      // An opaque image and no mask: nothing to redraw (the runner says so, through the edge).
      [{ image, prompt: "a red circle" }, "image"],
    ];
    for (const [params, param] of cases) {
      const error = (await refusal(params)) as InstanceType<typeof OpenAI.APIError>;
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect(error.status).toBe(400);
      expect(error.param).toBe(param);
      expect(error.type).toBe("invalid_request_error");
    }
  });
});
