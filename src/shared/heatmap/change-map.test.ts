import { describe, expect, it } from 'vitest'
import { agreement, attentionShare, changeMap, changeSize } from './change-map'

const W = 32
const H = 24
function image(fill: (x: number, y: number) => [number, number, number]): Uint8Array {
  const out = new Uint8Array(W * H * 3)
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) out.set(fill(x, y), (y * W + x) * 3)
  return out
}

describe('changeMap', () => {
  const a = image(() => [200, 200, 200])
  const b = image((x, y) => (x >= 4 && x < 12 && y >= 4 && y < 10 ? [200, 20, 20] : [200, 200, 200]))
  it('lights the changed block, normalised to [0, 1], and nothing else', () => {
    const m = changeMap(a, b, W, H)
    expect(Math.max(...m)).toBeCloseTo(1, 5)
    expect(Math.min(...m)).toBe(0)
    expect(m[7 * W + 8]).toBeGreaterThan(0.9) // inside the block
    expect(m[20 * W + 28]).toBe(0) // far away
    const size = changeSize(m, 0.4)
    expect(size).toBeGreaterThan((8 * 6 * 0.6) / (W * H))
    expect(size).toBeLessThan((12 * 10) / (W * H))
  })
  it('is all zero for identical images, and rejects mismatched sizes with the sizes named', () => {
    expect(changeMap(a, a, W, H).every((v) => v === 0)).toBe(true)
    expect(changeSize(changeMap(a, a, W, H))).toBe(0)
    expect(() => changeMap(a, b.subarray(3), W, H)).toThrow(/32x24 RGB \(2304 bytes\), got 2304 and 2301/)
  })
  it('agreement is the IoU of the two tau masks; 0 when nothing changed', () => {
    const m = changeMap(a, b, W, H)
    const same = Float32Array.from(m)
    expect(agreement(same, m)).toBe(1)
    const elsewhere = new Float32Array(W * H)
    for (let y = 14; y < 22; y++) for (let x = 20; x < 30; x++) elsewhere[y * W + x] = 1
    expect(agreement(elsewhere, m)).toBe(0)
    expect(agreement(same, new Float32Array(W * H))).toBe(0)
  })
})

describe('attentionShare', () => {
  it("is the word's part of the prompt tokens' attention (BOS and EOS out)", () => {
    // tokens: BOS, w1, w2, EOS on a 1x2 grid
    const tm = {
      tokens: 4,
      height: 1,
      width: 2,
      data: Float32Array.from([9, 9, 1, 1, 3, 3, 9, 9]),
      layers: [0],
      steps: { from: 0, to: 0 },
      approximate: false,
    }
    expect(attentionShare(tm, { label: 'w1', tokens: [1] })).toBeCloseTo(0.25)
    expect(attentionShare(tm, { label: 'w2', tokens: [2] })).toBeCloseTo(0.75)
  })
})
