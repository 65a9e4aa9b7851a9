/** Masks, segmentation and per-pixel ranking over normalised word maps (values in [0, 1]). */

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

/**
 * Label of the strongest word per pixel (index into `maps`), or -1 (background) where no word
 * reaches tau. With tau = 0 every pixel gets a word.
 */
export function argmaxSegmentation(maps: readonly (Float32Array | Uint8ClampedArray)[], tau = DEFAULT_TAU): Int16Array {
  if (maps.length === 0) throw new Error('argmax segmentation needs at least one word')
  const n = maps[0].length
  if (maps[0] instanceof Uint8ClampedArray) tau *= 255 // display bytes
  const labels = new Int16Array(n).fill(-1)
  const best = new Float32Array(n).fill(-Infinity)
  maps.forEach((m, w) => {
    if (m.length !== n) throw new Error('word maps differ in size')
    for (let i = 0; i < n; i++)
      if (m[i] > best[i]) {
        best[i] = m[i]
        labels[i] = w
      }
  })
  for (let i = 0; i < n; i++) if (best[i] < tau) labels[i] = -1
  return labels
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
