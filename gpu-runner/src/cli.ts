// `npm run generate -- "<prompt>" [--n 4] [--seed 7] [--size 256x256] [--steps 25] [--model dir]
// [--out dir]`: the same pipeline as the server, in-process, writing PNG files, with a progress
// bar on a terminal. Also `--image in.png` (variations) and `--to "<prompt>"` (interpolation).
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  base64FromBytes,
  bytesFromBase64,
  type PoolProgressEvent,
  type PoolRequest,
  samplerSchema,
} from "@unclip/shared";
import { RunnerError } from "./errors.ts";
import { startInProcessRunner } from "./inProcess.ts";

const usage = `usage: npm run generate -- "<prompt>" [options]
  --n <1..10>             images (default 1)
  --seed <uint32>         noise seed (default: random, printed)
  --size <WxW>            256x256 | 512x512 | 1024x1024 | the bundle's native size (default 256x256)
  --steps <n>             decoder steps (default: the bundle's)
  --prior-steps <n>       prior steps (default: the bundle's)
  --upsampler-steps <n>   upsampler steps (default: the bundle's)
  --sampler <name>        ddim | dpmpp_2m for every stage (default: each stage's, from the bundle)
  --guidance <s>          decoder guidance scale (default: the bundle's)
  --prior-guidance <s>    prior guidance scale (default: the bundle's)
  --model <dir>           model bundle (default: $UNCLIP_BUNDLE, else the shipped emoji bundle)
  --out <dir>             output directory (default out/)
  --image <file.png>      variations of this image instead of a prompt
  --to "<prompt>"         interpolate from the prompt to this one (--frames, --mode slerp|text_diff)`;

function progressBar(event: PoolProgressEvent): void {
  if (!process.stderr.isTTY) return;
  const width = 30;
  const filled = Math.round(event.progress * width);
  const label = event.total > 0 ? `${event.stage} ${event.step}/${event.total}` : event.stage;
  process.stderr.write(
    `\r[${"#".repeat(filled)}${".".repeat(width - filled)}] ${Math.round(event.progress * 100)
      .toString()
      .padStart(3)}% ${label.padEnd(20)}`,
  );
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      n: { type: "string", default: "1" },
      seed: { type: "string" },
      size: { type: "string", default: "256x256" },
      steps: { type: "string" },
      "prior-steps": { type: "string" },
      "upsampler-steps": { type: "string" },
      sampler: { type: "string" },
      guidance: { type: "string" },
      "prior-guidance": { type: "string" },
      model: { type: "string" },
      out: { type: "string", default: "out" },
      image: { type: "string" },
      to: { type: "string" },
      frames: { type: "string", default: "5" },
      mode: { type: "string", default: "slerp" },
      help: { type: "boolean", short: "h" },
    },
  });
  const prompt = positionals.join(" ");
  if (values.help || (!prompt && !values.image)) {
    console.log(usage);
    process.exit(values.help ? 0 : 2);
  }
  const { bundle, runner } = await startInProcessRunner({
    bundleDir: values.model,
    maxQueue: 1000,
  });
  const { stages } = bundle.manifest;
  const num = (v: string | undefined, fallback: number) => (v === undefined ? fallback : Number(v));
  const seed = num(values.seed, Math.floor(Math.random() * 2 ** 32));
  const sampler = values.sampler === undefined ? undefined : samplerSchema.parse(values.sampler);
  const rendering = {
    bundle: bundle.id,
    seed,
    size: values.size!,
    decoder_steps: num(values.steps, stages.decoder.default_steps),
    decoder_guidance_scale: num(values.guidance, stages.decoder.default_guidance),
    ...(values["upsampler-steps"] ? { upsampler_steps: Number(values["upsampler-steps"]) } : {}),
    ...(sampler ? { decoder_sampler: sampler, upsampler_sampler: sampler } : {}),
  };
  const text = {
    prior_steps: num(values["prior-steps"], stages.prior.default_steps),
    prior_guidance_scale: num(values["prior-guidance"], stages.prior.default_guidance),
    ...(sampler ? { prior_sampler: sampler } : {}),
  };
  const n = num(values.n, 1);
  const job: PoolRequest = values.image
    ? {
        operation: "variation",
        request: { ...rendering, n, image_b64: base64FromBytes(await readFile(values.image)) },
      }
    : values.to
      ? {
          operation: "interpolation",
          request: {
            ...rendering,
            ...text,
            prompt,
            target_prompt: values.to,
            frames: num(values.frames, 5),
            mode: values.mode as "slerp" | "text_diff",
          },
        }
      : { operation: "generation", request: { ...rendering, ...text, prompt, n } };

  const started = performance.now();
  const result = await runner.submit(job, { onProgress: progressBar });
  if (process.stderr.isTTY) process.stderr.write("\n");
  await mkdir(values.out!, { recursive: true });
  const slug = (prompt || "variation")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .slice(0, 40);
  for (const image of result.images) {
    const file = join(values.out!, `${slug}-${seed}-${image.index}.png`);
    await writeFile(file, bytesFromBase64(image.png_b64));
    console.log(`${file}  ${image.width}x${image.height}  sha256 ${image.sha256.slice(0, 12)}`);
  }
  console.log(
    `${result.images.length} image(s) from ${bundle.id} (native ${runner.pipeline.nativeResolution}px, resampled bilinear to ${values.size}) in ${((performance.now() - started) / 1000).toFixed(2)} s, seed ${seed}`,
  );
  await runner.release();
}

main().catch((error) => {
  console.error(error instanceof RunnerError ? error.message : error);
  process.exit(1);
});
