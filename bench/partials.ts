// What streaming's partial images cost the runner: one request at a time, interleaved (plain,
// 1 partial, 3 partials, round-robin so machine load hits each alike), the median time to the
// result and to the first partial, per output size; then the extra milliseconds per image.
//   nice npx tsx bench/partials.ts --model models/emoji-gpu --reps 7 --sizes 256x256,1024x1024
import { parseArgs } from "node:util";
import type { PoolGenerateRequest } from "@unclip/shared";
import { startInProcessRunner } from "../gpu-runner/src/inProcess.ts";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "models/emoji-gpu" },
    reps: { type: "string", default: "7" },
    sizes: { type: "string", default: "256x256,1024x1024" },
  },
});

const { runner, bundle } = await startInProcessRunner({ bundleDir: values.model, maxQueue: 64 });
await runner.warm();
const { stages } = bundle.manifest;

function requestFor(size: string, seed: number, partials: number): PoolGenerateRequest {
  return {
    bundle: bundle.id,
    prompt: "a smiling face with heart eyes",
    n: 1,
    seed,
    size,
    prior_steps: stages.prior.default_steps,
    prior_guidance_scale: stages.prior.default_guidance,
    decoder_steps: stages.decoder.default_steps,
    decoder_guidance_scale: stages.decoder.default_guidance,
    ...(partials > 0 ? { partial_images: partials } : {}),
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const VARIANTS = [0, 1, 3];

console.log(`bundle ${bundle.id}, ${values.reps} interleaved runs per variant`);
for (const size of values.sizes.split(",")) {
  const total = new Map<number, number[]>(VARIANTS.map((v) => [v, []]));
  const first = new Map<number, number[]>(VARIANTS.map((v) => [v, []]));
  for (let rep = 0; rep < Number(values.reps); rep++) {
    for (const partials of VARIANTS) {
      const started = performance.now();
      let firstAt: number | undefined;
      await runner.submit(
        { operation: "generation", request: requestFor(size, 1000 + rep, partials) },
        // A listener only when streaming, as the server attaches one only for event streams.
        partials > 0
          ? {
              onPartial: () => {
                firstAt ??= performance.now();
              },
            }
          : {},
      );
      total.get(partials)!.push(performance.now() - started);
      if (firstAt !== undefined) first.get(partials)!.push(firstAt - started);
    }
  }
  const plain = median(total.get(0)!);
  console.log(`\n${size}: median ms to the result (to the first partial)`);
  for (const partials of VARIANTS) {
    const t = median(total.get(partials)!);
    const f = partials > 0 ? ` (first partial ${median(first.get(partials)!).toFixed(0)})` : "";
    const extra =
      partials > 0
        ? `, +${(t - plain).toFixed(1)} ms = +${(((t - plain) / plain) * 100).toFixed(1)}%, ${((t - plain) / partials).toFixed(1)} ms per partial`
        : "";
    console.log(`  partial_images ${partials}: ${t.toFixed(0)}${f}${extra}`);
  }
}
await runner.release();
