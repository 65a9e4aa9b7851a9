/**
 * Masks, per-pixel ranking and mask overlap over normalised word maps (values in [0, 1]). Callers:
 * the overlay composer (thresholdMask), the renderer (DEFAULT_TAU) and `npm run eval` (iou).
 */

/** DAAM paper's best mask threshold on per-word min-max normalised maps. */
export const DEFAULT_TAU = 0.4

/** 1 where the map reaches tau. Byte maps (Heatmaps.wordBytes) are compared with 255 * tau. */
export function thresholdMask(
  map: Float32Array | Uint8ClampedArray,
  tau = DEFAULT_TAU,
  out = new Uint8Array(map.length),
): Uint8Array {
  const t = map instanceof Uint8ClampedArray ? tau * 255 : tau
  for (let i = 0; i < map.length; i++) out[i] = map[i] >= t ? 1 : 0
  return out
}

export interface RankedWord {
  /** Index into the maps given. */
  word: number
  value: number
}

/** Words ordered by their value at one pixel, strongest first (for the hover read-out). */
export function rankWordsAt(
  maps: readonly (Float32Array | Uint8ClampedArray)[],
  x: number,
  y: number,
  width: number,
): RankedWord[] {
  const i = y * width + x
  return maps.map((m, word) => ({ word, value: m[i] })).sort((a, b) => b.value - a.value || a.word - b.word)
}

/** Intersection over union of two binary masks (evaluation). */
export function iou(a: Uint8Array, b: Uint8Array): number {
  let inter = 0,
    union = 0
  for (let i = 0; i < a.length; i++) {
    if (a[i] && b[i]) inter++
    if (a[i] || b[i]) union++
  }
  return union === 0 ? 1 : inter / union
}
