// Streaming through the whole stack (built Worker in Miniflare + one runner), with the official
// `openai` package: time to the first partial image and to the completed event of a streamed
// generation, against the same generation not streamed (b64_json), interleaved misses (a fresh
// seed each), medians. Then encode cost and bytes per output format, through the edge (a cache
// hit answered in each format).
//   nice npx tsx bench/streaming.ts --model models/emoji-gpu --reps 5
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import OpenAI from "openai";
import { LOCAL_API_KEY, startStack } from "../scripts/stack.ts";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "models/emoji-gpu" },
    reps: { type: "string", default: "5" },
    size: { type: "string", default: "256x256" },
  },
});
const dir = mkdtempSync(join(tmpdir(), "bench-streaming-"));
const stack = await startStack({
  runners: 1,
  bundle: values.model,
  stateDir: dir,
  edgeVars: { EDGE_RATE_LIMIT_ENABLED: "false", RATE_LIMIT_BURST_UNITS: "100000" },
});
const client = new OpenAI({ apiKey: LOCAL_API_KEY, baseURL: `${stack.edgeUrl}/v1`, maxRetries: 0 });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const prompt = "a smiling face with heart eyes";
const size = values.size as "256x256";
let seed = Math.floor(Math.random() * 1e9);
type Plain = OpenAI.Images.ImageGenerateParamsNonStreaming;
type Streamed = OpenAI.Images.ImageGenerateParamsStreaming;

const plain: number[] = [];
const first: number[] = [];
const completed: number[] = [];
/** A non-streaming request, each with a fresh seed (a miss, like the streamed ones). */
const plainRequest = () => ({ prompt, size, response_format: "b64_json", seed: seed++ }) as Plain;
try {
  // One warm-up of each kind (Worker isolate, WASM, runner caches).
  await client.images.generate(plainRequest());
  for (let rep = 0; rep < Number(values.reps); rep++) {
    let started = performance.now();
    await client.images.generate(plainRequest());
    plain.push(performance.now() - started);
    started = performance.now();
    const stream = await client.images.generate({
      prompt,
      size,
      stream: true,
      partial_images: 2,
      seed: seed++,
    } as Streamed);
    let firstAt: number | undefined;
    for await (const event of stream) {
      const at = performance.now() - started;
      if (event.type === "image_generation.partial_image") firstAt ??= at;
      else completed.push(at);
    }
    if (firstAt !== undefined) first.push(firstAt);
  }
  console.log(`${values.model}, ${size}, ${values.reps} interleaved misses each (median ms):`);
  console.log(`  not streamed (b64_json):            ${median(plain).toFixed(0)}`);
  console.log(
    `  streamed, partial_images 2: first partial ${median(first).toFixed(0)}, completed ${median(completed).toFixed(0)}`,
  );

  // Output formats on one cached image: the first answer in a format encodes it (and stores the
  // variant), the second reads the variant back.
  const cachedSeed = seed++;
  await client.images.generate({ prompt, size: "1024x1024", seed: cachedSeed } as Plain);
  console.log(
    "\n1024x1024, one cached image, through the edge (ms: first = encode + store, again = stored variant):",
  );
  for (const [format, compression] of [
    ["png", undefined],
    ["webp", 100],
    ["webp", 75],
    ["jpeg", 100],
    ["jpeg", 75],
  ] as const) {
    const ask = async () => {
      const started = performance.now();
      const res = await client.images.generate({
        prompt,
        size: "1024x1024",
        seed: cachedSeed,
        response_format: "b64_json",
        output_format: format,
        ...(compression === undefined ? {} : { output_compression: compression }),
      } as Plain);
      return {
        ms: performance.now() - started,
        bytes: Buffer.from(res.data![0].b64_json!, "base64").length,
      };
    };
    const once = await ask();
    const again = await ask();
    console.log(
      `  ${format}${compression === undefined ? "" : ` q${compression}`}: ${once.bytes} B, first ${once.ms.toFixed(0)}, again ${again.ms.toFixed(0)}`,
    );
  }
} finally {
  await stack.stop();
  rmSync(dir, { recursive: true, force: true });
}
