/**
 * The causal side of a word's heat map (issue 17): where the image changes when the word is
 * knocked out (its tokens' cross-attention scaled to 0), and how well that agrees with where the
 * word's attention lands. Pure and shared: the main process computes knock-outs
 * (src/main/attention/knockout.ts), the renderer draws the change map like a heat map, and
 * scripts/knockout-table.ts tabulates agreement.
 */
import type { TokenMaps } from './aggregate'
import { DEFAULT_TAU, iou, thresholdMask } from './masks'
import type { WordSpec } from './word-maps'

/** Words whose attention mask and change mask overlap less than this are flagged as disagreeing. */
export const DISAGREE_BELOW = 0.25

/**
 * |original - knocked out| per pixel (mean absolute RGB difference), smoothed by two passes of a
 * box blur (close to a Gaussian of sigma ~ radius) so single-pixel dither does not form a mask,
 * then min-max normalised to [0, 1] like a heat map ('word' normalisation). Zero everywhere when
 * the images are identical.
 */
export function changeMap(a: Uint8Array, b: Uint8Array, width: number, height: number, radius?: number): Float32Array {
  const n = width * height
  if (a.length !== n * 3 || b.length !== n * 3) {
    throw new Error(
      `changeMap: images must both be ${width}x${height} RGB (${n * 3} bytes), got ${a.length} and ${b.length}`,
    )
  }
  const r = radius ?? Math.max(1, Math.round(Math.min(width, height) / 64))
  const map = new Float32Array(n)
  for (let i = 0; i < n; i++) {
    const o = i * 3
    map[i] = (Math.abs(a[o] - b[o]) + Math.abs(a[o + 1] - b[o + 1]) + Math.abs(a[o + 2] - b[o + 2])) / (3 * 255)
  }
  const tmp = new Float32Array(n)
  for (let pass = 0; pass < 2; pass++) {
    boxBlur(map, tmp, width, height, r, true)
    boxBlur(tmp, map, width, height, r, false)
  }
  let lo = Infinity
  let hi = -Infinity
  for (let i = 0; i < n; i++) {
    if (map[i] < lo) lo = map[i]
    if (map[i] > hi) hi = map[i]
  }
  if (!(hi > lo) || hi < 1e-6) return map.fill(0) // unchanged image: no change anywhere
  const scale = 1 / (hi - lo)
  for (let i = 0; i < n; i++) map[i] = (map[i] - lo) * scale
  return map
}

/** One box-blur pass along rows (horizontal) or columns, edges clamped; running sum, O(n). */
function boxBlur(src: Float32Array, dst: Float32Array, w: number, h: number, r: number, horizontal: boolean): void {
  const lines = horizontal ? h : w
  const len = horizontal ? w : h
  const stride = horizontal ? 1 : w
  const inv = 1 / (2 * r + 1)
  for (let l = 0; l < lines; l++) {
    const base = horizontal ? l * w : l
    const at = (k: number) => src[base + Math.min(len - 1, Math.max(0, k)) * stride]
    let sum = 0
    for (let k = -r; k <= r; k++) sum += at(k)
    for (let k = 0; k < len; k++) {
      dst[base + k * stride] = sum * inv
      sum += at(k + r + 1) - at(k - r)
    }
  }
}

/** Share of the changed image: the fraction of pixels in the change map's tau mask. */
export function changeSize(map: Float32Array, tau = DEFAULT_TAU): number {
  if (map.length === 0) return 0
  let n = 0
  for (let i = 0; i < map.length; i++) if (map[i] >= tau) n++
  return n / map.length
}

/**
 * Agreement of attention and effect: IoU of the word's tau mask (its normalised heat map) and the
 * change map's tau mask at the same tau. 0 when the knock-out changed nothing.
 */
export function agreement(wordMap: Float32Array, change: Float32Array, tau = DEFAULT_TAU): number {
  const c = thresholdMask(change, tau)
  if (!c.some((v) => v)) return 0
  return iou(thresholdMask(wordMap, tau), c)
}

/**
 * The word's share of the attention given to the prompt's tokens (BOS and the final EOS left out,
 * as the 'across' normalisation does), summed over the latent grid: 0..1.
 */
export function attentionShare(tm: TokenMaps, word: WordSpec): number {
  const n = tm.height * tm.width
  let total = 0
  for (let i = n; i < (tm.tokens - 1) * n; i++) total += tm.data[i]
  if (total <= 0) return 0
  let own = 0
  for (const t of word.tokens) {
    if (t < 1 || t >= tm.tokens - 1) continue
    for (let i = t * n; i < (t + 1) * n; i++) own += tm.data[i]
  }
  return own / total
}
