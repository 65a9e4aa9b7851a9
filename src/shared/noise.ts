/**
 * Seeded Gaussian noise that is bit-identical across runs, machines and operating systems.
 *
 * Generator (fully specified here so any implementation can reproduce it):
 *   - Uniform bits: Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
 *     SC 2011), the counter-based generator of Random123/cuRAND/JAX. Key = the seed as two 32-bit
 *     words (low, high), counter = [block index low 32 bits, block index high 32 bits, stream, 0].
 *     Each 128-bit block yields four uint32 words x0..x3.
 *   - Uniforms: u = (x + 0.5) / 2^32, strictly inside (0, 1) so log(u) is finite.
 *   - Normals: Box-Muller on (x0, x1) and (x2, x3):
 *       r = sqrt(-2 ln u_a), z_a = r cos(2 pi u_b), z_b = r sin(2 pi u_b)
 *     Element i of the output is normal number i of the sequence, rounded to float32.
 *   - `stream` separates independent draws from one seed: 0 is the initial latent noise, step k of
 *     an ancestral sampler uses stream k + 1.
 *
 * Integer arithmetic is exact in JS; Math.log/cos/sin in V8 are a fixed fdlibm port, and the
 * float32 rounding at the end absorbs any last-ulp difference, so the same seed gives the same
 * noise everywhere.
 */

const M0 = 0xd2511f53
const M1 = 0xcd9e8d57
const W0 = 0x9e3779b9
const W1 = 0xbb67ae85

/** High 32 bits of the 64-bit product of two uint32 (the low half is Math.imul). */
function mulhi32(a: number, b: number): number {
  const al = a & 0xffff
  const ah = a >>> 16
  const bl = b & 0xffff
  const bh = b >>> 16
  const albl = al * bl
  const ahbl = ah * bl
  const albh = al * bh
  const mid = (albl >>> 16) + (ahbl & 0xffff) + (albh & 0xffff)
  return (ah * bh + (ahbl >>> 16) + (albh >>> 16) + (mid >>> 16)) >>> 0
}

/**
 * Philox4x32 with 10 rounds. Writes the four output words into `out` (a Uint32Array of length
 * >= 4). Exported for the known-answer test against Random123's published vectors.
 */
export function philox4x32(
  c0: number,
  c1: number,
  c2: number,
  c3: number,
  k0: number,
  k1: number,
  out: Uint32Array,
): void {
  let x0 = c0 >>> 0
  let x1 = c1 >>> 0
  let x2 = c2 >>> 0
  let x3 = c3 >>> 0
  let key0 = k0 >>> 0
  let key1 = k1 >>> 0
  for (let round = 0; round < 10; round++) {
    if (round > 0) {
      key0 = (key0 + W0) >>> 0
      key1 = (key1 + W1) >>> 0
    }
    const hi0 = mulhi32(M0, x0)
    const lo0 = Math.imul(M0, x0) >>> 0
    const hi1 = mulhi32(M1, x2)
    const lo1 = Math.imul(M1, x2) >>> 0
    const y0 = (hi1 ^ x1 ^ key0) >>> 0
    const y2 = (hi0 ^ x3 ^ key1) >>> 0
    x0 = y0
    x1 = lo1
    x2 = y2
    x3 = lo0
  }
  out[0] = x0
  out[1] = x1
  out[2] = x2
  out[3] = x3
}

const TWO_POW_32 = 4294967296
const TWO_PI = 2 * Math.PI

/** Checks that a seed is an integer the generator can represent exactly. */
export function assertValidSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new Error(`seed must be an integer between 0 and ${Number.MAX_SAFE_INTEGER}, got ${seed}`)
  }
}

/** `count` standard normal float32 values for (seed, stream); see the file comment for the exact recipe. */
export function gaussianNoise(seed: number, count: number, stream = 0): Float32Array {
  assertValidSeed(seed)
  const k0 = seed % TWO_POW_32
  const k1 = Math.floor(seed / TWO_POW_32)
  const out = new Float32Array(count)
  const words = new Uint32Array(4)
  const blocks = Math.ceil(count / 4)
  for (let b = 0; b < blocks; b++) {
    philox4x32(b % TWO_POW_32, Math.floor(b / TWO_POW_32), stream, 0, k0, k1, words)
    for (let pair = 0; pair < 2; pair++) {
      const i = b * 4 + pair * 2
      if (i >= count) break
      const ua = (words[pair * 2] + 0.5) / TWO_POW_32
      const ub = (words[pair * 2 + 1] + 0.5) / TWO_POW_32
      const r = Math.sqrt(-2 * Math.log(ua))
      out[i] = r * Math.cos(TWO_PI * ub)
      if (i + 1 < count) out[i + 1] = r * Math.sin(TWO_PI * ub)
    }
  }
  return out
}
