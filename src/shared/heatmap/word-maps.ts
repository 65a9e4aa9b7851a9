/**
 * Step 2: word maps from token maps, normalised, at image size. Callers: Heatmaps (heatmaps.ts),
 * which every overlay, saved file, the eval and the CLI go through; the bench and tests.
 *
 * A word is given by the token indices that encode it in the kept token sequence (index 0 = BOS),
 * as the tokenizer's word spans report them: a repeated word lists every occurrence, a
 * multi-token word all its pieces, and a short word never matches a piece of a longer one (the
 * spans are on word boundaries, unlike DAAM's string matching). The word map is the mean of its
 * token maps on the latent grid.
 *
 * Normalisations (all give values in [0, 1]):
 *  - 'word' (default, exactly DAAM's WordHeatMap.expand_as): the raw word map is upsampled
 *    bicubically to image size and only then min-max normalised, (m - min) / (max - min + 1e-8).
 *    The order matters: bicubic overshoots the latent peak (up to ~24 % on 16x16 maps) and
 *    undershoots near edges, so normalising on the latent grid and clipping the upsample to
 *    [0, 1] (what this file did before issue 16) differs from DAAM by up to 0.18. Checked against
 *    a torch reference in test/attention/daam-parity.test.ts.
 *  - 'absolute': divided by the largest value of any prompt token's map (BOS/EOS excluded), so
 *    words are comparable: a weakly attended word stays dim. Not a DAAM mode: scaled on the
 *    latent grid, upsampled, clipped to [0, 1].
 *  - 'across': each pixel's distribution over the prompt's tokens (DAAM's optional
 *    normalisation: divide by the per-pixel sum over tokens 1..T-2, BOS and EOS excluded), on the
 *    latent grid, upsampled, clipped to [0, 1].
 */
import type { TokenMaps } from './aggregate'
import { resizeBicubic } from './resize'

export type Normalization = 'word' | 'absolute' | 'across'

export interface WordSpec {
  label: string
  /** Indices into the kept tokens (BOS = 0). */
  tokens: readonly number[]
}

function checkTokens(tm: TokenMaps, word: WordSpec): void {
  if (word.tokens.length === 0) throw new Error(`"${word.label}" has no tokens in the prompt`)
  for (const t of word.tokens) {
    if (!Number.isInteger(t) || t < 0 || t >= tm.tokens)
      throw new Error(`"${word.label}": token ${t} outside 0..${tm.tokens - 1}`)
  }
}

/** Mean of the word's token maps on the latent grid. */
export function wordLatentMap(
  tm: TokenMaps,
  word: WordSpec,
  out: Float32Array = new Float32Array(tm.height * tm.width),
): Float32Array {
  checkTokens(tm, word)
  const n = tm.height * tm.width
  out.fill(0)
  for (const t of word.tokens) {
    const src = tm.data.subarray(t * n, (t + 1) * n)
    for (let i = 0; i < n; i++) out[i] += src[i]
  }
  const inv = 1 / word.tokens.length
  for (let i = 0; i < n; i++) out[i] *= inv
  return out
}

/** Per-pixel sum over the prompt tokens (BOS and the final EOS excluded). */
function promptTokenSum(tm: TokenMaps): Float32Array {
  const n = tm.height * tm.width
  const sum = new Float32Array(n)
  for (let t = 1; t < tm.tokens - 1; t++) {
    const src = tm.data.subarray(t * n, (t + 1) * n)
    for (let i = 0; i < n; i++) sum[i] += src[i]
  }
  return sum
}

function promptTokenMax(tm: TokenMaps): number {
  const n = tm.height * tm.width
  let max = 0
  for (let i = n; i < (tm.tokens - 1) * n; i++) if (tm.data[i] > max) max = tm.data[i]
  return max
}

/**
 * Word maps on the latent grid, ready for toImageSize: for 'word' the raw token means (normalised
 * after the upsample), for 'absolute' and 'across' already normalised.
 */
export function latentWordMaps(
  tm: TokenMaps,
  words: readonly WordSpec[],
  mode: Normalization = 'word',
): Float32Array[] {
  const n = tm.height * tm.width
  const maps = words.map((w) => wordLatentMap(tm, w))
  if (mode === 'absolute') {
    const max = promptTokenMax(tm)
    const scale = max > 0 ? 1 / max : 0
    for (const m of maps) for (let i = 0; i < n; i++) m[i] *= scale
  } else if (mode === 'across') {
    const sum = promptTokenSum(tm)
    for (const m of maps) for (let i = 0; i < n; i++) m[i] = sum[i] > 1e-12 ? m[i] / sum[i] : 0
  }
  return maps
}

/** DAAM's per-word min-max, in place: (m - min) / (max - min + 1e-8). */
export function minMaxNormalize(m: Float32Array): Float32Array {
  let lo = Infinity,
    hi = -Infinity
  for (let i = 0; i < m.length; i++) {
    const v = m[i]
    if (v < lo) lo = v
    if (v > hi) hi = v
  }
  const scale = 1 / (hi - lo + 1e-8)
  for (let i = 0; i < m.length; i++) m[i] = (m[i] - lo) * scale
  return m
}

/**
 * Upsamples a latentWordMaps map to image size: for 'word' with no clipping, then min-max
 * normalised (DAAM's order); for the other modes clipped to [0, 1].
 */
export function toImageSize(
  latent: Float32Array,
  lh: number,
  lw: number,
  height: number,
  width: number,
  mode: Normalization = 'word',
  out: Float32Array = new Float32Array(height * width),
): Float32Array {
  if (mode === 'word') return minMaxNormalize(resizeBicubic(latent, lh, lw, out, height, width))
  return resizeBicubic(latent, lh, lw, out, height, width, 0, 1)
}
