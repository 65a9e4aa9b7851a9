import { describe, expect, it } from 'vitest'
import { bicubicWeights, resizeBicubic } from './resize'
import { aggregateTokens } from './aggregate'
import { latentWordMaps, toImageSize, wordLatentMap } from './word-maps'
import { iou, rankWordsAt, thresholdMask } from './masks'
import { Heatmaps } from './heatmaps'
import { toBytes } from './compose'
import { makeRecord } from '../../../test/attention/fixtures'

describe('bicubic resize', () => {
  it('uses PyTorch bicubic weights (a = -0.75, align_corners = False)', () => {
    const w = bicubicWeights(4, 8)
    // Keys kernel by hand: k(0.25) = 0.87890625, k(0.75) = 0.26171875, k(1.25) = -0.10546875,
    // k(1.75) = -0.03515625 (PyTorch's scale-2 bicubic weights).
    // output 0 sits at source -0.25: taps -2..1 at distances 1.75, 0.75, 0.25, 1.25 (border replicated)
    expect(Array.from(w.weight.subarray(0, 4))).toEqual(
      [-0.03515625, 0.26171875, 0.87890625, -0.10546875].map(Math.fround),
    )
    expect(Array.from(w.index.subarray(0, 4))).toEqual([0, 0, 0, 1])
    // output 3 sits at source 1.25: t = 0.25
    expect(Array.from(w.weight.subarray(12, 16))).toEqual(
      [-0.10546875, 0.87890625, 0.26171875, -0.03515625].map(Math.fround),
    )
    expect(Array.from(w.index.subarray(12, 16))).toEqual([0, 1, 2, 3])
    for (let d = 0; d < 8; d++) expect(w.weight.subarray(d * 4, d * 4 + 4).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6)
  })

  it('is the identity at equal size and keeps constants', () => {
    const src = Float32Array.from({ length: 12 }, (_, i) => (i * 7) % 5)
    expect(Array.from(resizeBicubic(src, 3, 4, new Float32Array(12), 3, 4))).toEqual(Array.from(src))
    const c = resizeBicubic(new Float32Array(6).fill(0.3), 2, 3, new Float32Array(35), 5, 7)
    for (const v of c) expect(v).toBeCloseTo(0.3, 6)
  })

  it('equals the direct 2-D bicubic sum (separable, grouped rows)', () => {
    const sh = 5,
      sw = 7,
      dh = 40,
      dw = 24
    const src = Float32Array.from({ length: sh * sw }, (_, i) => Math.sin(i * 1.7) + (i % 3))
    const out = resizeBicubic(src, sh, sw, new Float32Array(dh * dw), dh, dw)
    const wy = bicubicWeights(sh, dh),
      wx = bicubicWeights(sw, dw)
    for (let y = 0; y < dh; y++)
      for (let x = 0; x < dw; x++) {
        let v = 0
        for (let a = 0; a < 4; a++)
          for (let b = 0; b < 4; b++) {
            v += wy.weight[y * 4 + a] * wx.weight[x * 4 + b] * src[wy.index[y * 4 + a] * sw + wx.index[x * 4 + b]]
          }
        expect(out[y * dw + x]).toBeCloseTo(v, 5)
      }
  })

  it('overshoots at a step edge, which the clamp removes', () => {
    const src = Float32Array.from([0, 0, 1, 1])
    const free = resizeBicubic(src, 1, 4, new Float32Array(16), 1, 16)
    expect(Math.min(...free)).toBeLessThan(0)
    const clamped = resizeBicubic(src, 1, 4, new Float32Array(16), 1, 16, 0, 1)
    expect(Math.min(...clamped)).toBe(0)
    expect(Math.max(...clamped)).toBe(1)
  })
})

