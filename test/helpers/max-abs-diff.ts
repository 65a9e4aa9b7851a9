/**
 * The largest absolute difference between two equally long arrays, for the tests that compare
 * tensors (taps against references, fused against unfused, patched against plain U-Nets).
 * The lengths must match: a shorter array would hide a layout bug.
 */
import type * as ort from 'onnxruntime-node'
import { expect } from 'vitest'
import type { TapInfo } from '../../src/main/attention/patch-unet'

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length)
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]))
  return m
}

/**
 * The largest difference between two patched U-Nets' tap outputs, layer by layer in tap order,
 * both guidance halves (fused side branches against unfused taps: test/attention/fused*.test.ts).
 */
export function tapsMaxAbsDiff(
  tapsA: readonly TapInfo[],
  outA: ort.InferenceSession.ReturnType,
  tapsB: readonly TapInfo[],
  outB: ort.InferenceSession.ReturnType,
): number {
  expect(tapsA.length).toBe(tapsB.length)
  let worst = 0
  tapsA.forEach((tap, i) => {
    const ref = tapsB[i]
    expect(outA[tap.output].dims).toEqual(outB[ref.output].dims)
    worst = Math.max(worst, maxAbsDiff(outA[tap.output].data as Float32Array, outB[ref.output].data as Float32Array))
    if (tap.uncondOutput || ref.uncondOutput) {
      const a = outA[tap.uncondOutput!].data as Float32Array
      worst = Math.max(worst, maxAbsDiff(a, outB[ref.uncondOutput!].data as Float32Array))
    }
  })
  return worst
}
