// The arithmetic of `npm run bench`'s record: repeats to median and spread, per-stage roofline
// rows (achieved GFLOP/s against the measured peak), and the rule that a runner-vs-PyTorch
// ratio is printed only when both sides run the same network.

/** One stage's parameters on each side: the ONNX initializers, and the PyTorch module. */
export type StageParameters = Record<string, { onnx: number; torch: number }>;

export interface Spread {
  median: number;
  min: number;
  max: number;
  values: number[];
}

export function spreadOf(values: number[]): Spread {
  if (values.length === 0) throw new Error("spreadOf: no values");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], values };
}

/** "2.71 (2.60–2.80)": the median and the range of the repeats. */
export function formatSpread(s: Spread, digits = 2): string {
  return `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
}

export interface RooflineRow {
  /** Multiply-adds of one network evaluation of one row (batch 1), in 10⁹. */
  gmac_per_call: number;
  /** Rows the stage's network evaluates per image (guided steps run two). */
  calls_per_image: number;
  ms_per_image: number;
  /** 2 flops per multiply-add, over the time spent in the stage's network calls. */
  achieved_gflops: number;
  /** achieved_gflops over the machine's measured peak. */
  fraction_of_peak: number;
}

export function rooflineRow(
  gmacPerCall: number,
  callsPerImage: number,
  msPerImage: number,
  peakGflops: number,
): RooflineRow {
  const achieved = msPerImage > 0 ? (2 * gmacPerCall * callsPerImage) / (msPerImage / 1000) : 0;
  return {
    gmac_per_call: gmacPerCall,
    calls_per_image: callsPerImage,
    ms_per_image: msPerImage,
    achieved_gflops: achieved,
    fraction_of_peak: achieved / peakGflops,
  };
}

/**
 * Why no runner-vs-PyTorch ratio may be printed, or null when every stage has the same
 * parameter count on both sides. Ratios between different networks are what this replaces.
 */
export function ratioRefusal(parameters: StageParameters | undefined): string | null {
  if (!parameters || Object.keys(parameters).length === 0)
    return "no per-stage parameter counts from the PyTorch side";
  const differ = Object.entries(parameters)
    .filter(([, c]) => c.onnx !== c.torch)
    .map(([stage, c]) => `${stage} ${c.onnx} (bundle) vs ${c.torch} (PyTorch)`);
  return differ.length > 0 ? `parameters differ: ${differ.join("; ")}` : null;
}