describe('aggregation over steps and layers', () => {
  // token t lights pixel column t (of 4) with strength 1 at step s scaled by (s + 1)
  const column = (_l: number, s: number, t: number, _y: number, x: number): number => (x === t % 4 ? (s + 1) / 4 : 0)
  const rec = makeRecord(
    [
      { block: 'down', height: 4, width: 4, bucketSize: 1 },
      { block: 'mid', height: 2, width: 2, bucketSize: 1 },
      { block: 'up', height: 4, width: 4, bucketSize: 2 },
    ],
    3,
    5,
    (l, s, t, y, x) => (l === 1 ? 1 : column(l, s, t, y, x)),
  )

  it('sums over steps, averages layers and leaves the mid block out by default', () => {
    const tm = aggregateTokens(rec)
    expect(tm.layers).toEqual([0, 2])
    expect(tm.approximate).toBe(false)
    // both kept layers are native 4x4: token 2, pixel (y=1,x=2) = (1+2+3)/4 = 1.5
    expect(tm.data[2 * 16 + 1 * 4 + 2]).toBeCloseTo(1.5, 3)
    expect(tm.data[2 * 16 + 1 * 4 + 1]).toBeCloseTo(0, 6)
  })

  it('filters by layer, resolution and steps; reports cut buckets', () => {
    expect(aggregateTokens(rec, { resolutions: [2] }).layers).toEqual([1])
    const mid = aggregateTokens(rec, { layers: [1] })
    // the 2x2 mid map (all ones, 3 steps) upsampled bicubic to 4x4 stays 3
    for (const v of mid.data) expect(v).toBeCloseTo(3, 3)
    const one = aggregateTokens(rec, { layers: [0], step: 1 })
    expect(one.data[0]).toBeCloseTo(0.5, 3) // token 0 at x=0, step 1: 2/4
    const cut = aggregateTokens(rec, { layers: [2], step: 1 })
    expect(cut.approximate).toBe(true) // bucket {0,1} of layer 2 is cut: half of (1+2)/4
    expect(cut.data[0]).toBeCloseTo(0.375, 3)
    const whole = aggregateTokens(rec, { layers: [2], steps: { from: 2, to: 2 } })
    expect(whole.approximate).toBe(false)
    expect(whole.data[0]).toBeCloseTo(0.75, 3)
  })

  it('clamps bicubic undershoot at 0', () => {
    const spike = makeRecord(
      [{ block: 'down', height: 4, width: 4, bucketSize: 1 }],
      1,
      3,
      (_l, _s, _t, y, x) => (y === 1 && x === 1 ? 1 : 0),
      16,
    )
    const tm = aggregateTokens(spike)
    expect(Math.min(...tm.data)).toBe(0)
    expect(Math.max(...tm.data)).toBeGreaterThan(0.5)
  })

  it('has no negative-prompt maps unless recorded', () => {
    expect(() => aggregateTokens(rec, {}, 'uncond')).toThrow(/negative-prompt/)
  })
})

