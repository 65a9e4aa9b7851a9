import { describe, expect, it } from 'vitest'
import { colormapLut } from '../colormaps'
import { compositeWords, distinctColors, overlayHeatmap, overlayMask } from './compose'

describe('pixel composition', () => {
  const img = {
    data: new Uint8Array([200, 100, 50, 200, 100, 50, 200, 100, 50, 200, 100, 50]),
    width: 2,
    height: 2,
    channels: 3 as const,
  }
  it('blends the colour-mapped value at the given opacity', () => {
    const out = overlayHeatmap(img, Float32Array.from([0, 1, 0.5, 2]), colormapLut('jet'), 0.5)
    expect(Array.from(out.subarray(0, 4))).toEqual([100, 50, 89, 255]) // (200+0)/2, (100+0)/2, (50+128)/2
    expect(Array.from(out.subarray(4, 8))).toEqual([164, 50, 25, 255])
    expect(Array.from(out.subarray(12, 16))).toEqual(Array.from(out.subarray(4, 8))) // values clamp at 1
  })
  it('draws masks with a solid outline and dims the rest', () => {
    const big = { data: new Uint8Array(25 * 3).fill(100), width: 5, height: 5, channels: 3 as const }
    const mask = new Uint8Array(25)
    for (const i of [6, 7, 8, 11, 12, 13, 16, 17, 18]) mask[i] = 1
    const out = overlayMask(big, mask, [255, 0, 0], 0.5, 0.5)
    expect(Array.from(out.subarray(6 * 4, 6 * 4 + 3))).toEqual([255, 0, 0]) // edge
    expect(Array.from(out.subarray(12 * 4, 12 * 4 + 3))).toEqual([178, 50, 50]) // interior tint
    expect(Array.from(out.subarray(0, 3))).toEqual([50, 50, 50]) // outside dimmed
  })
  it('mixes words in distinct hues', () => {
    const colors = distinctColors(3)
    expect(new Set(colors.map((c) => c.join())).size).toBe(3)
    const out = compositeWords(
      img,
      [Float32Array.from([1, 0, 0, 0]), Float32Array.from([0, 1, 0, 0])],
      [
        [255, 0, 0],
        [0, 0, 255],
      ],
      1,
    )
    expect(Array.from(out.subarray(0, 3))).toEqual([255, 0, 0])
    expect(Array.from(out.subarray(4, 7))).toEqual([0, 0, 255])
    expect(Array.from(out.subarray(8, 11))).toEqual([200, 100, 50]) // no word: image
  })
})
