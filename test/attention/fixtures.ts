import { toHalf } from '../../src/shared/float16'
import type { AttentionRecord, RecordLayer } from '../../src/shared/attention-record'

/** A record from plain numbers: value(layer, step, token, y, x). */
export function makeRecord(
  layers: Omit<RecordLayer, 'index' | 'name' | 'blockIndex'>[],
  steps: number,
  tokens: number,
  value: (l: number, s: number, t: number, y: number, x: number) => number,
  latent = 4,
): AttentionRecord {
  const full: RecordLayer[] = layers.map((l, i) => ({ ...l, index: i, name: `layer${i}`, blockIndex: 0 }))
  const data = full.map((l, li) => {
    const nb = Math.ceil(steps / l.bucketSize)
    const arr = new Uint16Array(nb * tokens * l.height * l.width)
    for (let b = 0; b < nb; b++)
      for (let t = 0; t < tokens; t++)
        for (let y = 0; y < l.height; y++)
          for (let x = 0; x < l.width; x++) {
            let v = 0
            for (let s = b * l.bucketSize; s < Math.min(steps, (b + 1) * l.bucketSize); s++) v += value(li, s, t, y, x)
            arr[((b * tokens + t) * l.height + y) * l.width + x] = toHalf(v)
          }
    return arr
  })
  return {
    steps,
    timesteps: Array.from({ length: steps }, (_, s) => 999 - s * 100),
    latentHeight: latent,
    latentWidth: latent,
    layers: full,
    cond: { name: 'cond', tokens, data },
  }
}
