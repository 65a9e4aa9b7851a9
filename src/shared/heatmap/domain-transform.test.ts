/** The domain transform (edge-aware recursive filter) the image-guided method is built on. */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { ImageBytes } from './compose'
import { domainTransform, guideEdges } from './domain-transform'

/** W x H RGB image: grey on the left of `edge`, red from `edge` on. */
function stepImage(w: number, h: number, edge: number): ImageBytes {
  const data = new Uint8Array(w * h * 3)
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) data.set(x < edge ? [232, 234, 238] : [220, 40, 40], (y * w + x) * 3)
  return { data, width: w, height: h, channels: 3 }
}

/** Columns over which a row goes from 10 % to 90 % of its range (the edge's blur width). */
function transitionWidth(row: Float32Array): number {
  const lo = Math.min(...row),
    hi = Math.max(...row)
  const a = lo + 0.1 * (hi - lo),
    b = lo + 0.9 * (hi - lo)
  return row.findIndex((v) => v >= b) - row.findIndex((v) => v >= a)
}

describe('guideEdges', () => {
  it('is the L1 colour distance to the left and upper neighbour, for RGB and RGBA', () => {
    const img = stepImage(4, 2, 2)
    const e = guideEdges(img)
    expect(Array.from(e.dx)).toEqual([0, 0, 12 + 194 + 198, 0, 0, 0, 404, 0])
    expect(Array.from(e.dy)).toEqual([0, 0, 0, 0, 0, 0, 0, 0])
    const rgba = new Uint8Array(4 * 2 * 4)
    for (let i = 0; i < 8; i++) rgba.set([...img.data.subarray(i * 3, i * 3 + 3), 255], i * 4)
    expect(guideEdges({ data: rgba, width: 4, height: 2, channels: 4 })).toEqual(e)
  })

  it('refuses a buffer smaller than the size says', () => {
    expect(() => guideEdges({ data: new Uint8Array(10), width: 4, height: 4, channels: 3 })).toThrow(/too small/)
  })
})

describe('domainTransform', () => {
  it('sharpens a blurred step along the guide edge', () => {
    const w = 64,
      h = 8,
      edge = 32
    const edges = guideEdges(stepImage(w, h, edge))
    // a DAAM-like blurred step: a logistic ramp about 16 pixels wide around the edge
    const map = Float32Array.from({ length: w * h }, (_, i) => 1 / (1 + Math.exp(-((i % w) - edge + 0.5) / 4)))
    const before = transitionWidth(map.subarray(0, w))
    domainTransform(map, edges, 64, 0.2)
    const row = map.subarray(3 * w, 4 * w)
    const after = transitionWidth(row)
    expect(before).toBeGreaterThanOrEqual(16)
    expect(after).toBeLessThanOrEqual(1)
    // each side is pulled towards its own mean and they stay apart
    expect(row[edge] - row[edge - 1]).toBeGreaterThan(0.6)
  })

  it('without edges in the guide it is a plain smoother: a noisy map flattens', () => {
    const w = 32
    const flat = guideEdges({ data: new Uint8Array(w * w * 3).fill(128), width: w, height: w, channels: 3 })
    const map = Float32Array.from({ length: w * w }, (_, i) => ((i * 7919) % 13) / 12)
    const spread = (m: Float32Array): number => Math.max(...m) - Math.min(...m)
    expect(spread(map)).toBe(1)
    expect(spread(domainTransform(map, flat, 2 * w, 0.5))).toBeLessThan(0.1)
  })

  it('keeps constants and stays within the input range (convex combinations), for any guide', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.double({ min: 0.5, max: 200, noNaN: true }),
        fc.double({ min: 0.01, max: 5, noNaN: true }),
        fc.integer({ min: 1, max: 4 }),
        (w, h, seed, sigmaS, sigmaR, iterations) => {
          let s = seed
          const rnd = (): number => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
          const guide = guideEdges({
            data: Uint8Array.from({ length: w * h * 3 }, () => Math.floor(rnd() * 256)),
            width: w,
            height: h,
            channels: 3,
          })
          const c = domainTransform(new Float32Array(w * h).fill(0.375), guide, sigmaS, sigmaR, iterations)
          for (const v of c) expect(v).toBeCloseTo(0.375, 5)
          const map = Float32Array.from({ length: w * h }, rnd)
          const lo = Math.min(...map),
            hi = Math.max(...map)
          for (const v of domainTransform(map, guide, sigmaS, sigmaR, iterations)) {
            expect(v).toBeGreaterThanOrEqual(lo - 1e-6)
            expect(v).toBeLessThanOrEqual(hi + 1e-6)
          }
        },
      ),
    )
  })

  it('refuses a map of another size and non-positive extents', () => {
    const edges = guideEdges(stepImage(4, 4, 2))
    expect(() => domainTransform(new Float32Array(15), edges, 4, 0.5)).toThrow(/15 values, guide 4x4/)
    expect(() => domainTransform(new Float32Array(16), edges, 0, 0.5)).toThrow(/positive/)
  })
})
