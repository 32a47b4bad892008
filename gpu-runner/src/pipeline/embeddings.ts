// Vector maths on CLIP embeddings: L2 normalisation and spherical interpolation, used for
// the prior's output, interpolations and text diffs (unCLIP §3, figs. 4–5).

export function l2Normalize(v: ArrayLike<number>): Float32Array {
  let sq = 0;
  for (let i = 0; i < v.length; i++) sq += v[i] * v[i];
  const norm = Math.sqrt(sq) || 1;
  return Float32Array.from(v, (x) => x / norm);
}

/** slerp(a, b, θ) = sin((1−θ)Ω)/sin Ω · a + sin(θΩ)/sin Ω · b, on the normalised vectors. */
export function slerp(a: ArrayLike<number>, b: ArrayLike<number>, theta: number): Float32Array {
  const u = l2Normalize(a);
  const w = l2Normalize(b);
  let dot = 0;
  for (let i = 0; i < u.length; i++) dot += u[i] * w[i];
  const omega = Math.acos(Math.min(1, Math.max(-1, dot)));
  if (omega < 1e-6) return u; // (anti)parallel edge cases: nothing to interpolate
  const s = Math.sin(omega);
  const ca = Math.sin((1 - theta) * omega) / s;
  const cb = Math.sin(theta * omega) / s;
  return l2Normalize(Float32Array.from(u, (x, i) => ca * x + cb * w[i]));
}

/** normalize(b − a): the text-diff direction z_d of unCLIP fig. 5. */
export function differenceDirection(a: ArrayLike<number>, b: ArrayLike<number>): Float32Array {
  return l2Normalize(Float32Array.from(b as ArrayLike<number>, (x, i) => x - a[i]));
}
