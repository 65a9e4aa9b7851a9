import { describe, expect, it } from 'vitest'
import type { AttentionRecord } from '../attention-record'
import { toHalf } from '../float16'
import { aggregateTokens } from './aggregate'
import { iou, thresholdMask } from './masks'
import { settlingCurve } from './settling'
import { latentWordMaps, minMaxNormalize, toImageSize } from './word-maps'

/** A 3-token record on an 8x8 grid whose token 1 moves from the left half to the right half. */
function movingRecord(steps: number, bucketSize = 1): AttentionRecord {
  const H = 8
  const W = 8
  const T = 3
  const buckets = Math.ceil(steps / bucketSize)
  // buckets sum their steps (bucketSize 1: one step each)
  const sums = new Float32Array(buckets * T * H * W)
  for (let s = 0; s < steps; s++) {
    const b = Math.floor(s / bucketSize)
    const right = s >= steps / 3
    for (let t = 0; t < T; t++)
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++) {
          // token 1: left for the first third of the steps, then right, stronger over time
          const v = t === 1 ? ((right ? x >= 4 : x < 4) ? 0.2 + s * 0.1 : 0.01) : 0.1 + 0.01 * ((x + y + t) % 3)
          sums[((b * T + t) * H + y) * W + x] += v
        }
  }
  const data = new Uint16Array(sums.length)
  for (let i = 0; i < sums.length; i++) data[i] = toHalf(sums[i]!)
  return {
    steps,
    timesteps: Array.from({ length: steps }, (_, i) => 999 - i * 50),
    latentHeight: H,
    latentWidth: W,
    layers: [{ index: 0, name: 'l0', block: 'up', blockIndex: 0, height: H, width: W, bucketSize }],
    cond: { name: 'cond', tokens: T, data: [data] },
  }
}

describe('settlingCurve', () => {
  it('equals the masks of the whole-prompt aggregation at every step, and finds where it settles', () => {
    const record = movingRecord(9)
    const word = { label: 'dog', tokens: [1] }
    const c = settlingCurve(record, word, { width: 16, height: 16 })
    const mask = (k: number): Uint8Array => {
      const tm = aggregateTokens(record, { steps: { from: 0, to: k } })
      return thresholdMask(toImageSize(latentWordMaps(tm, [word])[0]!, 8, 8, 16, 16), 0.4)
    }
    const final = mask(8)
    expect(c.iou).toEqual(Array.from({ length: 9 }, (_, k) => iou(mask(k), final)))
    // left half first: no overlap with the final right half; right from step 4 (index 3) on
    expect(c.iou[0]).toBe(0)
    expect(c.iou[8]).toBe(1)
    expect(c.settledAt).toBeGreaterThan(3)
    expect(c.iou.slice(c.settledAt - 1).every((v) => v >= 0.9)).toBe(true)
    expect(c.iou[c.settledAt - 2]!).toBeLessThan(0.9)
  })

  it('handles bucketed layers like the step filter does', () => {
    const record = movingRecord(9, 3)
    const word = { label: 'dog', tokens: [1] }
    const c = settlingCurve(record, word)
    const tmFinal = aggregateTokens(record, {})
    const final = thresholdMask(minMaxNormalize(latentWordMaps(tmFinal, [word])[0]!), 0.4)
    const tm4 = aggregateTokens(record, { steps: { from: 0, to: 4 } })
    expect(c.iou[4]).toBe(iou(thresholdMask(minMaxNormalize(latentWordMaps(tm4, [word])[0]!), 0.4), final))
    expect(c.iou).toHaveLength(9)
  })

  it('rejects a token outside the record and a word without tokens', () => {
    const record = movingRecord(3)
    expect(() => settlingCurve(record, { label: 'x', tokens: [5] })).toThrow(/token 5 outside 0..2/)
    expect(() => settlingCurve(record, { label: 'x', tokens: [] })).toThrow(/no tokens/)
  })
})
