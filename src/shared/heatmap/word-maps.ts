/**
 * Step 2: word maps from token maps, normalised, at image size.
 *
 * A word is given by the token indices that encode it in the kept token sequence (index 0 = BOS),
 * as the tokenizer's word spans report them: a repeated word lists every occurrence, a
 * multi-token word all its pieces, and a short word never matches a piece of a longer one (the
 * spans are on word boundaries, unlike DAAM's string matching). The word map is the mean of its
 * token maps.
 *
 * Normalisations (all give values in [0, 1]):
 *  - 'word' (default, DAAM): min-max of each word's map on its own.
 *  - 'absolute': divided by the largest value of any prompt token's map (BOS/EOS excluded), so
 *    words are comparable: a weakly attended word stays dim.
 *  - 'across': each pixel's distribution over the prompt's tokens (DAAM's optional
 *    normalisation: divide by the per-pixel sum over tokens 1..T-2, BOS and EOS excluded).
 * Normalising happens on the latent grid, before the bicubic upsample to image size; bicubic
 * weights sum to 1, so this equals normalising afterwards except for edge overshoot, which is
 * clamped to [0, 1] in the same pass. This keeps a 512x512 word map at one resize pass.
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

/** Normalised word maps on the latent grid, one per word. */
export function normalizedLatentMaps(
  tm: TokenMaps,
  words: readonly WordSpec[],
  mode: Normalization = 'word',
): Float32Array[] {
  const n = tm.height * tm.width
  const maps = words.map((w) => wordLatentMap(tm, w))
  if (mode === 'word') {
    for (const m of maps) {
      let lo = Infinity,
        hi = -Infinity
      for (let i = 0; i < n; i++) {
        if (m[i] < lo) lo = m[i]
        if (m[i] > hi) hi = m[i]
      }
      const scale = hi > lo ? 1 / (hi - lo) : 0
      for (let i = 0; i < n; i++) m[i] = (m[i] - lo) * scale
    }
  } else if (mode === 'absolute') {
    const max = promptTokenMax(tm)
    const scale = max > 0 ? 1 / max : 0
    for (const m of maps) for (let i = 0; i < n; i++) m[i] *= scale
  } else {
    const sum = promptTokenSum(tm)
    for (const m of maps) for (let i = 0; i < n; i++) m[i] = sum[i] > 1e-12 ? m[i] / sum[i] : 0
  }
  return maps
}

/** Upsamples a normalised latent map to image size, clamped to [0, 1]. */
export function toImageSize(
  latent: Float32Array,
  lh: number,
  lw: number,
  height: number,
  width: number,
  out: Float32Array = new Float32Array(height * width),
): Float32Array {
  return resizeBicubic(latent, lh, lw, out, height, width, 0, 1)
}