describe('word maps', () => {
  // 6 tokens: BOS, "a", "cat", "caterpillar"(2 pieces: tokens 3,4), EOS; each token its own column
  const rec = makeRecord([{ block: 'down', height: 4, width: 4, bucketSize: 1 }], 1, 6, (_l, _s, t, y, x) =>
    t === 0 ? 0.5 : x === t % 4 ? 0.1 * t + (y === 0 ? 0.05 : 0) : 0.01,
  )
  const tm = aggregateTokens(rec)

  it("averages a word's tokens; a short word does not pick up a longer word's pieces", () => {
    const cat = wordLatentMap(tm, { label: 'cat', tokens: [2] })
    const caterpillar = wordLatentMap(tm, { label: 'caterpillar', tokens: [3, 4] })
    expect(Array.from(cat)).toEqual(Array.from(tm.data.subarray(32, 48)))
    for (let i = 0; i < 16; i++) expect(caterpillar[i]).toBeCloseTo((tm.data[48 + i] + tm.data[64 + i]) / 2, 6)
    // repeated word: both occurrences averaged
    const twice = wordLatentMap(tm, { label: 'a', tokens: [1, 2] })
    expect(twice[1]).toBeCloseTo((tm.data[16 + 1] + tm.data[32 + 1]) / 2, 6)
    expect(() => wordLatentMap(tm, { label: 'dog', tokens: [] })).toThrow(/no tokens/)
    expect(() => wordLatentMap(tm, { label: 'x', tokens: [6] })).toThrow(/outside/)
  })

  const words = [
    { label: 'a', tokens: [1] },
    { label: 'cat', tokens: [2] },
    { label: 'caterpillar', tokens: [3, 4] },
  ]

  it('normalises per word to [0, 1] after the upsample, as DAAM does (no clipping of the overshoot)', () => {
    for (const m of latentWordMaps(tm, words, 'word')) {
      const img = toImageSize(m, 4, 4, 32, 32)
      expect(Math.min(...img)).toBeCloseTo(0, 6)
      expect(Math.max(...img)).toBeCloseTo(1, 6)
      // DAAM's order: raw upsample, then (m - min) / (max - min + 1e-8)
      const raw = resizeBicubic(m, 4, 4, new Float32Array(32 * 32), 32, 32)
      const lo = Math.min(...raw),
        hi = Math.max(...raw)
      for (let i = 0; i < raw.length; i++) expect(img[i]).toBeCloseTo((raw[i] - lo) / (hi - lo + 1e-8), 6)
    }
  })

  it('differs from normalising on the latent grid and clipping (the order before issue 16)', () => {
    // a one-cell peak: bicubic overshoots it and undershoots around it
    const spike = Float32Array.from({ length: 16 }, (_, i) => (i === 5 ? 1 : 0.1))
    const daam = toImageSize(spike, 4, 4, 32, 32)
    const lo = Math.min(...spike),
      hi = Math.max(...spike)
    const latentFirst = resizeBicubic(
      spike.map((v) => (v - lo) / (hi - lo)),
      4,
      4,
      new Float32Array(32 * 32),
      32,
      32,
      0,
      1,
    )
    let maxDiff = 0
    for (let i = 0; i < daam.length; i++) maxDiff = Math.max(maxDiff, Math.abs(daam[i] - latentFirst[i]))
    expect(maxDiff).toBeGreaterThan(0.05)
    // clipping flattens the undershoot ring into a plateau of 0s; DAAM's minimum is one point of it
    expect(latentFirst.filter((v) => v === 0).length).toBeGreaterThan(4 * daam.filter((v) => v < 1e-6).length)
  })

  it('absolute keeps weak words dim (BOS excluded from the scale)', () => {
    const [a, cat] = latentWordMaps(tm, words, 'absolute')
    expect(Math.max(...cat)).toBeCloseTo(0.25 / 0.45, 2) // token 2 peaks at 0.25, token 4 at 0.45
    expect(Math.max(...a)).toBeLessThan(Math.max(...cat))
  })

  it('across words gives each pixel a distribution over the prompt tokens', () => {
    const single = [1, 2, 3, 4].map((t) => ({ label: `t${t}`, tokens: [t] }))
    const maps = latentWordMaps(tm, single, 'across')
    for (let i = 0; i < 16; i++) expect(maps.reduce((s, m) => s + m[i], 0)).toBeCloseTo(1, 5)
  })

  it('upsamples to non-square image sizes', () => {
    const hm = new Heatmaps(rec, 24, 8)
    const { maps, width, height } = hm.wordMaps(words)
    expect([width, height]).toEqual([24, 8])
    expect(maps[1].length).toBe(24 * 8)
    // "cat" lives in latent column 2 of 4: image columns 12..17
    const row = Array.from(maps[1].subarray(4 * 24, 5 * 24))
    expect(row.indexOf(Math.max(...row))).toBeGreaterThanOrEqual(12)
    expect(row.indexOf(Math.max(...row))).toBeLessThan(18)
    expect(hm.tokenMaps()).toBe(hm.tokenMaps()) // aggregation cached per filter
  })
})

describe('masks and ranking', () => {
  const a = Float32Array.from([0.9, 0.5, 0.1, 0.0])
  const b = Float32Array.from([0.2, 0.6, 0.3, 0.0])
  it('thresholds at tau (0.4 by default)', () => {
    expect(Array.from(thresholdMask(a))).toEqual([1, 1, 0, 0])
    expect(Array.from(thresholdMask(a, 0.6))).toEqual([1, 0, 0, 0])
  })
  it('ranks words per pixel', () => {
    expect(rankWordsAt([a, b], 1, 0, 4)).toEqual([
      { word: 1, value: b[1] },
      { word: 0, value: a[1] },
    ])
  })
  it('computes IoU', () => {
    expect(iou(Uint8Array.from([1, 1, 0, 0]), Uint8Array.from([0, 1, 1, 0]))).toBeCloseTo(1 / 3, 6)
  })
})

describe('display bytes', () => {
  it('are exactly the float maps as colour-map indices (canvas and PNG agree)', () => {
    const rec = makeRecord(
      [{ block: 'down', height: 4, width: 4, bucketSize: 1 }],
      2,
      5,
      (_l, s, t, y, x) => ((x + 2 * y + t + s) % 5) / 10,
    )
    const hm = new Heatmaps(rec, 40, 24)
    const words = [
      { label: 'a', tokens: [1] },
      { label: 'b', tokens: [2, 3] },
    ]
    const floats = hm.wordMaps(words).maps
    const bytes = hm.wordBytes(words)
    for (let w = 0; w < 2; w++) {
      expect(Array.from(bytes[w])).toEqual(Array.from(toBytes(floats[w])))
      expect(Array.from(thresholdMask(bytes[w], 0.4))).toEqual(
        Array.from(thresholdMask(floats[w], 0.4)).map((v, i) => (bytes[w][i] >= 102 ? 1 : v)),
      )
    }
  })
})
