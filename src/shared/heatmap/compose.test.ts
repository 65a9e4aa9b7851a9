import { describe, expect, it } from 'vitest'
import { colormapLut } from '../colormaps'
import { compositeWords, distinctColors, imageRgba, overlayHeatmap, overlayMask } from './compose'

describe('pixel composition', () => {
  it('imageRgba: the image alone, opaque, from RGB or RGBA; the same pixels as an overlay at opacity 0', () => {
    const rgb = { data: Uint8Array.from([10, 20, 30, 40, 50, 60]), width: 2, height: 1, channels: 3 as const }
    expect(Array.from(imageRgba(rgb))).toEqual([10, 20, 30, 255, 40, 50, 60, 255])
    const rgba = { data: Uint8Array.from([1, 2, 3, 9, 4, 5, 6, 9]), width: 2, height: 1, channels: 4 as const }
    expect(Array.from(imageRgba(rgba))).toEqual([1, 2, 3, 255, 4, 5, 6, 255])
    const none = overlayHeatmap(rgb, new Float32Array([0.3, 0.9]), colormapLut('jet'), 0)
    expect(Array.from(imageRgba(rgb))).toEqual(Array.from(none))
    expect(() => imageRgba({ ...rgb, width: 3 })).toThrow(/too small/)
  })

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
